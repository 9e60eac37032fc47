// FUSE requests counted and timed where JavaScript answers them, and natively served
// reads and writes counted from the binding's batches. The tally is a few numbers per
// operation, updated with plain arithmetic on the request path; the registry reads it
// only when it is scraped or sampled.
import { constants } from 'node:os';
import type { AccessCount, FuseOps } from '../fuse/types.js';
import { NO_CELL_COUNTS, type CellCounts, type FileAttrCounts } from '../fuse/native.js';
import type { ListingHabits } from '../fuse/listing-habits.js';
import { definitionOf } from './definitions.js';
import type { HistogramSample, MetricsRegistry, Sample } from './registry.js';

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** The errno name a failed handler's error becomes at the session (as errnoOf decides). */
function errnoName(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in constants.errno) return code;
  if (typeof code === 'number' && code > 0) return ERRNO_NAMES.get(code) ?? String(code);
  return 'EIO';
}

class OpTally {
  requests = 0;
  timed = 0;
  seconds = 0;
  readonly counts: Float64Array;
  readonly errors = new Map<string, number>();

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    this.requests++;
    this.timed++;
    this.seconds += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    this.counts[i]!++;
  }
}

/** A request JavaScript has not answered yet: what it is and since when. */
interface Waiting {
  op: string;
  ino: number | undefined;
  since: number;
}

/** A request still unanswered, as the admin API reports it. */
export interface WaitingRequest {
  op: string;
  ino?: number;
  seconds: number;
}

export class FuseRequestTally {
  private readonly ops = new Map<string, OpTally>();
  private readonly bounds = definitionOf('tierfs_fuse_request_seconds')!.buckets!;
  /**
   * Requests whose handler has not settled. The caller of each one is blocked in the
   * kernel: one that waits for ever is a hang a user sees, so its age is a metric.
   */
  private readonly waiting = new Set<Waiting>();

  /** A request whose answer will come later; pass what this returns to settled(). */
  began(op: string, ino: number | undefined): Waiting {
    const w = { op, ino, since: performance.now() };
    this.waiting.add(w);
    return w;
  }

  settled(w: Waiting): void {
    this.waiting.delete(w);
  }

  /** The unanswered requests, the oldest first (at most `limit`). */
  unanswered(limit = 20): WaitingRequest[] {
    const now = performance.now();
    return [...this.waiting]
      .sort((a, b) => a.since - b.since)
      .slice(0, limit)
      .map((w) => ({ op: w.op, ...(w.ino !== undefined ? { ino: w.ino } : {}), seconds: (now - w.since) / 1000 }));
  }

  private oldestSeconds(): number {
    let oldest = Infinity;
    for (const w of this.waiting) oldest = Math.min(oldest, w.since);
    return oldest === Infinity ? 0 : (performance.now() - oldest) / 1000;
  }

  private op(name: string): OpTally {
    let t = this.ops.get(name);
    if (!t) this.ops.set(name, (t = new OpTally(this.bounds)));
    return t;
  }

  /** A request JavaScript answered, after `seconds`; `err` when it failed. */
  answered(op: string, seconds: number, err?: unknown): void {
    const t = this.op(op);
    t.observe(seconds);
    if (err !== undefined) {
      const name = errnoName(err);
      t.errors.set(name, (t.errors.get(name) ?? 0) + 1);
    }
  }

  /** Reads and writes the binding served natively, from one batch of its counts. */
  servedNatively(counts: readonly AccessCount[]): void {
    let reads = 0;
    let writes = 0;
    for (const c of counts) {
      reads += c.reads;
      writes += c.writes;
    }
    if (reads > 0) this.op('read').requests += reads;
    if (writes > 0) this.op('write').requests += writes;
  }

  requests(): Sample[] {
    return [...this.ops].map(([op, t]) => ({ labels: { op }, value: t.requests }));
  }

  errors(): Sample[] {
    return [...this.ops].flatMap(([op, t]) => [...t.errors].map(([errno, value]) => ({ labels: { op, errno }, value })));
  }

  latency(): HistogramSample[] {
    return [...this.ops].filter(([, t]) => t.timed > 0).map(([op, t]) => ({ labels: { op }, counts: [...t.counts], sum: t.seconds, count: t.timed }));
  }

  /** The session's passthrough state (set once mounted). */
  passthrough: () => { enabled: boolean; opens: number; refused: number } = () => ({ enabled: false, opens: 0, refused: 0 });
  /** getxattr requests the binding answered itself (set once mounted). */
  xattrsAnswered: () => number = () => 0;
  /** getattr requests of directories the binding answered itself (set once mounted). */
  dirAttrsAnswered: () => number = () => 0;
  fileAttrsAnswered: () => FileAttrCounts = () => ({ getattrs: 0, lookups: 0 });
  /** listing pages the binding answered itself (set once mounted). */
  listingPagesAnswered: () => number = () => 0;
  createCounts: () => { lookups: number; creates: number } = () => ({ lookups: 0, creates: 0 });
  /** First pages of names read ahead of walks (set once mounted). */
  listingsAhead: { used: number; unused: number } = { used: 0, unused: 0 };
  /** Which listings carried attributes (set once mounted). */
  listings: Pick<ListingHabits, 'pages' | 'callersThatStat'> = { pages: { with: 0, without: 0 }, callersThatStat: 0 };
  /** What the binding served from recall cache files (set once mounted). */
  cellCounts: () => CellCounts = () => NO_CELL_COUNTS;

