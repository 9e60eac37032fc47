// The classifier: decides where files belong and queues the moves. It works from the
// catalog with indexed queries, so an incremental pass costs what changed — files whose
// heat or bytes changed (the dirty set) and files whose idle or age crossed a rule's
// threshold since the last pass — not the size of the tree. A full pass (heat decays
// with time, not with events) runs less often. Every pass ends with capacity planning
// (capacity.ts): relief of tiers under pressure and room for promotions, against what
// the tiers will hold once the queue has run.
import type { Catalog, ClassificationRow } from '../catalog/catalog.js';
import type { PolicyConfig } from '../config/policy.js';
import type { TierConfig } from '../config/schema.js';
import { distinctFilesystems, type LocalTier } from '../tiers/local/local-tier.js';
import { planCapacity, type Candidate, type PendingFlow, type PromotionRequest } from './capacity.js';
import { heatAt } from './heat.js';
import { AppearedRoom, HeldForRoom, rankOf } from './held-for-room.js';
import { Heap } from './heap.js';
import { decide, residencyLeft, type Decision, type FileFacts } from './rules.js';
import { ImpactTally, type PolicyImpact } from './preview.js';
import { AUTO_PRIORITY, isWatermarkTag, pct, Projection, reliefTag, roomTag, type Flow, type TierRoom } from './watermarks.js';

/** Files classified per transaction in a full pass. */
const PAGE = 5000;

interface Pins {
  /** pinned directories as (path prefix ending in '/', tier) */
  dirs: [string, string][];
  files: Map<number, string>;
}

function pinOf(ino: number, path: string, pins: Pins): string | null {
  const own = pins.files.get(ino);
  if (own !== undefined) return own;
  for (const [prefix, tier] of pins.dirs) if (path.startsWith(prefix)) return tier;
  return null;
}

/** Coldest files read per query when capacity planning walks a tier (doubled as it needs more). */
const COLDEST_PAGE = 64;

/** Promotions that wait for room, examined per pass: the hottest of them. */
const MAX_REQUESTS = 1000;

/**
 * The hottest MAX_REQUESTS promotions waiting for room that a pass offered (ties: the
 * first offered), which its capacity planning weighs. (Taking the first ones met let a
 * full pass, which meets files in inode order, weigh the oldest files only, however
 * cold.) A heap with the first to give up on top: an offer costs a comparison, or a
 * heap step when it displaces one; a pass offers up to one per file.
 */
class HottestRequests {
  private seq = 0;
  private readonly kept = new Heap<Request>((a, b) => a.heat < b.heat || (a.heat === b.heat && a.seq > b.seq));

  offer(f: FileFacts, targets: readonly string[]): void {
    const req: Request = { ino: f.ino, from: f.tier, size: f.size, heat: f.heat, targets, facts: f, seq: this.seq++ };
    if (this.kept.size === MAX_REQUESTS) {
      const worst = this.kept.peek()!;
      if (!(req.heat > worst.heat)) return; // equal heat: the one offered first stays
      this.kept.pop();
    }
    this.kept.push(req);
  }

  /** Those kept that `keep` accepts, hottest first. */
  hottest(keep: (r: Request) => boolean): Request[] {
    return this.kept.items.filter(keep).sort((a, b) => b.heat - a.heat || a.seq - b.seq);
  }
}

export { AUTO_PRIORITY } from './watermarks.js';

export interface PassReport {
  full: boolean;
  examined: number;
  enqueued: number;
  demotions: number;
  ms: number;
}

/**
 * What the classifier asks of the tiers: which exist, and a local tier's use. The
 * daemon's TierSet; the policy simulator (src/sim) gives tiers of simulated size.
 */
export interface ClassifierTiers {
  has(name: string): boolean;
  get(name: string): { kind: 'local'; local: Pick<LocalTier, 'usage' | 'volumeUsage'> } | { kind: 'object' };
}

