// The admin API's answers, computed from the catalog and the tiers. Pure reads:
// the HTTP server (server.ts) only routes to these.
import type { Catalog } from '../catalog/catalog.js';
import { FsError } from '../errors.js';
import type { TierConfig } from '../config/schema.js';
import type { MoveRecord, QueueEntry } from '../catalog/catalog.js';
import type { TierSet } from '../tiers/tier-set.js';
import type { LocalTier } from '../tiers/local/local-tier.js';
import type { ScrubReport } from '../tiers/object/types.js';
import { isDir, isReg, S_IFLNK, S_IFMT } from '../vfs/vfs.js';
import type { Vfs } from '../vfs/vfs.js';
import type { AccessRecorder } from '../vfs/access-recorder.js';
import type { MoveOutcome, MoveProtocol } from '../mover/protocol.js';
import type { BackgroundMover } from '../mover/background.js';
import type { Classifier } from '../policy/classifier.js';
import type { Decision } from '../policy/rules.js';
import { measurePlacement, type TierEffectiveness } from '../policy/effectiveness.js';
import { checkGlob, globMatch } from '../policy/glob.js';
import { heatAt } from '../policy/heat.js';
import type { PolicyConfig } from '../config/policy.js';
import type { BackgroundTaskStatus } from '../background-task.js';
import { historySeries, type HistoryAnswer, type MetricsHistory, type SeriesInfo } from '../metrics/history.js';
import type { RecoveryReport } from '../recovery/rebuild-catalog.js';
import type { AlertsAnswer } from '../alerts/evaluator.js';
import type { CatalogBackupStatus } from '../recovery/catalog-backups.js';
import type { BackupEntry } from '../recovery/backup-store.js';
import type { WaitingRequest } from '../metrics/fuse.js';

/** The catalog's protection: its last rebuild and its backups. */
export interface CatalogStatus {
  recoveredAtThisMount: boolean;
  lastRecovery: RecoveryReport | null;
  /** null when backups are off */
  backup: (CatalogBackupStatus & { intervalMs: number }) | null;
}

export interface TierStatus {
  name: string;
  kind: string;
  files: number;
  bytes: number;
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  watermarks: { high: number; low: number };
  /** local: volume directories; object: backend count */
  volumes: string[];
  /** object tiers: backends that may be lost with every file still readable */
  survivesBackendLosses?: number;
  /** local tiers: why use and capacity could not be read (a volume gone) */
  error?: string;
  /** what capacity pressure does on this tier now (relief under way, or why its files wait) */
  pressure: string | null;
}

/** The daemon's background work: each periodic task's failures, and rejections nobody handled. */
export interface BackgroundHealth {
  tasks: BackgroundTaskStatus[];
  unhandledRejections: number;
}

/** Where the daemon serves /metrics, and what it keeps as history. */
export interface MetricsStatus {
  /** the address the HTTP listener is on ("127.0.0.1:9751"), or null: off, or it could not start */
  listen: string | null;
  url: string | null;
  /** the address configured ("off" when disabled); differs from listen when that port was taken */
  configured: string;
  /** whether requests must carry the bearer token (a listener on anything but loopback) */
  tokenRequired: boolean;
  /** the file with the generated admin token (the API, the dashboard), when none is configured */
  tokenFile: string | null;
  /** the file with the generated token that reads /metrics only (Prometheus's), when none is configured */
  scrapeTokenFile: string | null;
  /** why the listener is not running */
  error: string | null;
  history: { enabled: boolean; keepMinutePointsMs: number; keepHourPointsMs: number; keepDayPointsMs: number };
}

export interface Status {
  mountpoint: string;
  fsid: string;
  pid: number;
  startedAt: string;
  tiers: TierStatus[];
  conflicts: { path: string; kind: string; detail: string }[];
  recording: { enabled: boolean; eventsRecorded: number };
  /** automatic moves per tier over the last day and week, and how many were wrong */
  placement: TierEffectiveness[];
  queue: { length: number; heldBack: string | null; slowedBy: string | null };
  background: BackgroundHealth;
  metrics: MetricsStatus | null;
  catalog: CatalogStatus | null;
  /** set when every local tier is above its high watermark: new files then go where there is space */
  admission: string | null;
  /** the alerts firing now, and how many are pending (null when alerts are off) */
  alerts: { firing: AlertsAnswer['active']; pending: number } | null;
  /** FUSE requests not answered yet, the oldest first (null when the mount is not metered) */
  waitingRequests: WaitingRequest[] | null;
}

