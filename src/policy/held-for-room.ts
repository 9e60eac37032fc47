// The promotions a classification pass held back for want of room, kept between passes so
// that the next pass offers them again when room appears — hottest first, and only as
// many as that room can take, out of as many as a tree has files waiting. Their heat is
// kept as a rank that never needs decaying (heat halves alike for every file), so they
// stay in order between passes: a pass reads them from the hottest down and stops early,
// instead of walking and sorting them all.

/** A promotion held back for room: the tiers that would take it, its size, and its heat as a rank. */
export interface HeldPromotion {
  targets: string[];
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

type Ranked = [rank: number, ino: number];
const hottestFirst = (a: Ranked, b: Ranked) => b[0] - a[0];

/** Files by rank, hottest first; an entry whose file is no longer held at that rank is passed over. */
class RankedList {
  private sorted: Ranked[] = [];
  /** added since `sorted` was sorted */
  private recent: Ranked[] = [];
  /** entries of `sorted` whose file left or was held again since */
  stale = 0;

  add(rank: number, ino: number): void {
    this.recent.push([rank, ino]);
  }

  *hottest(live: (r: Ranked) => boolean): Generator<number> {
    // Sorted again once an eighth of it has changed: each entry's share of a sort stays small.
    if ((this.recent.length + this.stale) * 8 > this.sorted.length) {
      this.sorted = [...this.sorted, ...this.recent].filter(live).sort(hottestFirst);
      this.recent = [];
      this.stale = 0;
    }
    const recent = this.recent.filter(live).sort(hottestFirst);
    for (let i = 0, j = 0; i < this.sorted.length || j < recent.length; ) {
      const r = j >= recent.length || (i < this.sorted.length && this.sorted[i]![0] >= recent[j]![0]) ? this.sorted[i++]! : recent[j++]!;
      if (live(r)) yield r[1];
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

  private readonly live = ([rank, ino]: Ranked) => this.byIno.get(ino)?.rank === rank;
}
