// The classifier: decides where files belong and queues the moves. It works from the
// catalog with indexed queries, so an incremental pass costs what changed — files whose
// heat or bytes changed (the dirty set) and files whose idle or age crossed a rule's
// threshold since the last pass — not the size of the tree. A full pass (heat decays
// with time, not with events) runs less often.
import type { Catalog, ClassificationRow } from '../catalog/catalog.js';
import type { PolicyConfig } from '../config/policy.js';
import type { TierConfig } from '../config/schema.js';
import type { TierSet } from '../tiers/tier-set.js';
import type { TierUsage } from '../tiers/local/local-tier.js';
import { heatAt } from './heat.js';
import { decide, residencyLeft, type Decision, type FileFacts } from './rules.js';
import { mustShed, planDemotions, type DemotionCandidate, type TierLoad } from './watermarks.js';

/** Files classified per transaction in a full pass. */
const PAGE = 5000;

interface Pins {
  /** pinned directories as (path prefix ending in '/', tier) */
  dirs: [string, string][];
  files: Map<number, string>;
}

function pinOf(ino: number, path: string, pins: Pins): string | null {
  return pins.files.get(ino) ?? pins.dirs.find(([prefix]) => path.startsWith(prefix))?.[1] ?? null;
}

/**
 * How long an incremental pass may reuse the tiers' usage: summing it reads every
 * inode, which would make each incremental pass cost the size of the tree. Full
 * passes always read it afresh; watermarks react within this time.
 */
const USAGE_TTL_MS = 5 * 60_000;

/** Automatic moves queue behind manual ones (priority 0). */
export const AUTO_PRIORITY = 10;

export interface PassReport {
  full: boolean;
  examined: number;
  enqueued: number;
  demotions: number;
  ms: number;
}

export interface ClassifierDeps {
  catalog: Catalog;
  tiers: TierSet;
  tierConfigs: TierConfig[];
  policy: PolicyConfig;
  isOpenForWrite(ino: number): boolean;
}

/** Why a move a decision asks for is not queued yet (kept with the decision, for tierfs where). */
type Hold = string | null;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The outcome of the decision last stored per file, as a small interned number: a
 * pass writes a decision only when its outcome (target, rule, what holds it back)
 * changed, so a full pass over a settled tree reads the catalog and writes almost
 * nothing. (The stored heat and idle figures then date from when the outcome last
 * changed; explain() gives live ones.)
 */
class SavedOutcomes {
  private readonly ids = new Map<string, number>();
  private readonly byIno = new Map<number, number>();

  /** Record the outcome for ino; true when it differs from the one stored before. */
  changed(ino: number, target: string | null, rule: string, hold: Hold): boolean {
    const key = `${target}\u0000${rule}\u0000${hold ?? ''}`;
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = this.ids.size));
    if (this.byIno.get(ino) === id) return false;
    this.byIno.set(ino, id);
    return true;
  }

  forget(ino: number): void {
    this.byIno.delete(ino);
  }
}

export class Classifier {
  private lastPassMs = 0;
  private inFlight: Promise<PassReport> | undefined;
  /** local tiers that passed their high watermark and are not yet down to their low one */
  private readonly draining = new Set<string>();
  private readonly saved = new SavedOutcomes();
  private usageCache: { atMs: number; usage: Map<string, { bytes: number }> } | undefined;

  constructor(private readonly d: ClassifierDeps) {}

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

  private facts(r: ClassificationRow, nowMs: number, pins: Pins): FileFacts {
    return { ...r, heat: heatAt(r.heat, r.heatMs, nowMs, this.d.policy.halfLife), pin: pinOf(r.ino, r.path, pins) };
  }

  /** Bytes per tier from the catalog: fresh for a full pass, at most USAGE_TTL_MS old otherwise. */
  private usage(full: boolean, nowMs: number): Map<string, { bytes: number }> {
    const c = this.usageCache;
    if (full || !c || nowMs - c.atMs > USAGE_TTL_MS || nowMs < c.atMs) {
      this.usageCache = { atMs: nowMs, usage: this.d.catalog.usageByTier() };
    }
    return this.usageCache!.usage;
  }