export interface Where {
  path: string;
  ino: number;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  tier: string | null;
  volume: string | null;
  backingPath: string | null;
  state: string;
  generation: number;
  openForWrite: boolean;
  /** the tier this file is pinned to, and the path the pin was set on */
  pin: { tier: string; on: string } | null;
  /** object tiers: stripes and scheme, and the copy's id (its objects are under <fsid>/<fileId>/) */
  layout: { kind: string; k: number; m: number; stripes: number; chunkSize: number; fileId: string } | null;
  /** where the policy wants the file now, why, and what holds a move back */
  placement: (Decision & { hold: string | null }) | null;
  /** the decision as last stored, with the inputs of when its outcome last changed */
  lastDecision: { time: string; target: string | null; rule: string; reason: string; inputs: unknown } | null;
  /** what capacity does to the file: the watermark that demoted it, or why it stays ("held: …") */
  capacity: string | null;
  /** a move waiting in the queue */
  queued: { toTier: string; requestedBy: string; reason: string; attempts: number; lastError: string | null } | null;
  access: {
    opens: number;
    reads: number;
    readBytes: number;
    writes: number;
    writeBytes: number;
    firstAccess: string | null;
    lastAccess: string | null;
    /** false while the kernel reads and writes this local file itself (passthrough): only opens are counted */
    readsSeen: boolean;
  };
}

export interface DirEntry {
  name: string;
  /** relative to the mount root */
  path: string;
  type: Where['type'];
  size: number;
  tier: string | null;
  /** opens, halving every policy.halfLife (files only) */
  heat: number | null;
  lastAccess: string | null;
  pin: string | null;
  class: string | null;
}

export interface DirListing {
  path: string;
  entries: DirEntry[];
  /** every file at or below the directory, bytes per tier */
  bytesByTier: Record<string, number>;
}

export interface ScrubProgress {
  path: string;
  done: number;
  files: number;
  report: ScrubReport;
  total: ScrubReport;
}

export interface AdminDeps {
  catalog: Catalog;
  tiers: TierSet;
  tierConfigs: TierConfig[];
  vfs: Vfs;
  recorder: AccessRecorder;
  protocol: MoveProtocol;
  background: BackgroundMover;
  classifier: Classifier;
  policy: PolicyConfig;
  mountpoint: string;
  health?: () => BackgroundHealth;
  /** the metrics listener and history, for status */
  metrics?: () => MetricsStatus;
  /** the metrics history, when it is kept */
  history?: MetricsHistory;
  /** the alert rules, their state and latest changes (undefined when alerts are off) */
  alerts?: (recentLimit: number) => AlertsAnswer;
  /** told of each file a scrub went over (metrics) */
  onScrubbed?: (file: { ino: number; tier: string; fileId: string }, report: ScrubReport) => void;
  catalogStatus?: () => CatalogStatus;
  /** take a catalog backup now (undefined when backups are off) */
  backupNow?: () => Promise<BackupEntry | null>;
  /** the FUSE requests not answered yet (undefined when the mount is not metered) */
  waitingRequests?: () => WaitingRequest[];
}

type MoveResult = MoveOutcome & { path: string; error?: string };

/** What an entry is, as `where`, the file browser and `move` name it. */
const typeOf = (mode: number): 'file' | 'directory' | 'symlink' | 'other' =>
  isReg(mode) ? 'file' : isDir(mode) ? 'directory' : (mode & S_IFMT) === S_IFLNK ? 'symlink' : 'other';

export class AdminApi {
  readonly startedAt = new Date();

  private readonly catalog: Catalog;
  private readonly tiers: TierSet;
  private readonly tierConfigs: TierConfig[];
  private readonly vfs: Vfs;
  private readonly recorder: AccessRecorder;
  private readonly protocol: MoveProtocol;
  private readonly background: BackgroundMover;
  private readonly classifier: Classifier;
  private readonly policy: PolicyConfig;
  private readonly mountpoint: string;
  private readonly health: () => BackgroundHealth;
  private readonly metrics: (() => MetricsStatus) | undefined;
  private readonly metricsHistory: MetricsHistory | undefined;
  private readonly onScrubbed: AdminDeps['onScrubbed'];