  /** The registry reads its FUSE metrics from this tally. */
  feed(registry: MetricsRegistry): void {
    registry.feed('tierfs_fuse_passthrough_enabled', () => [{ labels: {}, value: this.passthrough().enabled ? 1 : 0 }]);
    registry.feed('tierfs_fuse_passthrough_opens_total', () => [{ labels: {}, value: this.passthrough().opens }]);
    registry.feed('tierfs_fuse_passthrough_refused_total', () => [{ labels: {}, value: this.passthrough().refused }]);
    registry.feed('tierfs_fuse_xattrs_answered_natively_total', () => [{ labels: {}, value: this.xattrsAnswered() }]);
    registry.feed('tierfs_fuse_dir_attrs_answered_natively_total', () => [{ labels: {}, value: this.dirAttrsAnswered() }]);
    registry.feed('tierfs_fuse_file_attrs_answered_natively_total', () => [{ labels: {}, value: this.fileAttrsAnswered().getattrs }]);
    registry.feed('tierfs_fuse_file_lookups_answered_natively_total', () => [{ labels: {}, value: this.fileAttrsAnswered().lookups }]);
    registry.feed('tierfs_fuse_listing_pages_answered_natively_total', () => [{ labels: {}, value: this.listingPagesAnswered() }]);
    registry.feed('tierfs_fuse_creates_answered_natively_total', () => [{ labels: {}, value: this.createCounts().creates }]);
    registry.feed('tierfs_fuse_lookups_answered_natively_total', () => [{ labels: {}, value: this.createCounts().lookups }]);
    registry.feed('tierfs_fuse_listing_pages_total', () => [
      { labels: { attributes: 'with' }, value: this.listings.pages.with },
      { labels: { attributes: 'without' }, value: this.listings.pages.without },
    ]);
    registry.feed('tierfs_fuse_listings_read_ahead_total', () => [
      { labels: { outcome: 'used' }, value: this.listingsAhead.used },
      { labels: { outcome: 'unused' }, value: this.listingsAhead.unused },
    ]);
    registry.feed('tierfs_fuse_listing_callers_that_stat_total', () => [{ labels: {}, value: this.listings.callersThatStat }]);
    registry.feed('tierfs_fuse_cached_cell_reads_total', () => [{ labels: {}, value: this.cellCounts().reads }]);
    registry.feed('tierfs_fuse_cached_cell_read_bytes_total', () => [{ labels: {}, value: this.cellCounts().bytes }]);
    registry.feed('tierfs_fuse_cached_cell_blocks_checked_total', () => [{ labels: {}, value: this.cellCounts().blocksChecked }]);
    registry.feed('tierfs_fuse_cached_cell_rejected_total', () => [{ labels: {}, value: this.cellCounts().rejected }]);
    registry.feed('tierfs_fuse_requests_total', () => this.requests());
    registry.feed('tierfs_fuse_errors_total', () => this.errors());
    registry.feedHistogram('tierfs_fuse_request_seconds', () => this.latency());
    registry.feed('tierfs_fuse_requests_waiting', () => [{ labels: {}, value: this.waiting.size }]);
    registry.feed('tierfs_fuse_oldest_request_seconds', () => [{ labels: {}, value: this.oldestSeconds() }]);
  }
}

/** Not requests: the session's start and the binding's counts of what it served itself. */
const NOT_REQUESTS = new Set<keyof FuseOps>(['init', 'accessBatch', 'cellFiles', 'cellsRead', 'createGrant', 'created', 'createNumbers', 'watchAttrs', 'settledAttrs']);

/**
 * The same operations, each call counted and timed in `tally`. Synchronous handlers stay
 * synchronous; failures are counted with the errno they become and passed on unchanged.
 */
export function meterFuseOps(ops: FuseOps, tally: FuseRequestTally): FuseOps {
  const metered: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops) as [keyof FuseOps, unknown][]) {
    if (typeof fn !== 'function') continue;
    if (NOT_REQUESTS.has(name)) {
      metered[name] = fn.bind(ops);
      continue;
    }
    metered[name] = (...args: unknown[]) => {
      const start = performance.now();
      let result: unknown;
      try {
        result = fn.apply(ops, args);
      } catch (err) {
        tally.answered(name, (performance.now() - start) / 1000, err);
        throw err;
      }
      if (!(result instanceof Promise)) {
        tally.answered(name, (performance.now() - start) / 1000);
        return result;
      }
      // args: (ctx, ino, …) for every request that names an inode
      const waiting = tally.began(name, typeof args[1] === 'number' ? args[1] : undefined);
      return result.then(
        (value: unknown) => {
          tally.settled(waiting);
          tally.answered(name, (performance.now() - start) / 1000);
          return value;
        },
        (err: unknown) => {
          tally.settled(waiting);
          tally.answered(name, (performance.now() - start) / 1000, err);
          throw err;
        },
      );
    };
  }
  const batch = ops.accessBatch?.bind(ops);
  metered.accessBatch = (counts: AccessCount[]) => {
    tally.servedNatively(counts);
    batch?.(counts);
  };
  return metered as unknown as FuseOps;
}
