// What a policy did on a trace, counted the same way for the daemon's policy and for
// every baseline: where each read was served, what moved, which demotions were read
// again soon after, the use of each tier over time, and an estimated read latency.

export interface TierLatency {
  /** time to the first byte, ms */
  firstByteMs: number;
  /** bytes per second once it flows */
  bytesPerSecond: number;
}

/**
 * Defaults by kind and place: the first local tier an NVMe SSD, later local tiers
 * disks, object tiers a remote store. Figures of this machine's own benches (bench fuse:
 * a local tier read through the mount at 0.6-2 GB/s; bench recall: a cold file's first
 * byte tens of ms away) rounded; override with --latency.
 */
export function defaultLatency(kind: 'local' | 'object', localIndex: number): TierLatency {
  if (kind === 'object') return { firstByteMs: 40, bytesPerSecond: 100e6 };
  return localIndex === 0 ? { firstByteMs: 0.1, bytesPerSecond: 1.5e9 } : { firstByteMs: 8, bytesPerSecond: 160e6 };
}

export interface TierResult {
  tier: string;
  /** share of the bytes read that this tier served */
  byteHitRatio: number;
  /** share of the read requests that this tier served */
  requestHitRatio: number;
  readBytes: number;
  reads: number;
  /** at the end of the trace */
  usedBytes: number;
  files: number;
  /** integral of the tier's use over the trace, byte-hours (what a storage price applies to) */
  byteHours: number;
}

export interface MoveCount {
  files: number;
  bytes: number;
}

export interface TimelinePoint {
  /** start of the bucket, ms since the epoch */
  timeMs: number;
  /** byte hit ratio of each tier within the bucket (NaN: nothing read) */
  byteHit: number[];
  /** each tier's use at the end of the bucket */
  usedBytes: number[];
}

export interface PolicyResult {
  policy: string;
  tiers: TierResult[];
  promotions: MoveCount;
  demotions: MoveCount;
  /** demotions of files read again within the misplacement window */
  misplacements: number;
  /** mean estimated time of a read, ms */
  meanReadLatencyMs: number;
  /** from the cost model when one is configured (see CostHook); null without one */
  cost: number | null;
  timeline: TimelinePoint[];
  /** moves still queued or running at the end (the daemon's policy only) */
  unfinishedMoves?: number;
  note?: string;
}

/** The price of a result over a span of ms (src/sim/cost.ts, from the configuration's cost: section). */
export type CostHook = (r: Omit<PolicyResult, 'cost'>, spanMs: number) => number | null;

const MAX_POINTS = 400;
const HOUR = 3_600_000;

export class Tally {
  private readonly index: Map<string, number>;
  private readonly readBytes: number[];
  private readonly reads: number[];
  private readonly used: number[];
  private readonly files: number[];
  private readonly byteMs: number[];
  private latencyMs = 0;
  private readonly promotions: MoveCount = { files: 0, bytes: 0 };
  private readonly demotions: MoveCount = { files: 0, bytes: 0 };
  private misplacements = 0;
  /** files demoted, by path, with when (forgotten at their next read or once the window passed) */
  private readonly demotedAt = new Map<string, number>();
  private firstMs = NaN;
  private lastMs = NaN;
  private bucketMs = HOUR;
  private points: { timeMs: number; bytes: number[]; total: number; usedBytes: number[] }[] = [];

  constructor(
    readonly tiers: string[],
    private readonly latency: TierLatency[],
    private readonly misplacementWindowMs = 7 * 86_400_000,
  ) {
    this.index = new Map(tiers.map((t, i) => [t, i]));
    const zeros = () => tiers.map(() => 0);
    [this.readBytes, this.reads, this.used, this.files, this.byteMs] = [zeros(), zeros(), zeros(), zeros(), zeros()];
  }

  tierIndex(tier: string): number {
    const i = this.index.get(tier);
    if (i === undefined) throw new Error(`no tier named ${tier}`);
    return i;
  }

  /** Time moves on (integrates use, opens timeline buckets); call before anything at timeMs. */
  at(timeMs: number): void {
    if (Number.isNaN(this.firstMs)) (this.firstMs = timeMs), (this.lastMs = timeMs);
    if (timeMs <= this.lastMs) return;
    const dt = timeMs - this.lastMs;
    for (let i = 0; i < this.used.length; i++) this.byteMs[i]! += this.used[i]! * dt;
    this.lastMs = timeMs;
  }