  constructor(deps: AdminDeps) {
    ({
      catalog: this.catalog,
      tiers: this.tiers,
      tierConfigs: this.tierConfigs,
      vfs: this.vfs,
      recorder: this.recorder,
      protocol: this.protocol,
      background: this.background,
      classifier: this.classifier,
      policy: this.policy,
      mountpoint: this.mountpoint,
    } = deps);
    this.health = deps.health ?? (() => ({ tasks: [], unhandledRejections: 0 }));
    this.metrics = deps.metrics;
    this.metricsHistory = deps.history;
    this.alertsOf = deps.alerts;
    this.onScrubbed = deps.onScrubbed;
    this.catalogStatus = deps.catalogStatus ?? (() => null);
    this.backupNow = deps.backupNow;
    this.waitingRequests = deps.waitingRequests;
  }

  private readonly waitingRequests: AdminDeps['waitingRequests'];

  private readonly catalogStatus: () => CatalogStatus | null;
  private readonly alertsOf: AdminDeps['alerts'];

  private alertsSummary(): Status['alerts'] {
    const active = this.alertsOf?.(1).active;
    return active ? { firing: active.filter((a) => a.state === 'firing'), pending: active.filter((a) => a.state === 'pending').length } : null;
  }

  /** Alert rules, the alerts pending or firing, and the latest changes. */
  alerts(recentLimit = 50): AlertsAnswer {
    if (!this.alertsOf) throw new FsError('ENOTSUP', 'alerts are off (alerts.enabled is false)');
    if (!(Number.isInteger(recentLimit) && recentLimit > 0)) throw new FsError('EINVAL', 'limit must be a positive whole number');
    return this.alertsOf(recentLimit);
  }
  private readonly backupNow: (() => Promise<BackupEntry | null>) | undefined;

  /** A catalog backup now, through the same path as the scheduled ones. */
  async backup(): Promise<BackupEntry> {
    if (!this.backupNow) throw new FsError('EINVAL', 'catalog backups are off (catalog.backup.enabled: false)');
    const entry = await this.backupNow();
    if (!entry) throw new FsError('EIO', 'the backup was not taken');
    return entry;
  }

  status(): Status {
    const usage = this.catalog.usageByTier();
    const pressure = this.classifier.pressure;
    const aboveHigh = (t: LocalTier): boolean => {
      const u = t.usage(usage.get(t.name)?.bytes ?? 0);
      return u.capacityBytes === 0 || u.usedBytes > u.capacityBytes * t.config.watermarks.high;
    };
    const allAbove = this.tiers.locals.length > 0 && this.tiers.locals.every(aboveHigh);
    return {
      mountpoint: this.mountpoint,
      fsid: this.catalog.fsid,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      tiers: this.tierConfigs.filter((c) => this.tiers.has(c.name)).map((cfg): TierStatus => {
        const held = usage.get(cfg.name) ?? { files: 0, bytes: 0 };
        const t = this.tiers.get(cfg.name);
        if (t.kind === 'local') {
          const base = {
            name: cfg.name,
            kind: 'local',
            ...held,
            watermarks: cfg.watermarks,
            volumes: t.local.volumes,
            pressure: pressure.get(cfg.name) ?? null,
          };
          const { unreachable, ...u } = t.local.usage(held.bytes);
          // A volume that is gone counts as full; the status says which and why.
          const error = unreachable?.map((v) => `${v.path}: ${v.error}`).join('; ');
          return { ...base, ...u, ...(error ? { error } : {}) };
        }
        const capacityBytes = cfg.capacity ?? 0;
        return {
          name: cfg.name,
          kind: 'object',
          ...held,
          capacityBytes,
          usedBytes: held.bytes,
          freeBytes: Math.max(0, capacityBytes - held.bytes),
          watermarks: cfg.watermarks,
          volumes: cfg.kind === 'object' ? cfg.backends.map((b) => `${b.name ?? b.type} (${b.type})`) : [],
          survivesBackendLosses: t.object.survivableBackendLosses,
          pressure: pressure.get(cfg.name) ?? null,
        };
      }),
      conflicts: this.catalog.conflicts(),
      recording: { enabled: this.recorder.enabled, eventsRecorded: this.recorder.recorded },
      placement: measurePlacement(this.catalog, this.tierConfigs.map((t) => t.name), this.policy.minResidency),
      queue: { length: this.catalog.queueLength(), heldBack: this.background.heldBack, slowedBy: this.background.slowedBy },
      background: this.health(),
      alerts: this.alertsSummary(),
      waitingRequests: this.waitingRequests?.() ?? null,
      metrics: this.metrics?.() ?? null,
      catalog: this.catalogStatus(),
      admission: allAbove ? 'every local tier is above its high watermark: new files go where there is space while pressure demotion makes room' : null,
    };
  }

