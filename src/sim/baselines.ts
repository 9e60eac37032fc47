// Baselines on the same trace and tiers, to say what the policy is worth: each fills a
// tier up to its high watermark (as the daemon's watermarks hold it) and moves files
// at once, without the mover's bandwidth or windows — an idealisation that favours them.
// New files are placed as the daemon places them (policy/admission.ts).
//   lru       file granularity: every read brings the file to the first tier; a full
//             tier sends its least recently used files one tier down
//   lfu       decayed heat (the policy's half-life) without residency or hysteresis: a
//             file read enters the first tier when it is hotter than the coldest there
//   idle-age  as S3 Intelligent-Tiering: a read brings the file to the first tier, 30
//             days idle sends it one tier down, 90 days the one after (a full tier
//             sends its least recently used down, as lru)
import { admit } from '../policy/admission.js';
import { normalPath, type Simulation } from './engine.js';
import { Tally, type PolicyResult } from './results.js';
import type { SimSetup, SimTier } from './setup.js';
import type { SimEvent } from './traces/types.js';

interface File {
  path: string;
  size: number;
  tier: number;
  lastMs: number;
  /** lfu: log2 of heat at time 0 (time-invariant: log2(heat(t)) + t/halfLife) */
  score: number;
  /** lfu: its place in its tier's ScoreHeap */
  heapAt?: number;
  /** its neighbours in its tier's RecencyList */
  older?: File;
  newer?: File;
}

const DAY = 86_400_000;

/**
 * A tier's files in order of last use, least recent first: a list linked through the
 * files themselves, so a use moves a file to the end without hashing it (a Map deleted
 * from and added to at every event cost most of a baseline's time).
 */
class RecencyList {
  private oldest: File | undefined;
  private newest: File | undefined;

  /** Least recently used first. */
  *leastRecent(): Generator<File> {
    for (let f = this.oldest; f; ) {
      const next = f.newer; // f may be taken out meanwhile
      yield f;
      f = next;
    }
  }

  first(): File | undefined {
    return this.oldest;
  }

  /** Add f as the most recently used (f is in no list). */
  push(f: File): void {
    f.older = this.newest;
    f.newer = undefined;
    if (this.newest) this.newest.newer = f;
    else this.oldest = f;
    this.newest = f;
  }

  remove(f: File): void {
    if (f.older) f.older.newer = f.newer;
    else this.oldest = f.newer;
    if (f.newer) f.newer.older = f.older;
    else this.newest = f.older;
    f.older = f.newer = undefined;
  }

  /** f, in this list, was used now. */
  touch(f: File): void {
    if (this.newest === f) return;
    this.remove(f);
    this.push(f);
  }
}

/** A min-heap of files by score, with removal of any file (each file knows its place). */
class ScoreHeap {
  private readonly a: File[] = [];