  private bucket(timeMs: number) {
    let p = this.points.at(-1);
    const start = this.firstMs + Math.floor((timeMs - this.firstMs) / this.bucketMs) * this.bucketMs;
    if (!p || p.timeMs < start) {
      if (p) p.usedBytes = [...this.used];
      this.points.push((p = { timeMs: start, bytes: this.tiers.map(() => 0), total: 0, usedBytes: [...this.used] }));
      if (this.points.length > MAX_POINTS) this.coarsen();
      p = this.points.at(-1)!;
    }
    return p;
  }

  /** Twice as wide buckets, half as many. */
  private coarsen(): void {
    this.bucketMs *= 2;
    const merged: typeof this.points = [];
    for (const p of this.points) {
      const start = this.firstMs + Math.floor((p.timeMs - this.firstMs) / this.bucketMs) * this.bucketMs;
      const last = merged.at(-1);
      if (last && last.timeMs === start) {
        last.bytes = last.bytes.map((b, i) => b + p.bytes[i]!);
        last.total += p.total;
        last.usedBytes = p.usedBytes;
      } else merged.push({ ...p, timeMs: start });
    }
    this.points = merged;
  }

  read(timeMs: number, path: string, tier: string, bytes: number): void {
    this.at(timeMs);
    const i = this.tierIndex(tier);
    this.readBytes[i]! += bytes;
    this.reads[i]!++;
    const l = this.latency[i]!;
    this.latencyMs += l.firstByteMs + (bytes / l.bytesPerSecond) * 1000;
    const p = this.bucket(timeMs);
    p.bytes[i]! += bytes;
    p.total += bytes;
    const demoted = this.demotedAt.get(path);
    if (demoted !== undefined) {
      this.demotedAt.delete(path);
      if (timeMs - demoted <= this.misplacementWindowMs) this.misplacements++;
    }
  }

  /** A file arrived on a tier (created there), or its size changed by delta. */
  grow(timeMs: number, tier: string, delta: number, newFile: boolean): void {
    this.at(timeMs);
    this.bucket(timeMs);
    const i = this.tierIndex(tier);
    this.used[i]! += delta;
    if (newFile) this.files[i]!++;
  }

  moved(timeMs: number, path: string, from: string, to: string, size: number): void {
    this.at(timeMs);
    this.bucket(timeMs);
    const a = this.tierIndex(from);
    const b = this.tierIndex(to);
    if (a === b) return;
    this.used[a]! -= size;
    this.used[b]! += size;
    this.files[a]!--;
    this.files[b]!++;
    const c = b < a ? this.promotions : this.demotions;
    c.files++;
    c.bytes += size;
    if (b > a) this.demotedAt.set(path, timeMs);
  }

  usedBytes(tier: string): number {
    return this.used[this.tierIndex(tier)]!;
  }

  result(policy: string, cost?: CostHook, extra: Partial<PolicyResult> = {}): PolicyResult {
    const last = this.points.at(-1);
    if (last) last.usedBytes = [...this.used];
    const totalBytes = this.readBytes.reduce((a, b) => a + b, 0);
    const totalReads = this.reads.reduce((a, b) => a + b, 0);
    const r: Omit<PolicyResult, 'cost'> = {
      policy,
      tiers: this.tiers.map((tier, i) => ({
        tier,
        byteHitRatio: totalBytes ? this.readBytes[i]! / totalBytes : 0,
        requestHitRatio: totalReads ? this.reads[i]! / totalReads : 0,
        readBytes: this.readBytes[i]!,
        reads: this.reads[i]!,
        usedBytes: this.used[i]!,
        files: this.files[i]!,
        byteHours: this.byteMs[i]! / HOUR,
      })),
      promotions: { ...this.promotions },
      demotions: { ...this.demotions },
      misplacements: this.misplacements,
      meanReadLatencyMs: totalReads ? this.latencyMs / totalReads : 0,
      timeline: this.points.map((p) => ({ timeMs: p.timeMs, byteHit: p.bytes.map((b) => (p.total ? b / p.total : NaN)), usedBytes: p.usedBytes })),
      ...extra,
    };
    return { ...r, cost: cost ? cost(r, this.lastMs - this.firstMs) : null };
  }
}
