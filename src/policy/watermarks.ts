// Capacity watermarks: what a tier will hold once the moves already decided have run,
// and when pressure relief stops. Pure: the classifier supplies usage and the queue.
//
// Every decision about room is made against the *projected* use of a tier — the bytes
// it holds, minus what queued and running moves take out, plus what they bring in — so
// that a pass which runs while the moves of the last one are still waiting does not
// decide the same thing again (which drained tiers: each pass demoted another batch).

export interface TierRoom {
  name: string;
  kind: 'local' | 'object';
  /** bytes the tier may hold; 0: no limit (an object tier without a configured capacity) */
  capacityBytes: number;
  /** bytes it holds now */
  usedBytes: number;
  /** physical space left on its volumes (local); Infinity where only the capacity limits */
  freeBytes: number;
  /** the largest file one of its volumes can take now (TierUsage.fitBytes); absent: freeBytes */
  fitBytes?: number;
  high: number;
  low: number;
  /**
   * Local tiers without a configured capacity: the filesystems (st_dev) whose use is
   * theirs. A move to a tier on one of them frees nothing there.
   */
  measuredBy?: number[];
  /** local tiers: the filesystems their volumes are on */
  filesystems?: number[];
}

/** Automatic moves queue behind manual ones (priority 0): rule moves at this priority. */
export const AUTO_PRIORITY = 10;

/**
 * Watermark moves run before rule moves, and those of slower tiers first: a promotion
 * may be counted into room that a watermark move is making. (A move counts only room
 * made by moves that run before it — running, or of a lower priority number — so no two
 * moves can each wait for the other; watermark moves count only running ones.)
 */
export const watermarkPriority = (tierIndex: number) => Math.max(1, AUTO_PRIORITY - 1 - tierIndex);

/** A move that changes where bytes are: queued, running, or planned in this pass. */
export interface Flow {
  ino: number;
  from: string;
  to: string;
  size: number;
  priority: number;
  running?: boolean;
  /**
   * The room this move makes is kept for the promotion it was made for: no other move
   * may count it (else the files that made room could take it back, and be moved out
   * again to make it once more).
   */
  reserved?: boolean;
}

/** Who asked for a move, as written in the queue and the journal. */
export const reliefTag = (tier: string) => `watermark:${tier}`;
/** Colder files that leave a tier so that a hotter one can come in. */
export const roomTag = (tier: string) => `watermark:${tier}:room`;
export const isWatermarkTag = (requestedBy: string) => requestedBy.startsWith('watermark:');

export const pct = (bytes: number, capacity: number) => `${((100 * bytes) / capacity).toFixed(1)}%`;
const mark = (share: number) => `${Math.round(share * 1000) / 10}%`;

const RUNNING = -1;
const RESERVED = Infinity;

/** Bytes per tier once the moves counted here have run. */
export class Projection {
  private readonly byName: Map<string, TierRoom>;
  private readonly flows = new Map<number, Flow>();
  private readonly ins = new Map<string, number>();
  /** per tier, bytes leaving by the priority of their move (RUNNING: already under way) */
  private readonly outs = new Map<string, Map<number, number>>();
  /** flows counted (true) and taken out (false) since tentative() began, to undo */
  private log: [Flow, boolean][] | undefined;

  constructor(readonly tiers: TierRoom[]) {
    this.byName = new Map(tiers.map((t) => [t.name, t]));
  }

  tier(name: string): TierRoom | undefined {
    return this.byName.get(name);
  }

  flow(ino: number): Flow | undefined {
    return this.flows.get(ino);
  }

  private bump(f: Flow, sign: 1 | -1): void {
    const key = f.running ? RUNNING : f.reserved ? RESERVED : f.priority;
    let out = this.outs.get(f.from);
    if (!out) this.outs.set(f.from, (out = new Map()));
    out.set(key, (out.get(key) ?? 0) + sign * f.size);
    this.ins.set(f.to, (this.ins.get(f.to) ?? 0) + sign * f.size);
  }

  /** Count a move (replacing any other counted for the same file). */
  add(f: Flow): void {
    this.remove(f.ino);
    this.flows.set(f.ino, f);
    this.bump(f, 1);
    this.log?.push([f, true]);
  }

  remove(ino: number): void {
    const f = this.flows.get(ino);
    if (!f) return;
    this.flows.delete(ino);
    this.bump(f, -1);
    this.log?.push([f, false]);
  }

