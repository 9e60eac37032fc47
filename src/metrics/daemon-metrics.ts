// The daemon's metrics, read from its parts: the catalog's usage and queue, the tiers'
// volumes and caches, the FUSE tally, backend probes, scrubs. Nothing here is on the
// data path: the parts keep their counters anyway, and they are read when /metrics is
// scraped or the history samples.
import { readFileSync } from 'node:fs';
import type { Catalog } from '../catalog/catalog.js';
import { CatalogTotals } from '../catalog/metrics.js';
import type { TierConfig } from '../config/schema.js';
import { moduleLogger } from '../log.js';
import { headerLength } from '../tiers/object/index.js';
import type { BackendProbe, ObjectTierStats, ScrubReport } from '../tiers/object/types.js';
import type { TierSet } from '../tiers/tier-set.js';
import { FuseRequestTally } from './fuse.js';
import { MisplacementWatch } from './misplacements.js';
import { MetricsRegistry, type Sample } from './registry.js';

const log = moduleLogger('metrics');

/** Minor and major page faults of this process so far (Linux: /proc/self/stat; 0 elsewhere). */
function pageFaults(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // after "pid (comm) ": state is field 0, minflt field 7, majflt field 9
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[7]) + Number(fields[9]);
  } catch {
    return 0;
  }
}

export interface DaemonMetricsDeps {
  catalog: Catalog;
  tiers: TierSet;
  tierConfigs: TierConfig[];
  /** policy.minResidency (what makes a demotion a misplacement), read at each check: it changes live */
  minResidencyMs: () => number;
}

interface TierFigures {
  tier: string;
  capacityBytes: number;
  usedBytes: number;
  files: number;
}

export class DaemonMetrics {
  readonly registry: MetricsRegistry;
  readonly fuse = new FuseRequestTally();
  private readonly io = new Map<string, { read: number; write: number }>();
  private readonly probes = new Map<string, BackendProbe[]>();
  /** files whose last scrub left stripes at risk, by ino */
  private readonly atRisk = new Map<number, { tier: string; fileId: string; stripes: number }>();
  private misplacements: MisplacementWatch | undefined;
  private deps: DaemonMetricsDeps | undefined;

  constructor(opts: { processMetrics?: boolean } = {}) {
    this.registry = new MetricsRegistry(opts);
    this.fuse.feed(this.registry);
    this.registry.feed('tierfs_process_resident_bytes', () => [{ labels: {}, value: process.memoryUsage.rss() }]);
    this.registry.feed('tierfs_process_page_faults_total', () => [{ labels: {}, value: pageFaults() }]);
  }

  /** For the object tiers: their stores' metrics go to this registry, their recall times to the histogram. */
  get objectTierOptions() {
    const recall = this.registry.histogram('tierfs_recall_first_byte_seconds');
    return { store: { registry: this.registry.registry }, onRecall: (seconds: number) => recall.observe(seconds) };
  }

  /** Bytes read or written through the mount (Vfs.onIo). */
  readonly countIo = (tier: string, op: 'read' | 'write', bytes: number): void => {
    let t = this.io.get(tier);
    if (!t) this.io.set(tier, (t = { read: 0, write: 0 }));
    t[op] += bytes;
  };

  /** A file a scrub went over. */
  scrubbed(file: { ino: number; tier: string; fileId: string }, report: ScrubReport): void {
    this.registry.counter('tierfs_scrub_cells_checked_total').inc(report.cellsChecked);
    this.registry.counter('tierfs_scrub_cells_bad_total').inc(report.cellsBad);
    if ((report.stripesAtRisk ?? 0) > 0) this.atRisk.set(file.ino, { tier: file.tier, fileId: file.fileId, stripes: report.stripesAtRisk! });
    else this.atRisk.delete(file.ino);
  }

  /** Asks every backend of every object tier whether it answers. */
  async probeBackends(timeoutMs: number): Promise<void> {
    for (const t of this.deps?.tiers.objects ?? []) {
      const results = await t.probe(timeoutMs);
      for (const r of results.filter((x) => !x.up)) log.warn({ tier: t.name, backend: r.backend, err: r.error }, 'backend does not answer its probe');
      this.probes.set(t.name, results);
    }
  }

  /** Looks for demotions that turned out wrong (every minute). */
  checkPlacement(nowMs = Date.now()): void {
    this.misplacements?.check(nowMs);
  }