  /** The files an incremental pass must look at. */
  private changed(nowMs: number): Set<number> {
    const inos = new Set(this.d.catalog.takeDirty());
    const since = this.lastPassMs;
    for (const rule of this.d.policy.rules) {
      for (const idle of [rule.match.idleAbove, rule.match.idleBelow]) {
        if (idle !== undefined) for (const ino of this.d.catalog.lastUsedBetween(since - idle, nowMs - idle)) inos.add(ino);
      }
      for (const age of [rule.match.ageAbove, rule.match.ageBelow]) {
        if (age !== undefined) for (const ino of this.d.catalog.changedBetween(since - age, nowMs - age)) inos.add(ino);
      }
    }
    // Files whose minimum residency ended since the last pass may move now.
    for (const ino of this.d.catalog.arrivedBetween(since - this.d.policy.minResidency, nowMs - this.d.policy.minResidency)) inos.add(ino);
    return inos;
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
    full ||= this.lastPassMs === 0;
    const usage = this.usage(full, nowMs);
    const room = new RoomTracker(this.d.tiers, usage);
    // A full pass reads the automatic moves already queued once, and then writes to
    // the queue only what changes in it (it would otherwise rewrite it file by file);
    // an incremental pass looks at few files and just writes.
    const queued = full ? new Map<number, string>() : null;
    if (queued) for (const e of this.d.catalog.queuedMoves(Number.MAX_SAFE_INTEGER)) if (e.priority > 0) queued.set(e.ino, e.toTier);
    const classify = (rows: ClassificationRow[]) =>
      this.d.catalog.tx(() => {
        for (const r of rows) {
          examined++;
          const f = this.facts(r, nowMs, pins);
          const decision = decide(f, this.d.policy, nowMs);
          const hold = this.act(f, decision, nowMs, room, queued);
          if (hold === null && decision.target && decision.target !== f.tier) enqueued++;
          if (!this.saved.changed(r.ino, decision.target, decision.rule, hold)) continue;
          const reason = hold ? `${decision.reason}; not moved yet: ${hold}` : decision.reason;
          this.d.catalog.saveDecision(r.ino, { ...decision, reason, inputs: JSON.stringify(decision.inputs) }, nowMs);
        }
      });
    if (full) {
      this.d.catalog.takeDirty();
      // A page per transaction: between pages the mount's own writes get the catalog.
      for (let after = 0, page; (page = this.d.catalog.classificationPage(after, PAGE)).length > 0; after = page.at(-1)!.ino) {
        classify(page);
        yield;
      }
    } else {
      classify([...this.changed(nowMs)].flatMap((ino) => this.d.catalog.classificationRow(ino) ?? []));
    }
    const demotions = this.watermarks(nowMs, pins, usage);
    this.lastPassMs = nowMs;
    return { full, examined, enqueued: enqueued + demotions, demotions, ms: performance.now() - t0 };
  }

  /**
   * Queue the move a decision asks for when it may happen now (returns null), else say
   * what holds it back; a file that belongs where it is loses any automatic move queued.
   */
  private act(f: FileFacts, d: Decision, nowMs: number, room: RoomTracker, queued: Map<number, string> | null): Hold {
    if (!d.target || d.target === f.tier || !this.d.tiers.has(d.target)) {
      if (queued === null || queued.delete(f.ino)) this.d.catalog.dropAutomaticMove(f.ino);
      return d.target && !this.d.tiers.has(d.target) ? `no tier named ${d.target}` : null;
    }
    const wait = f.pin ? 0 : residencyLeft(f, this.d.policy, nowMs);
    if (wait > 0) return `minimum residency on ${f.tier} until ${iso(nowMs + wait)}`;
    if (this.d.isOpenForWrite(f.ino)) return 'open for writing'; // the mover would skip it anyway; next pass
    if (!room.take(d.target, f.size)) return `tier ${d.target} has no room below its low watermark`;
    if (queued?.get(f.ino) === d.target) return null; // queued by an earlier pass, still wanted
    this.d.catalog.enqueueMove({ ino: f.ino, toTier: d.target, priority: AUTO_PRIORITY, requestedBy: `rule:${d.rule}`, reason: d.reason });
    queued?.set(f.ino, d.target);
    return null;
  }