  /** Bytes leaving the tier by moves that run before one of `priority` (all but reserved ones by default). */
  private leaving(tier: string, priority = RESERVED): number {
    let sum = 0;
    for (const [key, bytes] of this.outs.get(tier) ?? []) if (key < priority) sum += bytes;
    return sum;
  }

  /** What the tier holds of its own once what leaves it has gone (arrivals not counted). */
  staying(tier: string): number {
    return (this.byName.get(tier)?.usedBytes ?? 0) - this.leaving(tier);
  }

  incoming(tier: string): number {
    return this.ins.get(tier) ?? 0;
  }

  /** Projected use: held − out + in. */
  used(tier: string): number {
    return this.staying(tier) + this.incoming(tier);
  }

  /**
   * Bytes the tier could still take, as projected: up to its high watermark (a tier
   * without a capacity: its free space). The classifier compares it between passes to
   * tell when room appeared for the moves it held back.
   */
  headroom(tier: string): number {
    const t = this.byName.get(tier);
    if (!t) return 0;
    if (t.capacityBytes === 0) return t.kind === 'object' ? Infinity : t.freeBytes - (this.used(tier) - t.usedBytes);
    return t.capacityBytes * t.high - this.used(tier);
  }

  /** Is the tier, as projected, above its high watermark? */
  aboveHigh(tier: string): boolean {
    const t = this.byName.get(tier);
    return t !== undefined && t.capacityBytes > 0 && this.used(tier) > t.capacityBytes * t.high;
  }

  /**
   * Can a move of `priority` bring `size` more bytes in without passing the high
   * watermark or the space left, counting every arrival but only the departures that
   * run before it? A local tier of unknown size takes nothing; an object tier without
   * a capacity takes all.
   */
  room(tier: string, size: number, priority = AUTO_PRIORITY): boolean {
    const t = this.byName.get(tier);
    if (!t) return false;
    const net = this.incoming(tier) - this.leaving(tier, priority);
    if (t.freeBytes - net <= size) return false;
    // A file goes to one volume: free space spread over several is not room for it.
    if (t.fitBytes !== undefined && t.fitBytes <= size) return false;
    if (t.capacityBytes === 0) return t.kind === 'object';
    return t.usedBytes + net + size <= t.capacityBytes * t.high;
  }

  /**
   * Count moves tentatively: undo() takes back every add and remove since, keep() keeps
   * them. A log of the changes rather than a copy of the maps: a pass tries a promotion
   * for each of thousands of requests against tens of thousands of queued moves.
   */
  tentative(): { undo(): void; keep(): void } {
    if (this.log) throw new Error('Projection.tentative() does not nest');
    const log: [Flow, boolean][] = (this.log = []);
    return {
      undo: () => {
        this.log = undefined;
        for (let c = log.pop(); c; c = log.pop()) {
          const [f, added] = c;
          if (added) this.flows.delete(f.ino);
          else this.flows.set(f.ino, f);
          this.bump(f, added ? -1 : 1);
        }
      },
      keep: () => {
        this.log = undefined;
      },
    };
  }

  /** "hot at 95.4%" */
  describe(tier: string): string {
    const t = this.byName.get(tier)!;
    return t.capacityBytes > 0 ? `${tier} at ${pct(this.used(tier), t.capacityBytes)}` : `${tier} (no capacity limit)`;
  }

  highMark(tier: string): string {
    return mark(this.byName.get(tier)!.high);
  }

  lowMark(tier: string): string {
    return mark(this.byName.get(tier)!.low);
  }
}

/**
 * Must pressure relieve the tier? When what stays of its own is above the high
 * watermark, or a relief started earlier is still under way (the band between the
 * watermarks is what keeps a tier from flapping around one level).
 */
export function needsRelief(p: Projection, tier: string, relieving: boolean): boolean {
  const t = p.tier(tier);
  if (!t || t.capacityBytes === 0) return false;
  return p.staying(tier) > t.capacityBytes * t.high || (relieving && p.used(tier) > t.capacityBytes * t.low);
}

/**
 * Should relief take one more file of `size` off the tier? It stops at the low
 * watermark within one file: a file leaves while the tier stays at or above low
 * without it — or, while the tier is above its high watermark, whatever it leaves.
 */
export function reliefTakes(p: Projection, tier: string, size: number): boolean {
  const t = p.tier(tier)!;
  const used = p.used(tier);
  const low = t.capacityBytes * t.low;
  if (used <= low) return false;
  return used - size >= low || used > t.capacityBytes * t.high;
}