  /** Once the catalog and tiers are open: every metric read from them is fed from here on. */
  attach(deps: DaemonMetricsDeps, startedMs = Date.now()): void {
    this.deps = deps;
    const { catalog, tiers } = deps;
    // Read at each scrape: a tier added by tierfs config apply is in the next one.
    const configs = () => deps.tierConfigs.filter((c) => tiers.has(c.name));
    const objectTiers = () => configs().filter((c) => c.kind === 'object').map((c) => c.name);
    for (const c of configs()) this.io.set(c.name, { read: 0, write: 0 });
    this.misplacements = new MisplacementWatch(catalog, () => configs().map((c) => c.name), deps.minResidencyMs, startedMs);
    const totals = new CatalogTotals(catalog.db);
    const r = this.registry;

    // Each metric reads its source when asked: all of it is cheap (a catalog row per tier, a
    // statfs the local tier caches, counters kept in memory), and a scrape sees now.
    const figures = (): TierFigures[] => {
      const usage = catalog.usageByTier();
      return configs().flatMap((cfg): TierFigures[] => {
        const held = usage.get(cfg.name) ?? { files: 0, bytes: 0 };
        const t = tiers.get(cfg.name);
        if (t.kind === 'object') return [{ tier: cfg.name, capacityBytes: cfg.capacity ?? 0, usedBytes: held.bytes, files: held.files }];
        const u = t.local.usage(held.bytes);
        // A volume gone: no figures for this tier rather than wrong ones (tierfs status says why).
        if (u.unreachable) return [];
        return [{ tier: cfg.name, capacityBytes: u.capacityBytes, usedBytes: u.usedBytes, files: held.files }];
      });
    };
    const perTier = (pick: (f: TierFigures) => number) => () => figures().map((f) => ({ labels: { tier: f.tier }, value: pick(f) }));
    r.feed('tierfs_tier_capacity_bytes', perTier((f) => f.capacityBytes));
    r.feed('tierfs_tier_used_bytes', perTier((f) => f.usedBytes));
    r.feed('tierfs_tier_files', perTier((f) => f.files));
    r.feed('tierfs_tier_high_watermark_ratio', () => configs().map((c) => ({ labels: { tier: c.name }, value: c.watermarks.high })));
    r.feed('tierfs_tier_stored_bytes', this.storedBytes(catalog, totals, objectTiers));

    r.feed('tierfs_read_bytes_total', () => [...this.io].map(([tier, t]) => ({ labels: { tier }, value: t.read })));
    r.feed('tierfs_write_bytes_total', () => [...this.io].map(([tier, t]) => ({ labels: { tier }, value: t.write })));

    r.feed('tierfs_catalog_group_commits_total', () => [{ labels: {}, value: catalog.group.commits }]);
    r.feed('tierfs_catalog_group_commit_failures_total', () => [{ labels: {}, value: catalog.group.failures }]);

    r.feed('tierfs_move_queue_length', () => [{ labels: {}, value: totals.queue().length }]);
    r.feed('tierfs_move_queue_bytes', () => [{ labels: {}, value: totals.queue().bytes }]);
    r.feed('tierfs_misplacements_total', () => [...(this.misplacements?.totals ?? [])].map(([tier, value]) => ({ labels: { tier }, value })));

    // The recall cache and reads of every object tier, summed over the tiers but for degraded reads.
    const objectStats = () => Promise.all(tiers.objects.map(async (t) => ({ tier: t.name, s: await t.stats() })));
    const sum = async (pick: (s: ObjectTierStats) => number) => (await objectStats()).reduce((n, x) => n + pick(x.s), 0);
    r.feed('tierfs_recall_cache_hits_total', async () => [
      { labels: { layer: 'memory' }, value: await sum((s) => s.cacheHitsMemory) },
      { labels: { layer: 'disk' }, value: await sum((s) => s.cacheHitsDisk) },
    ]);
    r.feed('tierfs_recall_cache_misses_total', async () => [{ labels: {}, value: await sum((s) => s.cacheMisses) }]);
    r.feed('tierfs_recall_ranged_reads_total', async () => [{ labels: {}, value: await sum((s) => s.rangedReads) }]);
    r.feed('tierfs_recall_cache_rejected_total', async () => [{ labels: {}, value: await sum((s) => s.diskRejected) }]);
    r.feed('tierfs_recall_cache_hit_bytes_total', async () => [{ labels: {}, value: await sum((s) => s.cacheHitBytes) }]);
    r.feed('tierfs_recall_cache_bytes', async () => [
      { labels: { layer: 'memory' }, value: await sum((s) => s.memoryCacheBytes) },
      { labels: { layer: 'disk' }, value: await sum((s) => s.diskCacheBytes) },
    ]);
    r.feed('tierfs_degraded_reads_total', async () => (await objectStats()).map((x) => ({ labels: { tier: x.tier }, value: x.s.degradedReads })));

    r.feed('tierfs_backend_up', () =>
      [...this.probes].flatMap(([tier, results]) => results.map((p) => ({ labels: { tier, backend: p.backend }, value: p.up ? 1 : 0 }))),
    );
    r.feed('tierfs_stripes_at_risk', () => this.stripesAtRisk(catalog, objectTiers));
  }

  /**
   * Cell objects in the stores, per object tier, computed in SQLite from the layouts; done
   * again only when the tier's files, bytes or old copies have changed since.
   */
  private storedBytes(catalog: Catalog, totals: CatalogTotals, objectTiers: () => string[]): () => Sample[] {
    const cache = new Map<string, { key: string; bytes: number }>();
    const headerBytes = headerLength(''); // a cell header without its file id
    return () => {
      const usage = catalog.usageByTier();
      return objectTiers().map((tier) => {
        const held = usage.get(tier) ?? { files: 0, bytes: 0 };
        const key = `${held.files}/${held.bytes}/${totals.garbageCount(tier)}`;
        let hit = cache.get(tier);
        if (hit?.key !== key) {
          const c = totals.cells(tier);
          hit = { key, bytes: c.payloadBytes + c.cells * headerBytes + c.fileIdBytes };
          cache.set(tier, hit);
        }
        return { labels: { tier }, value: hit.bytes };
      });
    };
  }

  /** Stripes at risk per object tier, from the files whose last scrub found them; files moved or deleted since drop out. */
  private stripesAtRisk(catalog: Catalog, objectTiers: () => string[]): Sample[] {
    const perTier = new Map(objectTiers().map((t) => [t, 0]));
    for (const [ino, f] of this.atRisk) {
      const layout = catalog.getInode(ino)?.layout;
      if (!layout || (JSON.parse(layout) as { fileId: string }).fileId !== f.fileId) {
        this.atRisk.delete(ino);
        continue;
      }
      perTier.set(f.tier, (perTier.get(f.tier) ?? 0) + f.stripes);
    }
    return [...perTier].map(([tier, value]) => ({ labels: { tier }, value }));
  }
}
