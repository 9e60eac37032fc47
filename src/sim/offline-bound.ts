// The offline bound for the first (hot) tier: the most of the bytes read that any
// placement could have served from it, knowing the whole trace in advance.
//
// Which bound: Belady's MIN over bytes ("fractional Belady"). The caching problem with
// files of different sizes is NP-hard to solve exactly; we relax it so that a tier may
// hold any fraction of a file. Then every byte is a unit page and all bytes of a file are
// next wanted at the file's next read, so MIN — on each read bring the file in, and while
// the tier is over its capacity drop bytes of the file read again furthest in the future
// — is optimal for the relaxed problem. Every real placement is a feasible relaxed one,
// so the figure is an UPPER BOUND, not the exact optimum (it may be above what any
// whole-file placement can reach).
//
// It is a true upper bound when reads read whole files (every generated workload does);
// for partial reads a read of b bytes of a file held at fraction x counts x·b, which is
// then an estimate. It also counts the first read of a file as served by the tier (a
// file first seen is created there) and uses the tier's full capacity, not its high
// watermark: both can only raise it. Memory: 12 bytes per read (the future must be known).
import { normalPath, type Simulation } from './engine.js';
import type { PolicyResult } from './results.js';
import type { SimTier } from './setup.js';
import type { SimEvent } from './traces/types.js';

class Growable {
  ids = new Int32Array(1 << 16);
  bytes = new Float64Array(1 << 16);
  sizes = new Float64Array(1 << 16);
  n = 0;
  push(id: number, bytes: number, size: number): void {
    if (this.n === this.ids.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      [this.ids, this.bytes, this.sizes] = [grow(this.ids), grow(this.bytes), grow(this.sizes)];
    }
    this.ids[this.n] = id;
    this.bytes[this.n] = bytes;
    this.sizes[this.n++] = size;
  }
}

/** A max-heap of (next use, file) entries; stale entries are skipped when popped. */
class FarthestFirst {
  private readonly keys: number[] = [];
  private readonly vals: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  push(key: number, val: number): void {
    let i = this.keys.length;
    this.keys.push(key);
    this.vals.push(val);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p]! >= key) break;
      this.keys[i] = this.keys[p]!;
      this.vals[i] = this.vals[p]!;
      i = p;
    }
    this.keys[i] = key;
    this.vals[i] = val;
  }
  pop(): [number, number] {
    const top: [number, number] = [this.keys[0]!, this.vals[0]!];
    const [k, v] = [this.keys.pop()!, this.vals.pop()!];
    if (this.keys.length > 0) {
      let i = 0;
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let m = -1;
        let mk = k;
        if (l < this.keys.length && this.keys[l]! > mk) (m = l), (mk = this.keys[l]!);
        if (r < this.keys.length && this.keys[r]! > mk) m = r;
        if (m < 0) break;
        this.keys[i] = this.keys[m]!;
        this.vals[i] = this.vals[m]!;
        i = m;
      }
      this.keys[i] = k;
      this.vals[i] = v;
    }
    return top;
  }
}

/** Hot-tier byte hit ratio of fractional Belady over reads (ids, bytes, sizes) with capacity C. */
export function fractionalBelady(ids: Int32Array, bytes: Float64Array, sizes: Float64Array, n: number, files: number, capacity: number): { hitBytes: number; readBytes: number } {
  const next = new Int32Array(n);
  const later = new Int32Array(files).fill(n); // n: never read again
  for (let i = n - 1; i >= 0; i--) {
    next[i] = later[ids[i]!]!;
    later[ids[i]!] = i;
  }
  const held = new Float64Array(files); // bytes of each file on the tier
  const nextOf = new Int32Array(files).fill(-1); // the key its live heap entry has (-1: never read yet)
  const heap = new FarthestFirst();
  let used = 0;
  let hitBytes = 0;
  let readBytes = 0;
  for (let i = 0; i < n; i++) {
    const [f, b, s] = [ids[i]!, bytes[i]!, sizes[i]!];
    readBytes += b;
    const first = nextOf[f] === -1;
    hitBytes += first ? b : s > 0 ? b * Math.min(1, held[f]! / s) : b;
    used += s - held[f]!;
    held[f] = s;
    nextOf[f] = next[i]!;
    heap.push(next[i]!, f);
    while (used > capacity && heap.size > 0) {
      const [key, g] = heap.pop();
      if (nextOf[g] !== key || held[g]! === 0) continue; // stale: read since, or gone
      const drop = Math.min(held[g]!, used - capacity);
      held[g]! -= drop;
      used -= drop;
      if (held[g]! > 0) heap.push(key, g);
    }
  }
  return { hitBytes, readBytes };
}

export class OfflineBound implements Simulation {
  readonly name = 'offline-bound';
  private readonly reads = new Growable();
  private readonly ids = new Map<string, number>();

  constructor(private readonly tiers: SimTier[]) {}

  event(e: SimEvent): void {
    if (e.op !== 'read') return;
    const path = normalPath(e.path);
    let id = this.ids.get(path);
    if (id === undefined) this.ids.set(path, (id = this.ids.size));
    this.reads.push(id, e.bytes, e.size);
  }

  finish(): PolicyResult {
    const hot = this.tiers[0]!;
    const cap = hot.capacityBytes || Infinity;
    const r = fractionalBelady(this.reads.ids, this.reads.bytes, this.reads.sizes, this.reads.n, this.ids.size, cap);
    const ratio = r.readBytes ? r.hitBytes / r.readBytes : 0;
    return {
      policy: this.name,
      tiers: [{ tier: hot.name, byteHitRatio: ratio, requestHitRatio: NaN, readBytes: r.hitBytes, reads: NaN, usedBytes: NaN, files: NaN, byteHours: NaN }],
      promotions: { files: 0, bytes: 0 },
      demotions: { files: 0, bytes: 0 },
      misplacements: 0,
      meanReadLatencyMs: NaN,
      cost: null,
      timeline: [],
      note: `upper bound on ${hot.name}'s byte hit ratio (fractional Belady, ${hot.name} at its full capacity)`,
    };
  }
}
