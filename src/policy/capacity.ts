// Capacity planning for one classification pass: which files leave a tier under
// pressure and where they go, which promotions find room, and which queued watermark
// moves are no longer needed. Pure: the classifier supplies the tiers' use, the queue
// and each tier's files coldest first, and carries the plan out.
//
//  - Relief: a tier above its high watermark sheds its coldest files (heat, then idle
//    time, then size) to the first tier below with room, and stops at its low watermark
//    within one file. Files a rule keeps there leave only after every file no rule
//    keeps, and only while the tier is above its high watermark; pinned and open files
//    never. Minimum residency does not hold relief back: it guards against bouncing
//    between moves the policy chose, and a full tier is not a choice.
//  - Room for promotions: a file a rule wants on a full tier comes in only when files
//    clearly colder than it (beyond the hysteresis) can leave for a tier below, and
//    only up to the high watermark, so the watermark never pushes the newcomer back out.
//  - Nothing is demoted into a full tier: the next tier down with room is used, or the
//    move waits and the tier's note says why.
// Moves planned by an earlier pass that have not started are planned again from the
// current state: those the new plan does not contain are dropped.
import { AUTO_PRIORITY, isWatermarkTag, needsRelief, pct, Projection, reliefTag, reliefTakes, roomTag, watermarkPriority, type Flow, type TierRoom } from './watermarks.js';

export interface Candidate {
  ino: number;
  size: number;
  /** decayed to now */
  heat: number;
  /** why the file cannot leave at all (pinned, open for writing); null: it can */
  stuck: string | null;
  /** the rule that wants the file on this tier or a faster one */
  keptBy: string | null;
  /** still inside its minimum residency on this tier */
  young: boolean;
}

/** A move in the queue (or running), as capacity planning counts it. */
export interface PendingFlow extends Flow {
  id: number;
  heat: number;
  requestedBy: string;
  running: boolean;
}

/** A file a rule wants on a faster tier that has no room for it now. */
export interface PromotionRequest {
  ino: number;
  from: string;
  size: number;
  heat: number;
  /** tiers to try, the rule's target first, then those between it and the file's tier */
  targets: readonly string[];
}

export interface PlannedMove extends Flow {
  requestedBy: string;
  reason: string;
}

export interface CapacityInput {
  /** fastest first */
  tiers: TierRoom[];
  pending: PendingFlow[];
  /** a tier's files, coldest first; read only as far as the plan needs */
  coldest(tier: string): Iterable<Candidate>;
  hysteresis: number;
  requests: PromotionRequest[];
}

export interface CapacityPlan {
  /** moves to queue, those queued before and still wanted included */
  moves: PlannedMove[];
  /** queued moves no longer needed (watermark moves not planned again, and promotions that lost their room) */
  drop: PendingFlow[];
  /** promotion requests that found room, and on which tier */
  admitted: Map<number, string>;
  /** per tier, what pressure does there now, for status */
  notes: Map<string, string>;
  projection: Projection;
}

/** A tier's candidates, read once and shared by everything that walks them in one pass. */
class Cursor implements Iterable<Candidate> {
  private readonly seen: Candidate[] = [];
  private readonly it: Iterator<Candidate>;
  private done = false;

  constructor(source: Iterable<Candidate>) {
    this.it = source[Symbol.iterator]();
  }

  *[Symbol.iterator](): Iterator<Candidate> {
    for (let i = 0, c; (c = this.at(i)) !== undefined; i++) yield c;
  }

  /** The i-th coldest candidate, undefined past the last (an index, not an iterator: a pass asks from a thousand places). */
  at(i: number): Candidate | undefined {
    while (i >= this.seen.length && !this.done) {
      const r = this.it.next();
      if (r.done) this.done = true;
      else this.seen.push(r.value);
    }
    return this.seen[i];
  }
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

class Planner {
  readonly proj: Projection;
  /** automatic watermark moves not started: planned again from scratch */
  private readonly revocable = new Map<number, PendingFlow>();
  /** files already leaving their tier for good (running, asked for by a rule or a person) */
  private readonly leaving = new Set<number>();
  private readonly planned = new Map<number, PlannedMove>();
  /** the moves planned while a promotion is tried (admit), to take back if it fails */
  private tentativelyPlanned: number[] | undefined;
  /** tiers with a relief under way (a relief move queued or running) */
  private readonly relieving = new Set<string>();
  private readonly cursors = new Map<string, Cursor>();
  /**
   * Per tier, how many of its coldest files no promotion can move in this pass — leaving
   * already, or stuck (pinned, open), empty or young, and not planned — and how many of
   * those are leaving: every promotion's search for room starts after them, instead of
   * walking past the same young files again for each of a thousand promotions.
   */
  private readonly unmovable = new Map<string, { count: number; leaving: number }>();
  private readonly waits = new Map<string, string>();
  readonly drop: PendingFlow[] = [];
  readonly admitted = new Map<number, string>();