  get size(): number {
    return this.a.length;
  }
  peek(): File | undefined {
    return this.a[0];
  }
  push(f: File): void {
    this.a.push(f);
    f.heapAt = this.a.length - 1;
    this.up(this.a.length - 1);
  }
  remove(f: File): void {
    const i = f.heapAt;
    if (i === undefined || this.a[i] !== f) return;
    const last = this.a.pop()!;
    f.heapAt = undefined;
    if (i < this.a.length) {
      this.a[i] = last;
      last.heapAt = i;
      this.up(i);
      this.down(last.heapAt);
    }
  }
  private swap(i: number, j: number): void {
    const t = this.a[i]!;
    this.a[i] = this.a[j]!;
    this.a[j] = t;
    this.a[i]!.heapAt = i;
    this.a[j]!.heapAt = j;
  }
  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.a[p]!.score <= this.a[i]!.score) return;
      this.swap(i, p);
      i = p;
    }
  }
  private down(i: number): void {
    for (;;) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let m = i;
      if (l < this.a.length && this.a[l]!.score < this.a[m]!.score) m = l;
      if (r < this.a.length && this.a[r]!.score < this.a[m]!.score) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

type Kind = 'lru' | 'lfu' | 'idle-age';

export class BaselineSimulation implements Simulation {
  private readonly tally: Tally;
  private readonly files = new Map<string, File>();
  /** per tier, files in order of last use */
  private readonly recency: RecencyList[];
  private readonly heaps: ScoreHeap[];
  private readonly used: number[];
  private readonly limit: number[];
  private readonly tiers: SimTier[];
  private readonly halfLife: number;
  private nextAgeCheck = -Infinity;

  constructor(
    readonly kind: Kind,
    setup: SimSetup,
    readonly name: string = kind,
  ) {
    this.tiers = setup.tiers;
    this.tally = new Tally(
      this.tiers.map((t) => t.name),
      this.tiers.map((t) => t.latency),
      setup.misplacementWindowMs,
    );
    this.recency = this.tiers.map(() => new RecencyList());
    this.heaps = this.tiers.map(() => new ScoreHeap());
    this.used = this.tiers.map(() => 0);
    this.limit = this.tiers.map((t) => (t.capacityBytes ? t.capacityBytes * t.high : Infinity));
    this.halfLife = setup.config.policy.halfLife;
  }

  event(e: SimEvent): void {
    const now = e.timeMs;
    if (this.kind === 'idle-age' && now >= this.nextAgeCheck) this.ageOut(now);
    const path = normalPath(e.path);
    let f = this.files.get(path);
    if (!f) f = this.create(path, e, now);
    else if (e.size !== f.size && (e.op === 'write' || e.size > f.size)) {
      this.used[f.tier]! += e.size - f.size;
      this.tally.grow(now, this.tiers[f.tier]!.name, e.size - f.size, false);
      f.size = e.size;
    }
    if (e.op === 'read') this.tally.read(now, path, this.tiers[f.tier]!.name, e.bytes);
    const opened = e.opens || e.op === 'open';
    if (opened) this.heat(f, now);
    f.lastMs = now;
    this.recency[f.tier]!.touch(f);
    if (e.op === 'read' || opened) {
      if (this.kind === 'lfu') this.lfuAdmit(f, now);
      else if (f.tier > 0) this.place(f, 0, now);
    }
    this.relieve(now);
  }

  finish(): PolicyResult {
    return this.tally.result(this.name);
  }

  private heat(f: File, now: number): void {
    // log2(2^score + 2^(now/halfLife)): one more open, in time-invariant units
    const add = now / this.halfLife;
    const hi = f.score > add ? f.score : add;
    const lo = f.score > add ? add : f.score;
    f.score = hi + Math.log2(1 + 2 ** (lo - hi));
  }

  private create(path: string, e: SimEvent, now: number): File {
    const locals = this.tiers.flatMap((t, i) => (t.kind === 'local' ? [i] : []));
    const at = admit(
      locals.map((i) => ({ capacityBytes: this.tiers[i]!.capacityBytes || 2 ** 50, usedBytes: this.used[i]!, freeBytes: Infinity, high: this.tiers[i]!.high })),
      e.size,
    );
    const tier = locals[at?.index ?? locals.length - 1]!;
    const f: File = { path, size: e.size, tier, lastMs: now, score: -Infinity };
    this.files.set(path, f);
    this.used[tier]! += f.size;
    this.recency[tier]!.push(f);
    if (this.kind === 'lfu') this.heaps[tier]!.push(f);
    this.tally.grow(now, this.tiers[tier]!.name, f.size, true);
    return f;
  }

  private place(f: File, to: number, now: number): void {
    if (f.tier === to) return;
    this.tally.moved(now, f.path, this.tiers[f.tier]!.name, this.tiers[to]!.name, f.size);
    this.used[f.tier]! -= f.size;
    this.recency[f.tier]!.remove(f);
    if (this.kind === 'lfu') this.heaps[f.tier]!.remove(f);
    f.tier = to;
    this.used[to]! += f.size;
    this.recency[to]!.push(f);
    if (this.kind === 'lfu') this.heaps[to]!.push(f);
  }

  /** Full tiers send files one tier down: least recently used (lru, idle-age) or coldest (lfu). */
  private relieve(now: number): void {
    for (let t = 0; t < this.tiers.length - 1; t++) {
      while (this.used[t]! > this.limit[t]!) {
        const victim = this.kind === 'lfu' ? this.heaps[t]!.peek() : this.recency[t]!.first();
        if (!victim) break;
        this.place(victim, t + 1, now);
      }
    }
  }

  /** lfu: into the first tier if it fits, or if colder files there can make room for it. */
  private lfuAdmit(f: File, now: number): void {
    if (f.tier === 0) {
      // its score rose: its place in the heap changes
      this.heaps[0]!.remove(f);
      this.heaps[0]!.push(f);
      return;
    }
    const room = this.limit[0]! - this.used[0]!;
    if (f.size > this.limit[0]!) return;
    if (f.size <= room) return this.place(f, 0, now);
    // would the files colder than f free enough? (look before moving anything)
    const colder: File[] = [];
    let freed = room;
    const h = this.heaps[0]!;
    while (freed < f.size && h.size > 0 && h.peek()!.score < f.score) {
      const c = h.peek()!;
      h.remove(c);
      colder.push(c);
      freed += c.size;
    }
    for (const c of colder) h.push(c);
    if (freed < f.size) return;
    for (const c of colder) this.place(c, 1, now);
    this.place(f, 0, now);
  }

  /** idle-age, once a simulated day: 30 days idle one tier down, 90 days the one after. */
  private ageOut(now: number): void {
    this.nextAgeCheck = now + DAY;
    for (let t = 0; t < this.tiers.length - 1; t++) {
      for (const f of this.recency[t]!.leastRecent()) {
        const idle = now - f.lastMs;
        if (idle <= 30 * DAY) break; // the rest are more recent
        const to = Math.min(this.tiers.length - 1, idle > 90 * DAY ? Math.max(t + 1, 2) : t + 1);
        if (to > t) this.place(f, to, now);
      }
    }
  }
}