  /** The series the history keeps. */
  historySeries(): SeriesInfo[] {
    return historySeries();
  }

  /** A series of the history over the last sinceMs (default a day), at stepMs (default: chosen for the range). */
  history(series: string, sinceMs?: number, stepMs?: number): HistoryAnswer {
    if (!this.metricsHistory) throw new FsError('ENOTSUP', 'no metrics history is kept (metrics.history.enabled is false)');
    if (sinceMs !== undefined && !(sinceMs > 0)) throw new FsError('EINVAL', 'since must be a positive duration');
    return this.metricsHistory.query(series, { rangeMs: sinceMs, stepMs });
  }

  /** The inode at a path relative to the mount root. */
  private resolve(path: string): number {
    const ino = this.catalog.inoAtPath(path);
    if (ino === undefined) throw new FsError('ENOENT', `no such file in the mount: ${path}`);
    return ino;
  }

  /** Every regular file at or below path, as (ino, path). */
  private filesAt(path: string): { ino: number; path: string }[] {
    const out: { ino: number; path: string }[] = [];
    const visit = (ino: number, p: string) => {
      const i = this.vfs.inode(ino);
      if (isReg(i.mode)) out.push({ ino, path: p });
      else if (isDir(i.mode)) for (const e of this.catalog.listDir(ino)) visit(e.ino, p ? `${p}/${e.name}` : e.name);
    };
    visit(this.resolve(path), path);
    return out;
  }

  /**
   * Manual moves go through the background mover's queue, ahead of automatic ones
   * (priority 0), and so through the same journaled protocol.
   */
  async move(paths: string[], to: string, wait: boolean): Promise<{ results: MoveResult[] }> {
    this.tiers.get(to); // an unknown tier is refused before anything starts
    // A symbolic link (or a device, a fifo) named itself has nothing to move: said, not skipped in silence.
    const nothing = paths.flatMap((p): MoveResult[] => {
      const type = typeOf(this.vfs.inode(this.resolve(p)).mode);
      if (type === 'file' || type === 'directory') return [];
      const what = type === 'symlink' ? 'a symbolic link' : 'not a regular file';
      return [{ id: 0, state: 'aborted', bytes: 0, path: p, reason: `${what}: only files move between tiers (name the file a link points to)` }];
    });
    const moved = await this.enqueue(paths.flatMap((p) => this.filesAt(p)).map((f) => ({ ...f, to })), 'cli', wait);
    return { results: [...nothing, ...moved.results] };
  }

  /** Bring files back from object tiers to the first local tier with room, and wait. */
  async recall(paths: string[]): Promise<{ results: MoveResult[] }> {
    const usage = this.catalog.usageByTier();
    const cold = paths.flatMap((p) => this.filesAt(p)).filter((f) => !this.tiers.isLocal(this.vfs.inode(f.ino).tier ?? ''));
    const jobs = cold.map((f) => {
      const size = this.vfs.inode(f.ino).size;
      const to = this.tiers.locals.find((t) => t.hasRoom(usage.get(t.name)?.bytes ?? 0, size)) ?? this.tiers.locals[0];
      if (!to) throw new FsError('EINVAL', 'no local tier');
      return { ...f, to: to.name };
    });
    return this.enqueue(jobs, 'recall', true);
  }

  private async enqueue(jobs: { ino: number; path: string; to: string }[], by: string, wait: boolean): Promise<{ results: MoveResult[] }> {
    for (const j of jobs) this.catalog.enqueueMove({ ino: j.ino, toTier: j.to, priority: 0, requestedBy: by, reason: `asked by ${by}` });
    if (!wait) {
      this.background.kick();
      return { results: [] };
    }
    const results = await Promise.all(jobs.map(async (j) => ({ ...(await this.background.waitFor(j.ino)), path: j.path })));
    return { results };
  }