  constructor(private readonly input: CapacityInput) {
    this.proj = new Projection(input.tiers);
    for (const f of input.pending) {
      if (f.requestedBy === reliefTag(f.from)) this.relieving.add(f.from);
      if (!f.running && f.priority > 0 && isWatermarkTag(f.requestedBy)) this.revocable.set(f.ino, f);
      else {
        this.proj.add(f);
        this.leaving.add(f.ino);
      }
    }
  }

  private cursor(tier: string): Cursor {
    let c = this.cursors.get(tier);
    if (!c) this.cursors.set(tier, (c = new Cursor(this.input.coldest(tier))));
    return c;
  }

  private index(tier: string): number {
    return this.input.tiers.findIndex((t) => t.name === tier);
  }

  /**
   * The first tier below `from` with room for the file now: counting what arrives, but
   * of what leaves only moves already running. A demotion that had to wait for room
   * would let hotter files of the same relief go first, and the colder one would stay.
   */
  private placeBelow(c: Candidate, from: string): string | null {
    const measuredBy = this.input.tiers[this.index(from)]?.measuredBy ?? [];
    for (const t of this.input.tiers.slice(this.index(from) + 1)) {
      // Two tiers measured by one disk: a move between them leaves the disk as full.
      if (t.filesystems?.some((fs) => measuredBy.includes(fs))) continue;
      if (this.proj.room(t.name, c.size, 0)) return t.name;
    }
    return null;
  }

  private take(c: Candidate, from: string, to: string, requestedBy: string, reason: string): void {
    const m: PlannedMove = { ino: c.ino, from, to, size: c.size, priority: watermarkPriority(this.index(from)), requestedBy, reason };
    this.proj.add(m);
    this.planned.set(c.ino, m);
    this.tentativelyPlanned?.push(c.ino);
  }

  /** Is the file free to leave now (not leaving already, not planned, not stuck)? */
  private free(c: Candidate): boolean {
    return !this.leaving.has(c.ino) && !this.planned.has(c.ino) && c.stuck === null && c.size > 0;
  }

  run(): CapacityPlan {
    // Slowest first. (The order matters little: demotions go only into room there is
    // now, not into room a relief planned in this pass will make.)
    for (const t of [...this.input.tiers].reverse()) {
      if (t.capacityBytes === 0) continue;
      if (needsRelief(this.proj, t.name, this.relieving.has(t.name))) this.relieve(t.name);
      else if (!this.proj.room(t.name, 0)) this.readmitArrivals(t.name);
    }
    for (const r of [...this.input.requests].sort((a, b) => b.heat - a.heat)) {
      for (const to of r.targets) {
        if (this.admit(r, to)) {
          this.admitted.set(r.ino, to);
          break;
        }
      }
    }
    // A move planned again, even to another tier, keeps its place in the queue (the
    // mover runs a tier's relief coldest first, in the order it was planned).
    for (const f of this.revocable.values()) if (!this.planned.has(f.ino)) this.drop.push(f);
    return { moves: [...this.planned.values()], drop: this.drop, admitted: this.admitted, notes: this.notes(), projection: this.proj };
  }

  /** Shed the coldest files of a tier above its high watermark, down to its low one. */
  private relieve(tier: string): void {
    const t = this.proj.tier(tier)!;
    const high = this.proj.highMark(tier);
    let wentFirst = 0;
    const kept: Candidate[] = [];
    const reason = (c: Candidate, extra: string) => {
      const state = this.proj.aboveHigh(tier)
        ? `${this.proj.describe(tier)}, above its high watermark ${high}`
        : `${this.proj.describe(tier)}, relieving down to its low watermark ${this.proj.lowMark(tier)}`;
      const first = wentFirst === 0 ? `the coldest file on ${tier}` : `${plural(wentFirst, 'colder file')} went first`;
      const young = c.young ? `; minimum residency waived: relieving pressure on ${tier}` : '';
      return `demoted by the ${tier} watermark: ${first} (${state}; heat ${c.heat.toFixed(2)})${young}${extra}`;
    };
    let waiting = false;
    for (const c of this.cursor(tier)) {
      if (this.leaving.has(c.ino) || this.planned.has(c.ino)) {
        wentFirst++; // colder, and already on its way out
        continue;
      }
      if (!this.free(c)) continue;
      if (c.keptBy) {
        kept.push(c);
        continue;
      }
      if (!reliefTakes(this.proj, tier, c.size)) break;
      const to = this.placeBelow(c, tier);
      if (!to) {
        this.wait(tier, `its coldest file waits: no tier below has room for ${c.size} bytes`);
        waiting = true;
        break;
      }
      this.take(c, tier, to, reliefTag(tier), reason(c, ''));
      wentFirst++;
    }
    // Files rules keep here go only while the tier is above its high watermark, and
    // only after every file no rule keeps.
    for (const c of waiting ? [] : kept) {
      if (!this.proj.aboveHigh(tier)) break;
      const to = this.placeBelow(c, tier);
      if (!to) {
        this.wait(tier, `its coldest file waits: no tier below has room for ${c.size} bytes`);
        break;
      }
      this.take(c, tier, to, reliefTag(tier), reason(c, `; rule ${c.keptBy} keeps it on ${tier}, but every file no rule keeps is gone and ${tier} is still above ${high}`));
      wentFirst++;
    }
    if (t.capacityBytes > 0 && this.proj.aboveHigh(tier) && !this.waits.has(tier)) {
      this.wait(tier, 'nothing more can leave: the rest is pinned, open for writing or on its way out');
    }
  }