/** What the classifier reads and writes of the catalog (the simulator's in-memory catalog answers the same). */
export type PolicyCatalog = Pick<
  Catalog,
  | 'tx'
  | 'takeDirty'
  | 'takeDirectoryRenamed'
  | 'pinnedInodes'
  | 'getInode'
  | 'pathOf'
  | 'usageByTier'
  | 'pendingMoves'
  | 'classificationPage'
  | 'classificationRow'
  | 'coldest'
  | 'cooledBetween'
  | 'lastUsedBetween'
  | 'changedBetween'
  | 'arrivedBetween'
  | 'saveDecision'
  | 'decision'
  | 'enqueueMove'
  | 'dropAutomaticMove'
  | 'queuedMoveOf'
  | 'dequeueIf'
>;

export interface ClassifierDeps {
  catalog: PolicyCatalog;
  tiers: ClassifierTiers;
  tierConfigs: TierConfig[];
  policy: PolicyConfig;
  /** Why an open file cannot move now ('open for writing'…), or null (Vfs.openHold). */
  openHold(ino: number): string | null;
}

/**
 * A move held back by a file's minimum residency on its tier, put into words only where
 * a decision is stored: a pass meets thousands of young files, and the same hold stays
 * the same outcome until the file moves (its end is fixed by its arrival).
 */
class Residency {
  constructor(
    readonly tier: string,
    readonly untilMs: number,
  ) {}

  toString(): string {
    return `minimum residency on ${this.tier} until ${iso(this.untilMs)}`;
  }
}

/** Why a move a decision asks for is not queued yet (kept with the decision, for tierfs where). */
type Hold = string | Residency | null;

const sameHold = (a: Hold, b: Hold) => a === b || (a instanceof Residency && b instanceof Residency && a.tier === b.tier && a.untilMs === b.untilMs);

/** A promotion that found no plain room, with the decision that asked for it. */
interface Request extends PromotionRequest {
  /** the facts it was decided on (decided again, in words, if admitted) */
  facts: FileFacts;
  /** the order it was offered in */
  seq: number;
}

/**
 * A queued move as rule moves count it: the room made for a promotion is that
 * promotion's (reserved). Copied only then: a pass may read tens of thousands of rows,
 * and capacity planning reads the same rows as they are.
 */
const counted = (f: PendingFlow): Flow => (!f.running && f.requestedBy === roomTag(f.from) ? { ...f, reserved: true } : f);

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The outcome of the decision last stored per file (target, rule, what holds it back): a
 * pass writes a decision only when its outcome changed, so a full pass over a settled
 * tree reads the catalog and writes almost nothing. (The stored heat and idle figures
 * then date from when the outcome last changed; explain() gives live ones.) Kept as the
 * three strings, compared in place: no key is built per file and pass, and an outcome
 * that names a time (a minimum residency "until …") is one file's alone, bounded by files.
 */
class SavedOutcomes {
  private readonly byIno = new Map<number, { target: string | null; rule: string; hold: Hold }>();

  /** Record the outcome for ino; true when it differs from the one stored before. */
  changed(ino: number, target: string | null, rule: string, hold: Hold): boolean {
    const was = this.byIno.get(ino);
    if (!was) this.byIno.set(ino, { target, rule, hold });
    else if (was.target === target && was.rule === rule && sameHold(was.hold, hold)) return false;
    else {
      was.target = target;
      was.rule = rule;
      was.hold = hold;
    }
    return true;
  }

  forget(ino: number): void {
    this.byIno.delete(ino);
  }
}

export class Classifier {
  private lastPassMs = 0;
  private inFlight: Promise<PassReport> | undefined;
  private readonly saved = new SavedOutcomes();
  private order: string[] = [];
  /** noRoom's words, by target */
  private readonly noRoomSaid = new Map<string, { promotion: string; demotion: string }>();
  /** targetsFor's answers, by the file's tier and the rule's target */
  private readonly targets = new Map<string, Map<string, readonly string[]>>();
  /** per tier, what capacity pressure does there, as of the last pass (status) */
  pressure = new Map<string, string>();
  /**
   * Moves a pass held back for room. Nothing about such a file changes when room appears
   * (a delete, a truncation, a move dropped, a resident's minimum residency ended), so
   * incremental passes look at them again when that happens — not only the daily full pass.
   */
  private readonly heldForRoom = new HeldForRoom();
  /** Moves held back because the file was open: looked at again by the next pass. */
  private readonly heldOpen = new Set<number>();
  /** each tier's projected headroom as the last pass left it */
  private readonly headroom = new Map<string, number>();

