// The promotions a classification pass held back for want of room, kept between passes so
// that the next pass offers them again when room appears — hottest first, and only as
// many as that room can take, out of as many as a tree has files waiting. Their heat is
// kept as a rank that never needs decaying (heat halves alike for every file), so they
// stay in order between passes: a pass reads them from the hottest down and stops early,
// instead of walking and sorting them all.

import { Heap } from './heap.js';

/** A promotion held back for room: the tiers that would take it, its size, and its heat as a rank. */
export interface HeldPromotion {
  targets: readonly string[];
  size: number;
  rank: number;
}

/**
 * A heat at a time as one number that orders files by heat at any time (log2 of the heat
 * it had at time 0): heat halves alike for every file, so ranks never need decaying. (A
 * new half-life makes the next pass a full one, which holds every file again.)
 */
export const rankOf = (heat: number, atMs: number, halfLifeMs: number) => Math.log2(heat) + atMs / halfLifeMs;

/**
 * Room that appeared on a tier since the last pass, as promotions held back for it may
 * use it: the headroom it grew by, and the residents whose minimum residency ended —
 * each only for files hotter than it beyond the hysteresis.
 */
export class AppearedRoom {
  /** ranks a held file must be above for each freed resident to leave for it, ascending */
  private readonly ranks: number[];
  /** bytes of the freed residents up to each of those ranks */
  private readonly bytesUpTo: number[] = [];
  private taken = 0;

  constructor(
    private readonly grew: number,
    freed: { rank: number; size: number }[],
  ) {
    freed.sort((a, b) => a.rank - b.rank);
    this.ranks = freed.map((f) => f.rank);
    let sum = 0;
    for (const f of freed) this.bytesUpTo.push((sum += f.size));
  }

  /** Bytes a held file of this rank may still take. */
  left(rank: number): number {
    let [lo, hi] = [0, this.ranks.length]; // residents with ranks[i] < rank: [0, lo)
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranks[mid]! < rank) lo = mid + 1;
      else hi = mid;
    }
    return this.grew + (lo > 0 ? this.bytesUpTo[lo - 1]! : 0) - this.taken;
  }

  take(bytes: number): void {
    this.taken += bytes;
  }
}

/** An entry of a ranked list: `seq` keeps files of equal rank in the order they were held. */
interface Ranked {
  rank: number;
  seq: number;
  ino: number;
}
const hotter = (a: Ranked, b: Ranked) => a.rank > b.rank || (a.rank === b.rank && a.seq < b.seq);

/**
 * Files by rank, hottest first; an entry whose file is no longer held at that rank is
 * passed over. A heap: holding a file is a push, and a walk that stops after k files
 * reads about k log k entries, never the whole list (a pass holds and releases thousands
 * of files, and sorting them all at every pass cost more than the rest of the pass).
 */
class RankedList {
  private heap = new Heap<Ranked>(hotter);
  private seq = 0;
  /** entries whose file left or was held again since (dropped once they are half the heap) */
  stale = 0;

  add(rank: number, ino: number): void {
    this.heap.push({ rank, seq: this.seq++, ino });
  }

  /** Hottest first. The walk reads the heap in place: nothing may be held while it goes on. */
  *hottest(live: (r: Ranked) => boolean): Generator<number> {
    if (this.stale * 2 > this.heap.items.length) {
      const kept = new Heap<Ranked>(hotter);
      for (const r of this.heap.items) if (live(r)) kept.push(r);
      this.heap = kept;
      this.stale = 0;
    }
    const items = this.heap.items;
    // best first through the heap without changing it: the next hottest is always the
    // root of a subtree not yet entered
    const frontier = new Heap<number>((a, b) => hotter(items[a]!, items[b]!));
    if (items.length > 0) frontier.push(0);
    for (let i = frontier.pop(); i !== undefined; i = frontier.pop()) {
      if (live(items[i]!)) yield items[i]!.ino;
      if (2 * i + 1 < items.length) frontier.push(2 * i + 1);
      if (2 * i + 2 < items.length) frontier.push(2 * i + 2);
    }
  }
}

export class HeldForRoom {
  private readonly byIno = new Map<number, HeldPromotion>();
  /** per tier, the files that would go there */
  private readonly byTier = new Map<string, RankedList>();

  get size(): number {
    return this.byIno.size;
  }

  set(ino: number, held: HeldPromotion): void {
    this.delete(ino);
    this.byIno.set(ino, held);
    for (const t of held.targets) {
      let list = this.byTier.get(t);
      if (!list) this.byTier.set(t, (list = new RankedList()));
      list.add(held.rank, ino);
    }
  }

  delete(ino: number): void {
    const held = this.byIno.get(ino);
    if (!held) return;
    this.byIno.delete(ino);
    for (const t of held.targets) this.byTier.get(t)!.stale++;
  }

  clear(): void {
    this.byIno.clear();
    this.byTier.clear();
  }

  /** The files held that would go to `tier`, hottest first. */
  *hottest(tier: string): Generator<[number, HeldPromotion]> {
    const list = this.byTier.get(tier);
    if (!list) return;
    // A file held again at the same rank is in the list twice: given once.
    const given = new Set<number>();
    for (const ino of list.hottest(this.live)) {
      if (given.has(ino)) continue;
      given.add(ino);
      yield [ino, this.byIno.get(ino)!];
    }
  }

  private readonly live = (r: Ranked) => this.byIno.get(r.ino)?.rank === r.rank;
}
