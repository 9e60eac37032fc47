// Every metric of tierfs, once: name, type, help, labels, unit, what a healthy value
// looks like, and what the history in the catalog keeps of it. The Prometheus registry,
// the history sampler, `tierfs metrics list` and docs/MONITORING.md read this table
// (and so do the alert rules and dashboards built on them): a number the daemon knows
// has one name, in /metrics, in `tierfs history` and in `tierfs ... --json` alike.
import { OBJECTSTORE_METRICS } from '../objectstore/metrics.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Unit = 'bytes' | 'seconds' | 'files' | 'requests' | 'transactions' | 'errors' | 'retries' | 'moves' | 'cells' | 'stripes' | 'blocks' | 'reads' | 'ratio' | 'boolean' | 'info' | 'alerts' | 'notifications' | 'faults' | 'callers';

export type Group = 'tiers' | 'mount' | 'moves' | 'placement' | 'recall' | 'object stores' | 'durability' | 'alerts' | 'process';

/** What the history keeps of a metric. */
export interface HistoryRule {
  /** labels kept; the others are summed away (default: all of them) */
  by?: readonly string[];
  /**
   * gauges: how 1-minute points become hourly and daily ones (default avg). Counters are
   * kept as the increase over each point's step, so they are always summed.
   */
  downsample?: 'avg' | 'max' | 'min';
  /** histograms: the quantiles kept, over all labels, each as the series NAME_pNN */
  quantiles?: readonly number[];
}

export interface MetricDefinition {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  unit: Unit;
  buckets?: readonly number[];
  group: Group;
  /** what a healthy value looks like (docs/MONITORING.md) */
  healthy: string;
  history?: HistoryRule;
}

const OS = OBJECTSTORE_METRICS;