  /** Why relief of a tier stops short, as the tier stands now (status). */
  private wait(tier: string, why: string): void {
    const state = this.proj.aboveHigh(tier) ? `above its high watermark ${this.proj.highMark(tier)}` : `relieving down to its low watermark ${this.proj.lowMark(tier)}`;
    this.waits.set(tier, `${this.proj.describe(tier)}, ${state}: ${why}`);
  }

  /**
   * A tier pushed above its high watermark by the rule moves queued into it: they are
   * let in again hottest first, each as a new one would be — into plain room, or room
   * made from files clearly colder than it — and those that find none are dropped.
   */
  private readmitArrivals(tier: string): void {
    const arriving = this.input.pending.filter((f) => f.to === tier && !f.running && f.priority > 0 && !isWatermarkTag(f.requestedBy) && this.proj.flow(f.ino) !== undefined);
    for (const f of arriving) this.proj.remove(f.ino);
    for (const f of arriving.sort((a, b) => b.heat - a.heat)) {
      if (!this.admit(f, tier, f.priority)) {
        this.leaving.delete(f.ino);
        this.drop.push(f);
      }
    }
  }

  /** Move files clearly colder than `heat` off the tier (coldest first) until a move of `priority` finds it back under its high watermark. */
  private evictColder(tier: string, heat: number, priority: number): void {
    if (this.proj.room(tier, 0, priority)) return;
    let skip = this.unmovable.get(tier);
    if (!skip) this.unmovable.set(tier, (skip = { count: 0, leaving: 0 }));
    let wentFirst = skip.leaving;
    const cursor = this.cursor(tier);
    for (let i = skip.count, c; (c = cursor.at(i)) !== undefined; i++) {
      const leaving = this.leaving.has(c.ino);
      if (i === skip.count && (leaving || (!this.planned.has(c.ino) && (c.stuck !== null || c.size <= 0 || c.young)))) {
        skip.count++;
        if (leaving) skip.leaving++;
      }
      if (leaving || this.planned.has(c.ino)) {
        wentFirst++;
        continue;
      }
      if (!this.free(c) || c.young) continue;
      if (!(c.heat * (1 + this.input.hysteresis) < heat)) return;
      const to = this.placeBelow(c, tier);
      if (!to) return;
      const first = wentFirst === 0 ? `the coldest file on ${tier}` : `${plural(wentFirst, 'colder file')} went first`;
      this.take(c, tier, to, roomTag(tier), `demoted by the ${tier} watermark to make room for a hotter file: ${first} (heat ${c.heat.toFixed(2)} against ${heat.toFixed(2)}; ${this.proj.describe(tier)})`);
      wentFirst++;
      if (this.proj.room(tier, 0, priority)) return;
    }
  }

  /** Room for a promotion on `to`, making it from clearly colder files there if need be. */
  private admit(r: Pick<PromotionRequest, 'ino' | 'from' | 'size' | 'heat'>, to: string, priority = AUTO_PRIORITY): boolean {
    if (!this.proj.tier(to)) return false;
    const flow = { ino: r.ino, from: r.from, to, size: r.size, priority };
    if (this.proj.room(to, r.size, priority)) {
      this.proj.add(flow);
      return true;
    }
    const attempt = this.proj.tentative();
    const planned: number[] = (this.tentativelyPlanned = []);
    try {
      this.proj.add(flow);
      this.evictColder(to, r.heat, priority);
      if (this.proj.room(to, 0, priority)) {
        attempt.keep();
        return true;
      }
      attempt.undo();
      for (const ino of planned) this.planned.delete(ino);
      return false;
    } finally {
      this.tentativelyPlanned = undefined;
    }
  }

  private notes(): Map<string, string> {
    const notes = new Map<string, string>();
    for (const t of this.input.tiers) {
      if (t.capacityBytes === 0) continue;
      const out = [...this.planned.values()].filter((m) => m.from === t.name);
      const running = this.input.pending.filter((f) => f.from === t.name && f.running && f.requestedBy === reliefTag(t.name)).length;
      const parts: string[] = [];
      if (out.length + running > 0) {
        const bytes = out.reduce((a, m) => a + m.size, 0);
        parts.push(`relieving pressure: ${plural(out.length + running, 'file')} leaving (${bytes} bytes queued), ${t.name} will be at ${pct(this.proj.used(t.name), t.capacityBytes)}`);
      }
      const wait = this.waits.get(t.name);
      if (wait) parts.push(wait);
      if (parts.length) notes.set(t.name, parts.join('; '));
    }
    return notes;
  }
}

export function planCapacity(input: CapacityInput): CapacityPlan {
  return new Planner(input).run();
}