  pin(path: string, tier: string | null) {
    this.vfs.pin(this.resolve(path), tier);
    return { path, tier };
  }

  moves(limit: number): {
    active: { id: number; bytes: number; total: number }[];
    queued: QueueEntry[];
    queueLength: number;
    heldBack: string | null;
    slowedBy: string | null;
    recent: MoveRecord[];
  } {
    return {
      active: [...this.protocol.progress].map(([id, p]) => ({ id, ...p })),
      queued: this.catalog.queuedMoves(limit),
      queueLength: this.catalog.queueLength(),
      heldBack: this.background.heldBack,
      slowedBy: this.background.slowedBy,
      recent: this.catalog.recentMoves(limit),
    };
  }

  /**
   * Verify every cell of every file on the object tiers (or one tier), rebuilding what
   * is missing or corrupt when repair is set. Reports each file as it goes; reads are
   * paced to the mover's bandwidth limit.
   */
  async *scrub(tier: string | undefined, repair: boolean, pace: (bytes: number) => Promise<void>): AsyncGenerator<ScrubProgress> {
    if (tier !== undefined && this.tiers.get(tier).kind !== 'object') throw new FsError('EINVAL', `tier ${tier} is not an object tier`);
    const files = this.catalog.filesWithLayout().filter((f) => tier === undefined || f.tier === tier);
    const total: ScrubReport = { cellsChecked: 0, cellsBad: 0, cellsRepaired: 0, stripesLost: 0, manifestsChecked: 0, manifestsBad: 0, manifestsRepaired: 0 };
    let done = 0;
    for (const f of files) {
      await pace(f.size);
      // The file as it is now: a copy a move replaced meanwhile is garbage, not ours to repair.
      const cur = this.catalog.getInode(f.ino);
      if (!cur?.layout || !this.tiers.has(cur.tier!)) continue;
      const layout = this.vfs.layoutOf(cur);
      const release = this.vfs.holdCopy(layout.fileId);
      let r: ScrubReport;
      try {
        r = await this.tiers.object(layout.tier).scrub(layout, repair);
      } finally {
        release();
      }
      for (const k of ['cellsChecked', 'cellsBad', 'cellsRepaired', 'stripesLost', 'manifestsChecked', 'manifestsBad', 'manifestsRepaired'] as const) total[k] = (total[k] ?? 0) + (r[k] ?? 0);
      this.onScrubbed?.({ ino: f.ino, tier: layout.tier, fileId: layout.fileId }, r);
      done++;
      yield { path: f.dataPath ?? '', done, files: files.length, report: r, total };
    }
    if (files.length === 0) yield { path: '', done: 0, files: 0, report: total, total };
  }

  /**
   * A directory as a file manager shows it: each entry's tier, size, heat (decayed to
   * now), last access, pin and class; and the bytes below it per tier.
   */
  ls(path: string): DirListing {
    this.recorder.flush();
    const ino = this.resolve(path);
    if (!isDir(this.vfs.inode(ino).mode)) throw new FsError('ENOTDIR', `not a directory: ${path}`);
    const entries = this.catalog.listDir(ino).map((e) => this.entryOf(e.ino, e.name, path ? `${path}/${e.name}` : e.name));
    const bytesByTier: Record<string, number> = {};
    for (const f of this.filesAt(path)) {
      const i = this.vfs.inode(f.ino);
      if (i.tier) bytesByTier[i.tier] = (bytesByTier[i.tier] ?? 0) + i.size;
    }
    return { path, entries, bytesByTier };
  }

  /** The files at or below `under` whose path matches a glob (the policy's syntax), at most `limit`. */
  find(glob: string, under: string, limit = 500): { glob: string; entries: DirEntry[]; truncated: boolean } {
    if (!glob) throw new FsError('EINVAL', 'a glob is required');
    checkGlob(glob);
    this.recorder.flush();
    const found = this.filesAt(under).filter((f) => globMatch(glob, f.path));
    const entries = found.slice(0, limit).map((f) => this.entryOf(f.ino, f.path.split('/').at(-1) ?? f.path, f.path));
    return { glob, entries, truncated: found.length > limit };
  }