  /**
   * Where the file belongs now and what holds its move back, computed live (tierfs
   * where): the stored decision keeps the inputs of when its outcome last changed.
   */
  explain(ino: number, nowMs = Date.now()): (Decision & { hold: Hold }) | undefined {
    const r = this.d.catalog.classificationRow(ino);
    if (!r) return undefined;
    const f = this.facts(r, nowMs, this.pins());
    const decision = decide(f, this.d.policy, nowMs);
    let hold: Hold = null;
    if (decision.target && decision.target !== f.tier) {
      const wait = f.pin ? 0 : residencyLeft(f, this.d.policy, nowMs);
      if (!this.d.tiers.has(decision.target)) hold = `no tier named ${decision.target}`;
      else if (wait > 0) hold = `minimum residency on ${f.tier} until ${iso(nowMs + wait)}`;
      else if (this.d.isOpenForWrite(ino)) hold = 'open for writing';
    }
    return { ...decision, hold };
  }

  /** Local tiers above their high watermark shed their coldest files to the next tier. */
  private watermarks(nowMs: number, pins: Pins, usage: Map<string, { bytes: number }>): number {
    let queued = 0;
    const order = this.d.tierConfigs.filter((t) => this.d.tiers.has(t.name));
    order.forEach((cfg, idx) => {
      const next = order[idx + 1];
      const t = this.d.tiers.get(cfg.name);
      if (!next || t.kind !== 'local') return;
      const u = t.local.usage(usage.get(cfg.name)?.bytes ?? 0);
      const load: TierLoad = {
        name: cfg.name,
        capacityBytes: u.capacityBytes,
        usedBytes: u.usedBytes,
        high: cfg.watermarks.high,
        low: cfg.watermarks.low,
        draining: this.draining.has(cfg.name),
      };
      if (!mustShed(load)) {
        this.draining.delete(cfg.name);
        return;
      }
      this.draining.add(cfg.name);
      // Read the coldest files first (enough to reach the low watermark), then queue: no
      // statement may run on the catalog while its cursor is open.
      const candidates: DemotionCandidate[] = [];
      let freed = 0;
      for (const c of this.d.catalog.coldest(cfg.name, nowMs, this.d.policy.halfLife)) {
        const movable = pinOf(c.ino, c.path, pins) === null && c.tierSinceMs + this.d.policy.minResidency <= nowMs && !this.d.isOpenForWrite(c.ino);
        candidates.push({ ino: c.ino, size: c.size, heat: c.heat, movable });
        if (movable) freed += c.size;
        if (load.usedBytes - freed <= load.capacityBytes * load.low) break;
      }
      const heatOf = new Map(candidates.map((c) => [c.ino, c.heat]));
      this.d.catalog.tx(() => {
        for (const m of planDemotions(load, candidates, next.name)) {
          const rule = `watermark:${cfg.name}`;
          this.d.catalog.enqueueMove({ ino: m.ino, toTier: m.to, priority: AUTO_PRIORITY, requestedBy: rule, reason: m.reason });
          // The watermark overrules the file's rule for now: say so where tierfs where looks.
          const inputs = { tier: cfg.name, heat: Number(heatOf.get(m.ino)!.toFixed(4)), usedBytes: load.usedBytes, capacityBytes: load.capacityBytes };
          this.d.catalog.saveDecision(m.ino, { target: m.to, rule, reason: m.reason, inputs: JSON.stringify(inputs) }, nowMs);
          this.saved.forget(m.ino); // the rules' next outcome for it must be written again
          queued++;
        }
      });
    });
    return queued;
  }
}

/**
 * Room on local tiers during one pass: usage at the start plus what this pass has
 * already queued into each tier, so one pass cannot promote more than a tier holds.
 * Automatic moves fill a tier only up to its low watermark: were they allowed up to
 * the high one, the watermark would push the coldest back out and the two would take
 * turns moving the same files.
 */
class RoomTracker {
  private readonly planned = new Map<string, number>();
  /** each local tier's use at the start of the pass (statfs once, not once per file) */
  private readonly start = new Map<string, TierUsage>();

  constructor(
    private readonly tiers: TierSet,
    private readonly usage: Map<string, { bytes: number }>,
  ) {}

  /** Reserve room for `size` bytes on `tier`; false when it would pass the low watermark. */
  take(tier: string, size: number): boolean {
    const t = this.tiers.get(tier);
    const planned = this.planned.get(tier) ?? 0;
    if (t.kind === 'local') {
      let u = this.start.get(tier);
      if (!u) this.start.set(tier, (u = t.local.usage(this.usage.get(tier)?.bytes ?? 0)));
      const low = u.capacityBytes * t.local.config.watermarks.low;
      if (!(u.capacityBytes > 0 && u.usedBytes + planned + size <= low && u.freeBytes - planned > size)) return false;
    }
    this.planned.set(tier, planned + size);
    return true;
  }
}