  constructor(private readonly d: ClassifierDeps) {
    this.tiersChanged();
  }

  /** The tier list grew (tierfs config apply): plan over every tier from the next pass on. */
  tiersChanged(): void {
    this.order = this.d.tierConfigs.map((t) => t.name).filter((n) => this.d.tiers.has(n));
    this.targets.clear();
  }

  /** Pinned directories' paths (with '/') and pinned files by ino, for one pass. */
  private pins(): Pins {
    const dirs: [string, string][] = [];
    const files = new Map<number, string>();
    for (const { ino, pin } of this.d.catalog.pinnedInodes()) {
      const i = this.d.catalog.getInode(ino);
      if (!i) continue;
      if ((i.mode & 0o170000) === 0o040000) dirs.push([ino === 1 ? '' : `${this.d.catalog.pathOf(ino)}/`, pin]);
      else files.set(ino, pin);
    }
    return { dirs, files };
  }

  /** The row, its heat decayed to now and its pin found (in place: a pass reads each row once). */
  private facts(r: ClassificationRow, nowMs: number, pins: Pins): FileFacts {
    r.heat = heatAt(r.heat, r.heatMs, nowMs, this.d.policy.halfLife);
    r.heatMs = nowMs;
    r.pin = pinOf(r.ino, r.path, pins);
    return r;
  }

  /**
   * Each tier's capacity and use now. The catalog keeps bytes per tier in one row each
   * (triggers), so this is cheap enough for every pass — and must be fresh: planning on
   * an old figure demoted again what had already left.
   */
  private rooms(): TierRoom[] {
    const usage = this.d.catalog.usageByTier();
    return this.d.tierConfigs
      .filter((cfg) => this.d.tiers.has(cfg.name))
      .map((cfg): TierRoom => {
        const t = this.d.tiers.get(cfg.name);
        const bytes = usage.get(cfg.name)?.bytes ?? 0;
        const { high, low } = cfg.watermarks;
        if (t.kind === 'local') {
          const u = t.local.usage(bytes);
          // Planning with a volume missing would move files on figures that are wrong;
          // the pass fails (and is retried) until the volume is back.
          if (u.unreachable) throw new Error(`tier ${cfg.name}: volume ${u.unreachable[0]!.path} unreachable: ${u.unreachable[0]!.error}`);
          const filesystems = distinctFilesystems(t.local.volumeUsage()).map((v) => v.dev);
          const measuredBy = cfg.kind === 'local' && cfg.capacity === undefined ? { measuredBy: filesystems } : {};
          return { name: cfg.name, kind: 'local', ...u, high, low, filesystems, ...measuredBy };
        }
        return { name: cfg.name, kind: 'object', capacityBytes: cfg.capacity ?? 0, usedBytes: bytes, freeBytes: Infinity, high, low };
      });
  }

  /** The tiers' projected use: now, plus every move queued or running. */
  private projection(nowMs: number): { proj: Projection; pending: Map<number, PendingFlow> } {
    const proj = new Projection(this.rooms());
    const pending = new Map<number, PendingFlow>();
    for (const f of this.d.catalog.pendingMoves(nowMs, this.d.policy.halfLife)) {
      pending.set(f.ino, f);
      proj.add(counted(f));
    }
    return { proj, pending };
  }

  /** Where a promotion to `target` may go: the target, else the tiers between it and the file's tier. */
  private targetsFor(from: string, target: string): readonly string[] {
    // one list per pair of tiers, shared: held promotions keep them (never changed)
    let byTarget = this.targets.get(from);
    if (!byTarget) this.targets.set(from, (byTarget = new Map()));
    let list = byTarget.get(target);
    if (!list) {
      const [t, f] = [this.order.indexOf(target), this.order.indexOf(from)];
      byTarget.set(target, (list = Object.freeze(t >= 0 && f > t ? this.order.slice(t, f) : [target])));
    }
    return list;
  }