  private entryOf(ino: number, name: string, path: string): DirEntry {
    const i = this.vfs.inode(ino);
    const row = isReg(i.mode) ? this.catalog.classificationRow(ino) : undefined;
    return {
      name,
      path,
      type: typeOf(i.mode),
      size: i.size,
      tier: i.tier,
      heat: row ? heatAt(row.heat, row.heatMs, Date.now(), this.policy.halfLife) : null,
      lastAccess: row ? new Date(row.lastAccessMs).toISOString() : null,
      pin: this.catalog.effectivePin(ino)?.tier ?? null,
      class: row?.class ?? null,
    };
  }

  /** Where a path (relative to the mount root) lives and how it has been used. */
  where(path: string): Where {
    this.recorder.flush();
    const ino = this.resolve(path);
    const i = this.vfs.getattr(ino);
    const pin = this.catalog.effectivePin(ino);
    const layout = i.layout ? this.vfs.layoutOf(i) : undefined;
    const stored = this.catalog.decision(ino);
    const queued = this.catalog.queuedMoveOf(ino);
    const stats = this.catalog.accessStats(ino);
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      path,
      ino,
      type: typeOf(i.mode),
      size: i.size,
      tier: i.tier,
      volume: i.volume,
      backingPath: this.vfs.isLocalFile(i) ? this.vfs.backingPath(i) : null,
      state: i.state,
      generation: i.generation,
      openForWrite: this.vfs.isOpenForWrite(ino),
      pin: pin ? { tier: pin.tier, on: this.catalog.pathOf(pin.from) ?? '' } : null,
      layout: layout
        ? { kind: layout.kind, k: layout.k, m: layout.m, stripes: layout.stripes.length, chunkSize: layout.chunkSize, fileId: layout.fileId }
        : null,
      placement: isReg(i.mode) ? (this.classifier.explain(ino) ?? null) : null,
      capacity: isReg(i.mode) ? this.classifier.explainCapacity(ino) : null,
      lastDecision: stored
        ? { time: new Date(stored.timeMs).toISOString(), target: stored.target, rule: stored.rule, reason: stored.reason, inputs: JSON.parse(stored.inputs) }
        : null,
      queued: queued
        ? { toTier: queued.toTier, requestedBy: queued.requestedBy, reason: queued.reason, attempts: queued.attempts, lastError: queued.lastError }
        : null,
      access: {
        opens: stats?.opens ?? 0,
        reads: stats?.reads ?? 0,
        readBytes: stats?.readBytes ?? 0,
        writes: stats?.writes ?? 0,
        writeBytes: stats?.writeBytes ?? 0,
        firstAccess: iso(stats?.firstMs),
        lastAccess: iso(stats?.lastMs),
        readsSeen: !(this.vfs.passthrough && this.vfs.isLocalFile(i)),
      },
    };
  }

  /**
   * The access log as CSV (time, path, op, offset, length, file size), a page of rows at a
   * time: a million rows read at once kept every request of the mount waiting. It ends at
   * the row that was last when it began (a trace written into the mount adds rows).
   */
  *traceCsv(sinceMs = 0): Generator<string> {
    this.recorder.flush();
    yield 'time,path,op,offset,length,size\n';
    const last = this.catalog.lastAccessId();
    for (let after = 0; ; ) {
      const rows = this.catalog.tracePage(sinceMs, after, last, TRACE_PAGE_ROWS);
      if (rows.length === 0) return;
      yield rows.map((r) => `${new Date(r.timeMs).toISOString()},${csvField(inertPath(r.path))},${r.op},${r.offset},${r.length},${r.size}\n`).join('');
      after = rows[rows.length - 1]!.id;
    }
  }
}

/** Rows of the access log read (and sent) at once: a few milliseconds of the event loop. */
const TRACE_PAGE_ROWS = 5000;

/**
 * A path as the trace writes it: one that a spreadsheet would take for a formula (it
 * begins with = + - @, a tab or a carriage return), or that begins with the quote, gets
 * a quote before it — any user of the mount names files, an operator opens the trace.
 * The simulator's reader takes the quote off (sim/traces/tierfs-csv.ts).
 */
export function inertPath(path: string): string {
  return /^[=+\-@\t\r']/.test(path) ? `'${path}` : path;
}

export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
