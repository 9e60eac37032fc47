// Synthetic workloads, for when no trace exists: seeded and reproducible, written as the
// generic CSV (time, path, size, op, bytes). Every read reads its whole file, so the
// offline bound is a true upper bound on them (see offline-bound.ts).
//   zipf      stable Zipf popularity over files of lognormal sizes
//   shift     the same, with the hot set drawn afresh every shiftEvery
//   scan      Zipf, plus a full read of a large archive every scanEvery (backups, indexers)
//   diurnal   Zipf with a day/night cycle of load
//   growth    new files written steadily; reads favour recent files and cool with age
import type { SimEvent } from './traces/types.js';

export const KINDS = ['zipf', 'shift', 'scan', 'diurnal', 'growth'] as const;
export type WorkloadKind = (typeof KINDS)[number];

export interface GenerateOptions {
  seed: number;
  files: number;
  events: number;
  days: number;
  /** Zipf exponent */
  alpha: number;
  /** median file size, bytes; sizes are lognormal around it */
  medianSize: number;
  sizeSigma: number;
  shiftEveryMs: number;
  scanEveryMs: number;
  /** files in the archive a scan reads (scan) */
  scanFiles: number;
  startMs: number;
}

const DAY = 86_400_000;

export const GENERATE_DEFAULTS: GenerateOptions = {
  seed: 1,
  files: 10_000,
  events: 200_000,
  days: 30,
  alpha: 0.9,
  medianSize: 1 << 20,
  sizeSigma: 1.2,
  shiftEveryMs: 10 * DAY,
  scanEveryMs: 7 * DAY,
  scanFiles: 5_000,
  startMs: Date.UTC(2026, 0, 1),
};

/** mulberry32: small, fast, and the same numbers everywhere for a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Zipf ranks 0..n-1 by inverse CDF (a binary search over the cumulative weights). */
export class ZipfSampler {
  private readonly cdf: Float64Array;
  constructor(n: number, alpha: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) this.cdf[i] = sum += 1 / (i + 1) ** alpha;
    for (let i = 0; i < n; i++) this.cdf[i]! /= sum;
  }
  sample(u: number): number {
    let [lo, hi] = [0, this.cdf.length - 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function shuffle(a: Int32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

export function* generate(kind: WorkloadKind, o: Partial<GenerateOptions> = {}): Generator<SimEvent> {
  const opt = { ...GENERATE_DEFAULTS, ...o };
  const rand = rng(opt.seed);
  const size = () => Math.max(4096, Math.min(2 ** 34, Math.round(opt.medianSize * Math.exp(opt.sizeSigma * normal(rand)))));
  const sizes = Array.from({ length: opt.files }, size);
  // each file's path made once: ten million events name a hundred thousand files
  const paths: string[] = [];
  const path = (i: number) => (paths[i] ??= `data/d${i % 64}/f${i}.bin`);
  const zipf = new ZipfSampler(opt.files, opt.alpha);
  const rankToFile = Int32Array.from({ length: opt.files }, (_, i) => i);
  shuffle(rankToFile, rand);
  const spanMs = opt.days * DAY;
  const gap = spanMs / opt.events;
  let t = opt.startMs;
  let nextShift = opt.startMs + opt.shiftEveryMs;
  let nextScan = opt.startMs + opt.scanEveryMs;
  const scanSizes = kind === 'scan' ? Array.from({ length: opt.scanFiles }, size) : [];
  // growth: files come into being over the span; reads pick among those that exist, recent ones most
  let born = kind === 'growth' ? Math.ceil(opt.files / 10) : opt.files;
  for (let n = 0; n < opt.events; n++) {
    let step = -Math.log(1 - rand()) * gap;
    if (kind === 'diurnal') {
      // rate follows 1 + 0.8 sin over the day: waits stretch at night
      const phase = ((t - opt.startMs) % DAY) / DAY;
      step /= Math.max(0.2, 1 + 0.8 * Math.sin(2 * Math.PI * (phase - 0.25)));
    }
    t += step;
    if (kind === 'shift' && t >= nextShift) {
      shuffle(rankToFile, rand);
      nextShift += opt.shiftEveryMs;
    }
    if (kind === 'scan' && t >= nextScan) {
      // the scan reads the whole archive in order, quickly, then the normal load goes on
      for (let i = 0; i < scanSizes.length; i++) {
        yield { timeMs: t, path: `archive/a${i % 64}/s${i}.bin`, size: scanSizes[i]!, op: 'read', bytes: scanSizes[i]!, opens: true };
        t += 50;
      }
      nextScan += opt.scanEveryMs;
    }
    if (kind === 'growth') {
      const due = Math.ceil(opt.files / 10 + ((opt.files * 9) / 10) * ((t - opt.startMs) / spanMs));
      if (born < Math.min(opt.files, due)) {
        const i = born++;
        yield { timeMs: t, path: path(i), size: sizes[i]!, op: 'write', bytes: sizes[i]!, opens: true };
        continue;
      }
      // age in files: exponential, a tenth of what exists on average
      const back = Math.min(born - 1, Math.floor(-Math.log(1 - rand()) * (born / 10)));
      const i = born - 1 - back;
      yield { timeMs: t, path: path(i), size: sizes[i]!, op: 'read', bytes: sizes[i]!, opens: true };
      continue;
    }
    const i = rankToFile[zipf.sample(rand())]!;
    yield { timeMs: t, path: path(i), size: sizes[i]!, op: 'read', bytes: sizes[i]!, opens: true };
  }
}

/** One event as a line of the generic CSV. */
export function genericLine(e: SimEvent): string {
  return `${(e.timeMs / 1000).toFixed(3)},${e.path},${e.size},${e.op},${e.bytes}\n`;
}