export const METRICS = [
  // ── tiers ──────────────────────────────────────────────────────────────────
  {
    name: 'tierfs_tier_capacity_bytes', type: 'gauge', unit: 'bytes', group: 'tiers', labels: ['tier'],
    help: 'Bytes the tier may hold: its configured capacity, else the size of its volumes; 0 for an object tier without one',
    healthy: 'Constant; changes only with the configuration or the volumes.',
    history: {},
  },
  {
    name: 'tierfs_tier_used_bytes', type: 'gauge', unit: 'bytes', group: 'tiers', labels: ['tier'],
    help: 'Bytes in use on the tier: the catalog\'s count where a capacity is configured, else what the volumes\' filesystems report',
    healthy: 'Below the tier\'s high watermark × capacity; the mover demotes above it.',
    history: {},
  },
  {
    name: 'tierfs_tier_files', type: 'gauge', unit: 'files', group: 'tiers', labels: ['tier'],
    help: 'Files whose bytes are on the tier',
    healthy: 'Follows the workload; a sudden drop on every tier means files were deleted.',
    history: {},
  },
  {
    name: 'tierfs_tier_stored_bytes', type: 'gauge', unit: 'bytes', group: 'tiers', labels: ['tier'],
    help: 'Object tiers: bytes of cell objects in the stores (parity and cell headers included; manifests not), old copies awaiting deletion included',
    healthy: 'About used bytes × (k+m)/k; much more means old copies are not being deleted (look at tierfs_objectstore_errors_total{op="delete"}).',
    history: {},
  },
  {
    name: 'tierfs_tier_high_watermark_ratio', type: 'gauge', unit: 'ratio', group: 'tiers', labels: ['tier'],
    help: 'The tier\'s high watermark (watermarks.high), as a share of its capacity: above it the mover demotes',
    healthy: 'Constant; the TierfsTierAboveHighWatermark alert compares use with it.',
  },
  // ── the mount ──────────────────────────────────────────────────────────────
  {
    name: 'tierfs_fuse_requests_total', type: 'counter', unit: 'requests', group: 'mount', labels: ['op'],
    help: 'FUSE requests answered, by operation; reads and writes the native binding served from a file descriptor are counted from its batches',
    healthy: 'Follows the workload.',
    history: { by: ['op'] },
  },
  {
    name: 'tierfs_fuse_request_seconds', type: 'histogram', unit: 'seconds', group: 'mount', labels: ['op'],
    help: 'Time from a FUSE request reaching JavaScript to its answer, by operation (requests served natively are not timed)',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    healthy: 'p99 below a few milliseconds for metadata (lookup, getattr, create); reads of cold files wait for object storage.',
    history: { quantiles: [0.5, 0.99] },
  },
  {
    name: 'tierfs_fuse_errors_total', type: 'counter', unit: 'errors', group: 'mount', labels: ['op', 'errno'],
    help: 'FUSE requests answered with an error, by operation and errno name',
    healthy: 'lookup ENOENT and getxattr ENODATA are normal (a name that does not exist); EIO never is: read the log.',
    history: { by: ['op', 'errno'] },
  },
  {
    name: 'tierfs_fuse_requests_waiting', type: 'gauge', unit: 'requests', group: 'mount', labels: [],
    help: 'FUSE requests JavaScript is still working on (each one\'s caller waits in the kernel)',
    healthy: 'A handful; more while cold files are read or the mover copies up files being written.',
    history: { downsample: 'max' },
  },
  {
    name: 'tierfs_fuse_passthrough_enabled', type: 'gauge', unit: 'boolean', group: 'mount', labels: [],
    help: "1 when the kernel agreed to FUSE passthrough: local files' reads and writes go to their backing files without the daemon (per-read counts of those files are not seen)",
    healthy: '1 with mount.passthrough: auto on Linux 6.9+ as root; 0 means the native fast path serves them (mount.passthrough: off, or the kernel does not offer it).',
    history: { downsample: 'max' },
  },
  {
    name: 'tierfs_fuse_passthrough_opens_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: 'Opens of local files answered in passthrough',
    healthy: 'Most opens of local files while passthrough is enabled; files with setuid, setgid or a capability, and files open from an object tier, are served natively.',
    history: {},
  },
  {
    name: 'tierfs_fuse_passthrough_refused_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: "Opens refused ETXTBSY because the kernel's backing file for the inode is not the file the daemon would open, or a writer of a file that gained setuid/setgid or a capability while open in passthrough",
    healthy: '0: local files do not move while open in passthrough.',
    history: {},
  },
  {
    name: 'tierfs_fuse_xattrs_answered_natively_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: 'getxattr requests the binding answered itself (ENODATA), without JavaScript: names of files known to have no xattrs stored, and security.capability before writes',
    healthy: 'Most getxattr requests (ls -l asks two of every file it lists, the kernel one before writes); tierfs_fuse_requests_total{op="getxattr"} counts the rest: files with xattrs, user.tierfs.*.',
    history: {},
  },
  {
    name: 'tierfs_fuse_listing_pages_answered_natively_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: 'Pages of listings without attributes the binding answered itself, without JavaScript, from names read with an earlier page of the same listing (counted in neither tierfs_fuse_requests_total{op="readdir"} nor tierfs_fuse_listing_pages_total)',
    healthy: 'Most pages of a walk by name (find) over directories of more than a few hundred entries; none while listings carry attributes.',
    history: {},
  },
  {
    name: 'tierfs_fuse_listings_read_ahead_total', type: 'counter', unit: 'requests', group: 'mount', labels: ['outcome'],
    help: 'First pages of names of the directory a walk by name (find) lists next, read while the walker went through the one before: then asked for (outcome="used"), or dropped unasked or because a name in the directory changed ("unused")',
    healthy: 'About one "used" per directory a find lists, after its first two; "unused" where a walk goes elsewhere than guessed (counted at the next listing) and where names change while it runs.',
    history: {},
  },
  {
    name: 'tierfs_fuse_creates_answered_natively_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: 'Creates of files the binding answered itself, without JavaScript, in directories handed over after a create there (mount.nativeCreates; not in tierfs_fuse_requests_total{op="create"}); JavaScript writes their catalog rows right after',
    healthy: 'Most creates of a burst of new files in one directory (an unpack, a build); the first create in a directory, and those of names that exist, are JavaScript\'s.',
    history: {},
  },
  {
    name: 'tierfs_fuse_lookups_answered_natively_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: 'Lookups of names that do not exist the binding answered itself (ENOENT), without JavaScript, in directories whose names were handed over after a create or a lookup that missed there (mount.nativeCreates; not in tierfs_fuse_requests_total{op="lookup"})',
    healthy: 'About one per create answered natively (the kernel looks a name up before it creates it), and most lookups of missing names where programs probe for files (a search path, an import system, a build).',
    history: {},
  },
  {
    name: 'tierfs_fuse_file_attrs_answered_natively_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: 'getattr requests of a regular file the binding answered itself, without JavaScript, from attributes JavaScript handed over with an earlier lookup, getattr or the release of a writer, and dropped as soon as they changed (not in tierfs_fuse_requests_total{op="getattr"})',
    healthy: 'Most getattr requests of files that are stat-ed again after their attributes expired in the kernel (attrTimeout); a file open for writing is never answered from here.',
    history: {},
  },
  {
    name: 'tierfs_fuse_file_lookups_answered_natively_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: 'Lookups of a regular file\'s name the binding answered itself, without JavaScript: the name as an earlier lookup JavaScript answered found it, with the attributes kept for tierfs_fuse_file_attrs_answered_natively_total (not in tierfs_fuse_requests_total{op="lookup"})',
    healthy: 'Most lookups of files looked up again after the kernel\'s entry expired (entryTimeout); an unlink, rmdir or rename drops the names it touches, and a file whose attributes changed is looked up by JavaScript again.',
    history: {},
  },
  {
    name: 'tierfs_fuse_dir_attrs_answered_natively_total', type: 'counter', unit: 'requests', group: 'mount', labels: [],
    help: "getattr requests of a directory the binding answered itself, without JavaScript, from the reply of the create, mkdir, mknod, symlink, link or unlink that changed it (the kernel asks again after every change)",
    healthy: 'About one per file or directory made or removed in a directory that is walked through again (a path lookup after each create or unlink); the rest of the getattr requests go to JavaScript (tierfs_fuse_requests_total{op="getattr"}).',
    history: {},
  },
  {
    name: 'tierfs_fuse_listing_pages_total', type: 'counter', unit: 'requests', group: 'mount', labels: ['attributes'],
    help: 'Pages of directory listings answered with their entries\' attributes (attributes="with") and without ("without": plain readdir, and readdirplus pages to a caller that reads names alone, mount.readdirplus: adaptive)',
    healthy: 'Mostly "with" while something stats what it lists (du, ls -l, rsync), mostly "without" during a find; tierfs_fuse_listing_callers_that_stat_total says how many callers were found to stat.',
    history: {},
  },
  {
    name: 'tierfs_fuse_listing_callers_that_stat_total', type: 'counter', unit: 'callers', group: 'mount', labels: [],
    help: 'Calling threads found to look up the files they list (mount.readdirplus: adaptive), whose listings then carry attributes; each looked up one directory\'s entries first',
    healthy: 'About one per du, ls -lR or rsync over the mount; none from find.',
    history: {},
  },
  {
    name: 'tierfs_fuse_cached_cell_reads_total', type: 'counter', unit: 'requests', group: 'recall', labels: [],
    help: 'Reads of cold files the binding answered itself from the recall cache\'s cell files (whole cells, or the blocks of cells read in small pieces), without JavaScript; counted in tierfs_fuse_requests_total{op="read"} from the binding\'s batches, as reads of local files are, but not in the recall cache\'s hits',
    healthy: 'Most reads of cold files whose cells are cached once the first read of each cell has gone through JavaScript; 0 with mount.fastPath off or no disk cache.',
    history: {},
  },
  {
    name: 'tierfs_fuse_cached_cell_read_bytes_total', type: 'counter', unit: 'bytes', group: 'recall', labels: [],
    help: 'Bytes of the reads in tierfs_fuse_cached_cell_reads_total',
    healthy: 'Follows the reads of cached cold files.',
    history: {},
  },
  {
    name: 'tierfs_fuse_cached_cell_blocks_checked_total', type: 'counter', unit: 'blocks', group: 'recall', labels: [],
    help: 'Blocks of cell files the binding checked against their CRC before serving them: files not known unchanged since the recall cache wrote them (whole, or those blocks of a file of blocks), each block once per handle, and again after the file changed',
    healthy: 'Low: cells the cache wrote in this run are served unchecked; after a restart each handle checks the blocks it reads once. Steady growth while the same handles read the same blocks means the files keep changing (something touches the cache directory).',
    history: {},
  },
  {
    name: 'tierfs_fuse_cached_cell_rejected_total', type: 'counter', unit: 'cells', group: 'recall', labels: [],
    help: 'Cell files the binding refused to serve from because a block failed its CRC or the file had the wrong size; the read went to JavaScript, which fetched the cell again',
    healthy: '0. Any increase means the disk under the recall cache returns bytes other than were written: check it.',
    history: {},
  },
  {
    name: 'tierfs_fuse_wakeup_wait_seconds', type: 'gauge', unit: 'seconds', group: 'mount', labels: [],
    help: 'How long the threads serving the mount waited for a CPU per wake-up, over the last half second (absent with too few requests to tell)',
    healthy: 'Microseconds. Well above its baseline: other work on the machine delays every request.',
    history: {},
  },
  {
    name: 'tierfs_fuse_wakeup_wait_baseline_seconds', type: 'gauge', unit: 'seconds', group: 'mount', labels: [],
    help: 'The same wait measured while no move ran (a moving average): what the mover paces itself against',
    healthy: 'Steady; the mover slows down when the wait rises above it by more than mover.foregroundHeadroom.',
    history: {},
  },
  {
    name: 'tierfs_fuse_oldest_request_seconds', type: 'gauge', unit: 'seconds', group: 'mount', labels: [],
    help: 'Age of the oldest FUSE request not answered yet; 0 when none waits',
    healthy: 'Below a second; a cold read may wait for object storage. Minutes mean a caller hangs: tierfs status --json lists the requests waiting.',
    history: { downsample: 'max' },
  },
  {
    name: 'tierfs_read_bytes_total', type: 'counter', unit: 'bytes', group: 'mount', labels: ['tier'],
    help: 'Bytes read through the mount, by the tier that held them (not those the kernel reads from local files itself, in passthrough: see tierfs_fuse_passthrough_enabled)',
    healthy: 'Follows the workload; reads from object tiers should be rare next to local ones.',
    history: {},
  },
  {
    name: 'tierfs_write_bytes_total', type: 'counter', unit: 'bytes', group: 'mount', labels: ['tier'],
    help: 'Bytes written through the mount, by the tier that holds the file (not those the kernel writes to local files itself, in passthrough)',
    healthy: 'Follows the workload.',
    history: {},
  },
  {
    name: 'tierfs_catalog_group_commits_total', type: 'counter', unit: 'transactions', group: 'mount', labels: [],
    help: 'Catalog transactions that committed the changes of the requests handled close together (group commit: within catalog.commitDelay, or in one turn of the event loop when a request waits)',
    healthy: 'Grows with changes through the mount; fewer commits than changing requests means bursts share their writes.',
    history: {},
  },
  {
    name: 'tierfs_catalog_group_commit_failures_total', type: 'counter', unit: 'errors', group: 'mount', labels: [],
    help: 'Groups of catalog changes that could not be committed (the catalog\'s disk full or failing): requests waiting for them failed with EIO and the daemon stopped; creates and writes it had answered are found on their tier at the next mount',
    healthy: '0. Any rise: free space on the disk that holds the catalog (dataDir), read the daemon\'s log, and mount again.',
    history: {},
  },
  // ── moves ──────────────────────────────────────────────────────────────────
  {
    name: 'tierfs_moves_total', type: 'counter', unit: 'moves', group: 'moves', labels: ['from', 'to', 'result', 'by'],
    help: 'Moves of a file between tiers, by result (ok, aborted: the file changed or was busy, retried later; failed: an error) and who asked (rule, watermark, cli, recall, copy-up)',
    healthy: 'result="failed" stays 0; a few aborted moves are normal on files in use.',
    history: { by: ['from', 'to', 'result'] },
  },
  {
    name: 'tierfs_move_bytes_total', type: 'counter', unit: 'bytes', group: 'moves', labels: ['from', 'to'],
    help: 'Bytes of files moved between tiers (committed moves)',
    healthy: 'Within the mover\'s bandwidth limit.',
    history: {},
  },
  {
    name: 'tierfs_move_queue_length', type: 'gauge', unit: 'moves', group: 'moves', labels: [],
    help: 'Moves waiting in the queue',
    healthy: 'Drains to 0 between classification passes; a queue that does not shrink for hours means the mover is held back.',
    history: {},
  },
  {
    name: 'tierfs_move_queue_bytes', type: 'gauge', unit: 'bytes', group: 'moves', labels: [],
    help: 'Bytes of the files waiting in the move queue',
    healthy: 'Drains to 0; divided by the move rate, the time the backlog needs.',
    history: {},
  },
  {
    name: 'tierfs_move_seconds', type: 'histogram', unit: 'seconds', group: 'moves', labels: [],
    help: 'Time a move took, copy and verification included',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    healthy: 'About file size / bandwidth.',
  },
  {
    name: 'tierfs_mover_pace_ratio', type: 'gauge', unit: 'ratio', group: 'moves', labels: [],
    help: 'The share of its bandwidth the mover allows itself now, paced by the mount\'s latency (mover.foregroundHeadroom)',
    healthy: '1 while the mount is idle; below 1 while requests would wait longer because of moves. At 1/16 for long, moves crawl: the mount is busy all the time.',
    history: {},
  },
  {
    name: 'tierfs_mover_throttled_seconds_total', type: 'counter', unit: 'seconds', group: 'moves', labels: [],
    help: 'Time moves spent waiting for the mover\'s bandwidth limit',
    healthy: 'Grows only while moves run; growing as fast as time itself means the limit is what sets the pace.',
    history: {},
  },
  // ── placement ──────────────────────────────────────────────────────────────
  {
    name: 'tierfs_misplacements_total', type: 'counter', unit: 'moves', group: 'placement', labels: ['tier'],
    help: 'Automatic demotions from the tier whose file was used again within the minimum residency (as in tierfs status), counted when seen',
    healthy: 'A small fraction of demotions; many mean the rules demote files still in use.',
    history: {},
  },
  {
    name: 'tierfs_classifier_pass_seconds', type: 'histogram', unit: 'seconds', group: 'placement', labels: [],
    help: 'Time of a classification pass (incremental or full)',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    healthy: 'Well below policy.interval.',
  },
  // ── recall ─────────────────────────────────────────────────────────────────
  {
    name: 'tierfs_recall_cache_hits_total', type: 'counter', unit: 'cells', group: 'recall', labels: ['layer'],
    help: 'Cells that reads of object tiers found in the recall cache, by layer (memory, disk)',
    healthy: 'High next to misses for a working set that fits the cache.',
    history: {},
  },
  {
    name: 'tierfs_recall_cache_misses_total', type: 'counter', unit: 'cells', group: 'recall', labels: [],
    help: 'Reads of object tiers that had to wait for object storage: a whole cell, or the blocks of one (ranged reads)',
    healthy: 'Low next to hits once a working set is warm.',
    history: {},
  },
  {
    name: 'tierfs_recall_cache_rejected_total', type: 'counter', unit: 'cells', group: 'recall', labels: [],
    help: 'Cells found in the disk recall cache whose bytes failed their checksum (rot, or a change behind the daemon): dropped and fetched again, never served',
    healthy: '0. A rising count points at the disk under dataDir/cache, or at something writing there.',
    history: {},
  },
  {
    name: 'tierfs_recall_ranged_reads_total', type: 'counter', unit: 'reads', group: 'recall', labels: [],
    help: 'Small reads of object tiers that fetched only the 64 KiB blocks they cover with one ranged get, not whole cells (also counted as misses)',
    healthy: 'Follows random reads of cold files; sequential readers fetch whole cells and read ahead.',
    history: {},
  },
  {
    name: 'tierfs_recall_cache_hit_bytes_total', type: 'counter', unit: 'bytes', group: 'recall', labels: [],
    help: 'Bytes of reads of object tiers served from the recall cache (a byte hit ratio: this over tierfs_read_bytes_total of the object tiers)',
    healthy: 'Close to the bytes read from object tiers for repeated reads.',
    history: {},
  },
  {
    name: 'tierfs_recall_cache_bytes', type: 'gauge', unit: 'bytes', group: 'recall', labels: ['layer'],
    help: 'Bytes held by the recall cache, by layer',
    healthy: 'At most cache.memory and cache.disk per object tier.',
    history: {},
  },
  {
    name: 'tierfs_recall_first_byte_seconds', type: 'histogram', unit: 'seconds', group: 'recall', labels: [],
    help: 'Time from a read of an object tier to its data, for reads that had to fetch from object storage',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    healthy: 'p99 of tens of milliseconds on a LAN store, a few hundred on a cloud store; seconds mean throttling or a slow backend.',
    history: { quantiles: [0.5, 0.99] },
  },
  {
    name: 'tierfs_degraded_reads_total', type: 'counter', unit: 'reads', group: 'recall', labels: ['tier'],
    help: 'Reads that rebuilt a stripe from parity because a cell was missing, damaged or unreachable',
    healthy: '0. Any rise: a backend is failing or objects are damaged; run tierfs scrub.',
    history: {},
  },
  // ── object stores ──────────────────────────────────────────────────────────
  {
    ...OS.requests, group: 'object stores',
    healthy: 'Follows moves and cold reads, plus one HEAD per backend every probe interval.',
    history: { by: ['tier', 'backend', 'op'] },
  },
  {
    ...OS.bytes, group: 'object stores',
    healthy: 'put ≈ move bytes to the tier × (k+m)/k; get ≈ cold reads that missed the cache.',
    history: { by: ['tier', 'backend', 'op'] },
  },
  {
    ...OS.latency, group: 'object stores',
    healthy: 'p99 of tens of milliseconds on a LAN store, a few hundred on a cloud store.',
    history: { quantiles: [0.5, 0.99] },
  },
  {
    ...OS.errors, group: 'object stores',
    healthy: 'NotFound is normal for probes and listings; Throttled, Transient or Fatal above 5% of requests is not.',
    history: { by: ['tier', 'backend', 'code'] },
  },
  {
    ...OS.retries, group: 'object stores',
    healthy: 'Occasional; a steady stream of Throttled means the request rate is at the provider\'s limit.',
    history: { by: ['tier', 'backend', 'code'] },
  },
  {
    name: 'tierfs_backend_up', type: 'gauge', unit: 'boolean', group: 'object stores', labels: ['tier', 'backend'],
    help: '1 when the backend answered the last probe (a HEAD of a key that does not exist), else 0',
    healthy: '1. A 0 that stays: the backend is down or refuses the credentials; reads are degraded and moves to the tier fail.',
    history: { downsample: 'min' },
  },
  // ── durability ─────────────────────────────────────────────────────────────
  {
    name: 'tierfs_scrub_cells_checked_total', type: 'counter', unit: 'cells', group: 'durability', labels: [],
    help: 'Cells read back and checked by scrubs',
    healthy: 'Grows with each scrub.',
    history: {},
  },
  {
    name: 'tierfs_scrub_cells_bad_total', type: 'counter', unit: 'cells', group: 'durability', labels: [],
    help: 'Cells a scrub found missing or damaged',
    healthy: '0. Any rise: run tierfs scrub --repair, and look at the backend that held them.',
    history: {},
  },
  {
    name: 'tierfs_stripes_at_risk', type: 'gauge', unit: 'stripes', group: 'durability', labels: ['tier'],
    help: 'Stripes with fewer than m spare cells (a cell missing or damaged, not repaired), as the last scrub of each file since start found them',
    healthy: '0. Above 0: one more lost cell may lose data; run tierfs scrub --repair.',
    history: { downsample: 'max' },
  },
  // ── alerts ─────────────────────────────────────────────────────────────────
  {
    name: 'tierfs_alerts_firing', type: 'gauge', unit: 'alerts', group: 'alerts', labels: ['alert', 'severity'],
    help: 'Alerts of each built-in rule firing now (one per tier or backend they concern); 0 for rules that are quiet',
    healthy: '0. Above 0: tierfs alerts says what and why, and each rule\'s runbook what to do.',
    history: { by: ['alert'], downsample: 'max' },
  },
  {
    name: 'tierfs_alert_notifications_total', type: 'counter', unit: 'notifications', group: 'alerts', labels: ['webhook', 'result'],
    help: 'Alert changes sent to webhooks, by result: sent, gave_up (every attempt failed), dropped (its queue was full), abandoned (the webhook was removed from the configuration before they were sent)',
    healthy: 'result="sent" only.',
  },
  {
    name: 'tierfs_alert_webhook_failures_total', type: 'counter', unit: 'errors', group: 'alerts', labels: ['webhook'],
    help: 'Requests to a webhook that failed (no answer, a timeout, or a status other than 2xx); each is retried with back-off',
    healthy: '0. A rise: the receiver is down or refuses the request; the log says why, once per episode.',
    history: {},
  },
  // ── the process ────────────────────────────────────────────────────────────
  {
    name: 'tierfs_process_resident_bytes', type: 'gauge', unit: 'bytes', group: 'process', labels: [],
    help: "Memory the daemon's process holds (its resident set): heaps, caches, buffers, and with the malloc tunables up to 128 MiB freed but kept for the next buffers",
    healthy: 'Level under a steady load: the memory cache (cache.memory) and a few hundred MiB besides; growth that never levels off is a leak.',
    history: { downsample: 'max' },
  },
  {
    name: 'tierfs_process_page_faults_total', type: 'counter', unit: 'faults', group: 'process', labels: [],
    help: "Page faults of the daemon's process: memory (or a file) mapped page by page on first touch",
    healthy: 'A burst while the daemon starts and its heap grows, then little: tens of thousands a second during cold reads or recalls mean freed memory goes back to the kernel and is faulted in again (the malloc tunables are not in effect: docs/OPERATIONS.md).',
    history: {},
  },
  {
    name: 'tierfs_build_info', type: 'gauge', unit: 'info', group: 'process', labels: ['version'],
    help: 'Always 1; the version of tierfs serving the mount',
    healthy: '1, with the version you deployed.',
  },
] as const satisfies readonly MetricDefinition[];

/** The same table, each entry seen as a MetricDefinition (for code that walks it). */
export const DEFINITIONS: readonly MetricDefinition[] = METRICS;

export type MetricName = (typeof METRICS)[number]['name'];
/** The names of the metrics of one type, for typed access to the registry. */
export type NameOf<T extends MetricType> = Extract<(typeof METRICS)[number], { type: T }>['name'];

/** A series of the history computed from stored ones when it is read. */
export interface DerivedSeries {
  name: string;
  help: string;
  unit: Unit;
  /** the series summed over their labels, per point: numerator / denominator */
  numerator: readonly string[];
  denominator: readonly string[];
}

export const DERIVED_SERIES: readonly DerivedSeries[] = [
  {
    name: 'tierfs_recall_cache_hit_ratio',
    help: 'Share of the cells reads of object tiers looked up that the recall cache held',
    unit: 'ratio',
    numerator: ['tierfs_recall_cache_hits_total'],
    denominator: ['tierfs_recall_cache_hits_total', 'tierfs_recall_cache_misses_total'],
  },
];

export function definitionOf(name: string): MetricDefinition | undefined {
  return BY_NAME.get(name);
}

const BY_NAME = new Map(DEFINITIONS.map((m) => [m.name, m]));