  /** A tier's files coldest first, as capacity planning sees them; read a page at a time. */
  private *candidates(tier: string, nowMs: number, pins: Pins): Generator<Candidate> {
    for (let limit = COLDEST_PAGE, from = 0; ; limit *= 2) {
      const rows = this.d.catalog.coldest(tier, nowMs, this.d.policy.halfLife, limit);
      for (const r of rows.slice(from)) {
        const f: FileFacts = { ...r, pin: pinOf(r.ino, r.path, pins) };
        const d = decide(f, this.d.policy, nowMs, false);
        const keeps = d.target !== null && d.rule !== 'pin' && this.order.indexOf(d.target) >= 0 && this.order.indexOf(d.target) <= this.order.indexOf(tier);
        yield {
          ino: r.ino,
          size: r.size,
          heat: r.heat,
          stuck: f.pin ? `pinned to ${f.pin}` : this.d.openHold(r.ino),
          keptBy: keeps ? d.rule : null,
          young: residencyLeft(f, this.d.policy, nowMs) > 0,
        };
      }
      if (rows.length < limit) return;
      from = rows.length;
    }
  }

  /**
   * What `next` would move that the running policy does not (tierfs config apply
   * --dry-run), over every file, a page at a time with the event loop given back in
   * between; nothing is queued or stored. Watermarks are the new ones for the projection.
   */
  async preview(next: PolicyConfig, watermarks: Map<string, number>, nowMs = Date.now()): Promise<PolicyImpact> {
    const pins = this.pins();
    // The new configuration's tiers: those it adds after the running ones can be targets too.
    const tally = new ImpactTally(this.d.policy, next, new Set([...this.order, ...watermarks.keys()]), nowMs);
    for (let after = 0, page; (page = this.d.catalog.classificationPage(after, PAGE)).length > 0; after = page.at(-1)!.ino) {
      for (const r of page) tally.add((halfLife) => ({ ...r, heat: heatAt(r.heat, r.heatMs, nowMs, halfLife), pin: pinOf(r.ino, r.path, pins) }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Use as watermarks see it: the catalog's bytes under a configured capacity, else the volumes' use.
    const rows = this.rooms().map((t) => ({ tier: t.name, bytesNow: t.usedBytes, capacityBytes: t.capacityBytes, high: watermarks.get(t.name) ?? t.high }));
    for (const [tier, high] of watermarks) if (!this.order.includes(tier)) rows.push({ tier, bytesNow: 0, capacityBytes: 0, high });
    return tally.result(rows);
  }

  /** The files an incremental pass must look at. */
  private changed(nowMs: number, proj: Projection): Set<number> {
    const since = this.lastPassMs;
    const { minResidency, halfLife } = this.d.policy;
    // Files whose minimum residency ended since the last pass may move now, and may now
    // leave to make room for a promotion held back on their tier.
    const residencyEnded = this.d.catalog.arrivedBetween(since - minResidency, nowMs - minResidency, nowMs, halfLife);
    const inos = new Set([...this.d.catalog.takeDirty(), ...this.heldOpen, ...this.roomAppeared(nowMs, proj, residencyEnded)]);
    for (const { ino } of residencyEnded) inos.add(ino);
    for (const rule of this.d.policy.rules) {
      for (const idle of [rule.match.idleAbove, rule.match.idleBelow]) {
        if (idle !== undefined) for (const ino of this.d.catalog.lastUsedBetween(since - idle, nowMs - idle)) inos.add(ino);
      }
      for (const age of [rule.match.ageAbove, rule.match.ageBelow]) {
        if (age !== undefined) for (const ino of this.d.catalog.changedBetween(since - age, nowMs - age)) inos.add(ino);
      }
    }
    // Heat decays with time: files whose heat fell past a rule's threshold (as hysteresis
    // leans it either way) since the last pass.
    for (const threshold of this.heatThresholds()) {
      for (const ino of this.d.catalog.cooledBetween(threshold, since, nowMs, this.d.policy.halfLife)) inos.add(ino);
    }
    return inos;
  }

  /**
   * Files whose move waited for room on a tier that has more of it than the last pass
   * left, or where residents clearly colder than them may leave now (their minimum
   * residency ended): the hottest first, as many as that room can take, up to what
   * capacity planning weighs in one pass. Time alone changes nothing else for them: heat
   * decays alike for every file, so which of two files is colder, beyond a multiplicative
   * hysteresis, stays as it was (the full pass, a safety net, still finds a resident
   * unpinned or closed).
   */
  private roomAppeared(nowMs: number, proj: Projection, residencyEnded: { tier: string; size: number; heat: number }[]): number[] {
    const { halfLife, hysteresis } = this.d.policy;
    const rooms = new Map<string, AppearedRoom>();
    for (const t of this.order) {
      // NaN (both unlimited) and negative: no room grew
      const grew = proj.headroom(t) - (this.headroom.get(t) ?? Infinity);
      // A resident leaves for a promotion only when clearly colder than it (capacity.ts):
      // for a file of rank above rankOf(heat × (1 + hysteresis)).
      const freed = residencyEnded.filter((r) => r.tier === t).map((r) => ({ rank: rankOf(r.heat * (1 + hysteresis), nowMs, halfLife), size: r.size }));
      if (grew > 0 || freed.length > 0) rooms.set(t, new AppearedRoom(grew > 0 ? grew : 0, freed));
    }
    if (rooms.size === 0) return [];
    // Hottest first, the fastest tier's room first: a colder file can take no room a
    // hotter one could not, so each walk stops at the first file that finds none.
    const out = new Set<number>();
    for (const [tier, room] of rooms) {
      for (const [ino, h] of this.heldForRoom.hottest(tier)) {
        if (out.size === MAX_REQUESTS || room.left(h.rank) <= 0) break;
        if (out.has(ino)) continue;
        room.take(h.size);
        out.add(ino);
      }
    }
    return [...out];
  }

  /** The file is decided again (or gone): held no more. */
  private forgetHeld(ino: number, gone = false): void {
    if (gone) this.heldForRoom.forget(ino);
    else this.heldForRoom.delete(ino);
    this.heldOpen.delete(ino);
  }

  /** Every heat a rule compares with: its heatAbove and heatBelow, and each leaned by hysteresis. */
  private heatThresholds(): Set<number> {
    const h = this.d.policy.hysteresis;
    const out = new Set<number>();
    for (const { match } of this.d.policy.rules) {
      for (const t of [match.heatAbove, match.heatBelow]) {
        if (t !== undefined) for (const leaned of [t, t * (1 - h), t * (1 + h)]) if (leaned > 0) out.add(leaned);
      }
    }
    return out;
  }

  /** One pass, start to end, on the caller's stack (tests, benchmarks, tools). */
  pass(full: boolean, nowMs = Date.now()): PassReport {
    const steps = this.steps(full, nowMs);
    for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
  }

  /**
   * One pass that gives the event loop back between pages, so a full pass over a
   * large catalog does not stall the mount it serves. A call while a pass runs gets
   * that pass's report.
   */
  passInSteps(full: boolean, nowMs = Date.now()): Promise<PassReport> {
    if (this.inFlight) return this.inFlight;
    const run = async () => {
      const steps = this.steps(full, nowMs);
      for (let r = steps.next(); ; r = steps.next()) {
        if (r.done) return r.value;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    // Cleared once settled, never before it is set: a pass with nothing to yield
    // finishes synchronously inside run().
    const pass = run().finally(() => {
      if (this.inFlight === pass) this.inFlight = undefined;
    });
    this.inFlight = pass;
    return pass;
  }

  /** The pass, yielding after each page of a full pass. */
  private *steps(full: boolean, nowMs: number): Generator<void, PassReport> {
    const t0 = performance.now();
    const pins = this.pins();
    let examined = 0;
    let enqueued = 0;
    // A directory renamed since the last pass: paths below it changed, which only a path rule sees.
    const renamed = this.d.catalog.takeDirectoryRenamed() && this.d.policy.rules.some((r) => r.match.path !== undefined);
    full ||= this.lastPassMs === 0 || renamed;
    // Rule moves find room against the tiers' projected use: what they hold, and what the
    // moves already queued or running take out and bring in. The queue is read once; the
    // pass writes to it only what changes.
    const { proj, pending } = this.projection(nowMs);
    const requests = new HottestRequests();
    const classify = (rows: ClassificationRow[]) =>
      this.d.catalog.tx(() => {
        for (const r of rows) {
          examined++;
          const f = this.facts(r, nowMs, pins);
          const decision = decide(f, this.d.policy, nowMs, false);
          const hold = this.act(f, decision, nowMs, proj, pending, requests);
          if (hold === null && decision.target && decision.target !== f.tier) enqueued++;
          if (!this.saved.changed(r.ino, decision.target, decision.rule, hold)) continue;
          const worded = decide(f, this.d.policy, nowMs);
          const reason = hold ? `${worded.reason}; not moved yet: ${hold}` : worded.reason;
          this.d.catalog.saveDecision(r.ino, { ...worded, reason, inputs: JSON.stringify(worded.inputs) }, nowMs);
        }
      });
    if (full) {
      this.d.catalog.takeDirty();
      // every file is looked at: what is still held is held again below
      this.heldForRoom.clear();
      this.heldOpen.clear();
      // A page per transaction: between pages the mount's own writes get the catalog.
      for (let after = 0, page; (page = this.d.catalog.classificationPage(after, PAGE)).length > 0; after = page.at(-1)!.ino) {
        classify(page);
        yield;
      }
    } else {
      const rows: ClassificationRow[] = [];
      for (const ino of this.changed(nowMs, proj)) {
        const row = this.d.catalog.classificationRow(ino);
        if (row) rows.push(row);
        else this.forgetHeld(ino, true); // gone
      }
      classify(rows);
    }
    // A full pass yields to the event loop between pages, and the mover may have run
    // moves meanwhile: capacity planning reads the queue again. An incremental pass runs
    // in one turn: the queue is what it read, with its own changes.
    const { demotions, promotions } = this.capacity(nowMs, pins, requests, full ? undefined : pending);
    this.lastPassMs = nowMs;
    return { full, examined, enqueued: enqueued + demotions + promotions, demotions, ms: performance.now() - t0 };
  }

  /**
   * Queue the move a decision asks for when it may happen now (returns null), else say
   * what holds it back; a file that belongs where it is loses any rule move queued
   * (watermark moves are capacity planning's to keep or drop).
   */
  private act(f: FileFacts, d: Decision, nowMs: number, proj: Projection, pending: Map<number, PendingFlow>, requests: HottestRequests): Hold {
    this.forgetHeld(f.ino); // decided again here
    const p = pending.get(f.ino);
    const mayDrop = p !== undefined && !p.running && p.priority > 0;
    if (!d.target || d.target === f.tier || !this.d.tiers.has(d.target)) {
      if (mayDrop && !isWatermarkTag(p.requestedBy)) {
        this.d.catalog.dropAutomaticMove(f.ino);
        proj.remove(f.ino);
        pending.delete(f.ino);
      }
      return d.target && !this.d.tiers.has(d.target) ? `no tier named ${d.target}` : null;
    }
    const wait = f.pin ? 0 : residencyLeft(f, this.d.policy, nowMs);
    if (wait > 0) return new Residency(f.tier, nowMs + wait);
    const open = this.d.openHold(f.ino);
    if (open) {
      this.heldOpen.add(f.ino); // the mover would skip it anyway; next pass
      return open;
    }
    // Running, asked for by a person, or a watermark move (capacity planning keeps or
    // drops those): that move goes first, and the rules decide again afterwards.
    if (p && (!mayDrop || isWatermarkTag(p.requestedBy))) return null;
    if (p) proj.remove(f.ino); // decided again here
    const targets = this.targetsFor(f.tier, d.target);
    let to: string | undefined;
    for (const t of targets) {
      if (!proj.room(t, f.size)) continue;
      to = t;
      break;
    }
    if (to !== undefined) {
      const requestedBy = `rule:${d.rule}`;
      proj.add({ ino: f.ino, from: f.tier, to, size: f.size, priority: AUTO_PRIORITY });
      if (p?.to !== to || p.requestedBy !== requestedBy) {
        const said = decide(f, this.d.policy, nowMs).reason;
        const reason = to === d.target ? said : `${said}; ${d.target} has no room below its high watermark: as far as ${to}`;
        const id = this.d.catalog.enqueueMove({ ino: f.ino, toTier: to, priority: AUTO_PRIORITY, requestedBy, reason });
        if (id === undefined) {
          // a move asked at a higher priority is queued for it (one the projection did not count: its file is on its target already)
          proj.remove(f.ino);
          pending.delete(f.ino);
          return 'a move asked at a higher priority is queued for it';
        }
        pending.set(f.ino, { id, ino: f.ino, from: f.tier, to, size: f.size, heat: f.heat, priority: AUTO_PRIORITY, requestedBy, running: false });
      }
      return null;
    }
    if (p && targets.includes(p.to)) {
      // Queued before, into room made for it (which no other move may count): capacity
      // planning lets it in again or drops it.
      proj.add(p);
      return null;
    }
    if (p) {
      this.d.catalog.dropAutomaticMove(f.ino);
      pending.delete(f.ino);
    }
    this.heldForRoom.set(f.ino, targets, f.size, rankOf(f.heat, nowMs, this.d.policy.halfLife));
    const promotion = this.order.indexOf(d.target) < this.order.indexOf(f.tier);
    if (promotion) requests.offer(f, targets);
    return this.noRoom(d.target, promotion);
  }

  /** Why a move to `target` waits for room, in words (made once per tier: a pass holds thousands). */
  private noRoom(target: string, promotion: boolean): string {
    let said = this.noRoomSaid.get(target);
    if (!said) {
      const full = `tier ${target} has no room below its high watermark`;
      this.noRoomSaid.set(target, (said = { promotion: `${full}, and no file there is clearly colder (beyond the hysteresis) to make room`, demotion: full }));
    }
    return promotion ? said.promotion : said.demotion;
  }

  /**
   * Where the file belongs now and what holds its move back, computed live (tierfs
   * where): the stored decision keeps the inputs of when its outcome last changed.
   */
  explain(ino: number, nowMs = Date.now()): (Decision & { hold: string | null }) | undefined {
    const r = this.d.catalog.classificationRow(ino);
    if (!r) return undefined;
    const f = this.facts(r, nowMs, this.pins());
    const decision = decide(f, this.d.policy, nowMs);
    let hold: string | null = null;
    if (decision.target && decision.target !== f.tier) {
      const wait = f.pin ? 0 : residencyLeft(f, this.d.policy, nowMs);
      if (!this.d.tiers.has(decision.target)) hold = `no tier named ${decision.target}`;
      else if (wait > 0) hold = String(new Residency(f.tier, nowMs + wait));
      else hold = this.d.openHold(ino);
    }
    return { ...decision, hold };
  }

  /**
   * Capacity: relieve tiers above their high watermark, make room for promotions that
   * wait for it, and drop queued watermark moves that are no longer needed — all against
   * the tiers' use read afresh and the queue as `queued` (read again when not given).
   */
  private capacity(nowMs: number, pins: Pins, offered: HottestRequests, queued?: Map<number, PendingFlow>): { demotions: number; promotions: number } {
    let demotions = 0;
    let promotions = 0;
    this.d.catalog.tx(() => {
      const pending = queued ? [...queued.values()] : this.d.catalog.pendingMoves(nowMs, this.d.policy.halfLife);
      const byIno = new Map(pending.map((f) => [f.ino, f]));
      const requests = offered.hottest((r) => !byIno.has(r.ino));
      const plan = planCapacity({
        tiers: this.rooms(),
        pending,
        coldest: (tier) => this.candidates(tier, nowMs, pins),
        hysteresis: this.d.policy.hysteresis,
        requests,
      });
      for (const f of plan.drop) {
        this.d.catalog.dequeueIf({ id: f.id, toTier: f.to, priority: f.priority });
        this.saved.forget(f.ino); // the rules' outcome for it must be written again
      }
      for (const m of plan.moves) {
        const before = byIno.get(m.ino);
        if (before?.to === m.to && before.requestedBy === m.requestedBy && before.priority === m.priority) continue; // still wanted, as queued
        this.d.catalog.enqueueMove({ ino: m.ino, toTier: m.to, priority: m.priority, requestedBy: m.requestedBy, reason: m.reason });
        // The watermark overrules the file's rule: say so where tierfs where looks. It
        // stays the stored decision until the rules' outcome for the file changes.
        const inputs = { tier: m.from, size: m.size, usedBytes: plan.projection.tier(m.from)?.usedBytes ?? 0, capacityBytes: plan.projection.tier(m.from)?.capacityBytes ?? 0 };
        this.d.catalog.saveDecision(m.ino, { target: m.to, rule: m.requestedBy, reason: m.reason, inputs: JSON.stringify(inputs) }, nowMs);
        demotions++;
      }
      for (const r of requests) {
        const to = plan.admitted.get(r.ino);
        if (to === undefined) continue;
        this.heldForRoom.delete(r.ino);
        const d = decide(r.facts, this.d.policy, nowMs);
        const reason = to === d.target ? d.reason : `${d.reason}; ${d.target} has no room below its high watermark: as far as ${to}`;
        this.d.catalog.enqueueMove({ ino: r.ino, toTier: to, priority: AUTO_PRIORITY, requestedBy: `rule:${d.rule}`, reason });
        if (this.saved.changed(r.ino, d.target, d.rule, null)) this.d.catalog.saveDecision(r.ino, { ...d, reason, inputs: JSON.stringify(d.inputs) }, nowMs);
        promotions++;
      }
      this.pressure = plan.notes;
      for (const t of this.order) this.headroom.set(t, plan.projection.headroom(t));
    });
    return { demotions, promotions };
  }

  /**
   * What capacity does to a file, live (tierfs where): the watermark move that took or
   * takes it off its tier, or why it stays where it is.
   */
  explainCapacity(ino: number, nowMs = Date.now()): string | null {
    const r = this.d.catalog.classificationRow(ino);
    if (!r) return null;
    const { proj, pending } = this.projection(nowMs);
    const p = pending.get(ino);
    if (p && isWatermarkTag(p.requestedBy)) return this.d.catalog.queuedMoveOf(ino)?.reason ?? null;
    const stored = this.d.catalog.decision(ino);
    if (stored && isWatermarkTag(stored.rule) && stored.target === r.tier) return stored.reason;
    const t = proj.tier(r.tier);
    if (!t || t.capacityBytes === 0) return null;
    const pin = pinOf(ino, r.path, this.pins());
    const where = `${r.tier} at ${pct(proj.used(r.tier), t.capacityBytes)}`;
    if (pin) return `held: pinned to ${pin}`;
    if ([...pending.values()].some((f) => f.requestedBy === reliefTag(r.tier))) {
      return `held: colder files leave ${r.tier} first (${where} once they are gone; low watermark ${proj.lowMark(r.tier)})`;
    }
    if (proj.used(r.tier) <= t.capacityBytes * t.low) return `held: the tier is below its low watermark (${where}, low ${proj.lowMark(r.tier)})`;
    if (!proj.aboveHigh(r.tier)) return `held: the tier is below its high watermark (${where}, high ${proj.highMark(r.tier)})`;
    return `held: ${where}, above its high watermark ${proj.highMark(r.tier)}${this.pressure.has(r.tier) ? `: ${this.pressure.get(r.tier)}` : ''}`;
  }
}
