// The promotions a classification pass held back for want of room, kept between passes so
// that the next pass offers them again when room appears — hottest first, and only as
// many as that room can take, out of as many as a tree has files waiting. Their heat is
// kept as a rank that never needs decaying (heat halves alike for every file), so they
// stay in order between passes: a pass reads them from the hottest down and stops early,
// instead of walking and sorting them all.

import { Heap } from './heap.js';

/** A promotion held back for room: the tiers that would take it, its size, and its heat as a rank (NaN: not held now). */
export interface HeldPromotion {
  targets: readonly string[];
  size: number;
  rank: number;
  /** which hold this is: the ranked lists' entries of earlier holds of the file are stale */
  seq: number;
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

/**
 * Files by rank, hottest first (equal ranks: in the order they were held); an entry of
 * a hold that is no longer the file's is passed over. A heap: holding a file is a
 * push, and a walk that stops after k files reads about k log k entries, never the whole
 * list (a pass holds and releases thousands of files, and sorting them all at every pass
 * cost more than the rest of the pass). Entries are three parallel arrays, not an object
 * each: millions are pushed over a long run, and objects that outlive a collection of
 * the young generation cost it a copy. Stale entries are dropped once they are half.
 */
class RankedList {
  private ranks: number[] = [];
  private seqs: number[] = [];
  private inos: number[] = [];
  /** entries whose file left or was held again since */
  stale = 0;

  get length(): number {
    return this.ranks.length;
  }

  /** live(ino, seq): is that hold still the file's? */
  constructor(private readonly live: (ino: number, seq: number) => boolean) {}

  /** Does entry i come out before entry j? */
  private hotter(i: number, j: number): boolean {
    const a = this.ranks[i]!;
    const b = this.ranks[j]!;
    return a > b || (a === b && this.seqs[i]! < this.seqs[j]!);
  }

  private swap(i: number, j: number): void {
    const { ranks, seqs, inos } = this;
    const rank = ranks[i]!;
    const seq = seqs[i]!;
    const ino = inos[i]!;
    ranks[i] = ranks[j]!;
    seqs[i] = seqs[j]!;
    inos[i] = inos[j]!;
    ranks[j] = rank;
    seqs[j] = seq;
    inos[j] = ino;
  }

  add(rank: number, ino: number, seq: number): void {
    if (this.stale >= 1024 && this.stale * 2 > this.ranks.length) this.compact();
    this.ranks.push(rank);
    this.seqs.push(seq);
    this.inos.push(ino);
    for (let i = this.ranks.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!this.hotter(i, up)) break;
      this.swap(i, up);
      i = up;
    }
  }

  /** Keep the live entries, and make them a heap again (bottom-up). */
  private compact(): void {
    let kept = 0;
    for (let i = 0; i < this.ranks.length; i++) {
      if (!this.live(this.inos[i]!, this.seqs[i]!)) continue;
      this.ranks[kept] = this.ranks[i]!;
      this.seqs[kept] = this.seqs[i]!;
      this.inos[kept++] = this.inos[i]!;
    }
    this.ranks.length = this.seqs.length = this.inos.length = kept;
    this.stale = 0;
    for (let i = (kept >> 1) - 1; i >= 0; i--) {
      for (let j = i; ; ) {
        let c = 2 * j + 1;
        if (c >= kept) break;
        if (c + 1 < kept && this.hotter(c + 1, c)) c++;
        if (!this.hotter(c, j)) break;
        this.swap(c, j);
        j = c;
      }
    }
  }

  /** Hottest first. The walk reads the heap in place: nothing may be held while it goes on. */
  *hottest(): Generator<number> {
    if (this.stale * 2 > this.ranks.length) this.compact();
    const n = this.ranks.length;
    // best first through the heap without changing it: the next hottest is always the
    // root of a subtree not yet entered
    const frontier = new Heap<number>((a, b) => this.hotter(a, b));
    if (n > 0) frontier.push(0);
    for (let i = frontier.pop(); i !== undefined; i = frontier.pop()) {
      if (this.live(this.inos[i]!, this.seqs[i]!)) yield this.inos[i]!;
      if (2 * i + 1 < n) frontier.push(2 * i + 1);
      if (2 * i + 2 < n) frontier.push(2 * i + 2);
    }
  }
}

export class HeldForRoom {
  /**
   * Files held now, and those held before (rank NaN): a pass releases and holds again
   * thousands of files, and a file held again takes its entry back instead of leaving the
   * map and coming into it again. forget() drops a file for good (it is gone).
   */
  private readonly byIno = new Map<number, HeldPromotion>();
  private held = 0;
  private seq = 0;
  /** per tier, the files that would go there */
  private readonly byTier = new Map<string, RankedList>();

  get size(): number {
    return this.held;
  }

  /** Entries in the ranked lists, stale ones included (what the lists hold in memory). */
  get entries(): number {
    let n = 0;
    for (const list of this.byTier.values()) n += list.length;
    return n;
  }

  set(ino: number, targets: readonly string[], size: number, rank: number): void {
    const seq = this.seq++;
    let h = this.byIno.get(ino);
    if (!h) this.byIno.set(ino, (h = { targets, size, rank, seq }));
    else {
      this.release(h);
      h.targets = targets;
      h.size = size;
      h.rank = rank;
      h.seq = seq;
    }
    this.held++;
    for (const t of targets) {
      let list = this.byTier.get(t);
      if (!list) this.byTier.set(t, (list = new RankedList(this.live)));
      list.add(rank, ino, seq);
    }
  }

  /** The file is held no more (it is decided again, or found room). */
  delete(ino: number): void {
    const h = this.byIno.get(ino);
    if (h) this.release(h);
  }

  /** The file is gone. */
  forget(ino: number): void {
    this.delete(ino);
    this.byIno.delete(ino);
  }

  private release(h: HeldPromotion): void {
    if (Number.isNaN(h.rank)) return;
    for (const t of h.targets) this.byTier.get(t)!.stale++;
    h.rank = NaN;
    this.held--;
  }

  clear(): void {
    for (const h of this.byIno.values()) h.rank = NaN;
    this.held = 0;
    this.byTier.clear();
  }

  /** The files held that would go to `tier`, hottest first. */
  *hottest(tier: string): Generator<[number, HeldPromotion]> {
    const list = this.byTier.get(tier);
    if (!list) return;
    for (const ino of list.hottest()) yield [ino, this.byIno.get(ino)!];
  }

  private readonly live = (ino: number, seq: number) => {
    const h = this.byIno.get(ino);
    return h !== undefined && h.seq === seq && !Number.isNaN(h.rank);
  };
}
