// The classifier: decides where files belong and queues the moves. It works from the
// catalog with indexed queries, so an incremental pass costs what changed — files whose
// heat or bytes changed (the dirty set) and files whose idle or age crossed a rule's
// threshold since the last pass — not the size of the tree. A full pass (heat decays
// with time, not with events) runs less often.
import type { Catalog, ClassificationRow } from '../catalog/catalog.js';
import type { PolicyConfig } from '../config/policy.js';
import type { TierConfig } from '../config/schema.js';
import type { TierSet } from '../tiers/tier-set.js';
import { heatAt } from './heat.js';
import { decide, residencyLeft, type Decision, type FileFacts } from './rules.js';
import { overHigh, planDemotions, type DemotionCandidate, type TierLoad } from './watermarks.js';

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

export class Classifier {
  private lastPassMs = 0;

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

  /** The files an incremental pass must look at. */
  private changed(nowMs: number): Set<number> {
    const inos = new Set(this.d.catalog.takeDirty());
    const since = this.lastPassMs;
    for (const rule of this.d.policy.rules) {
      for (const idle of [rule.match.idleAbove, rule.match.idleBelow]) {
        if (idle !== undefined) for (const ino of this.d.catalog.accessedBetween(since - idle, nowMs - idle)) inos.add(ino);
      }
      for (const age of [rule.match.ageAbove, rule.match.ageBelow]) {
        if (age !== undefined) for (const ino of this.d.catalog.changedBetween(since - age, nowMs - age)) inos.add(ino);
      }
    }
    // Files whose minimum residency ended since the last pass may move now.
    for (const ino of this.d.catalog.accessedBetween(since - this.d.policy.minResidency, nowMs - this.d.policy.minResidency)) inos.add(ino);
    return inos;
  }

  pass(full: boolean, nowMs = Date.now()): PassReport {
    const t0 = performance.now();
    const pins = this.pins();
    let examined = 0;
    let enqueued = 0;
    const usage = this.d.catalog.usageByTier();
    const classify = (rows: ClassificationRow[]) =>
      this.d.catalog.tx(() => {
        for (const r of rows) {
          examined++;
          const f = this.facts(r, nowMs, pins);
          const decision = decide(f, this.d.policy, nowMs);
          this.d.catalog.saveDecision(r.ino, { ...decision, inputs: JSON.stringify(decision.inputs) }, nowMs);
          if (this.act(f, decision, nowMs, usage)) enqueued++;
        }
      });
    full ||= this.lastPassMs === 0;
    if (full) {
      this.d.catalog.takeDirty();
      // A page per transaction: the catalog stays responsive to the mount meanwhile.
      for (let after = 0, page; (page = this.d.catalog.classificationPage(after, PAGE)).length > 0; after = page.at(-1)!.ino) classify(page);
    } else {
      classify([...this.changed(nowMs)].flatMap((ino) => this.d.catalog.classificationRow(ino) ?? []));
    }
    const demotions = this.watermarks(nowMs, pins);
    this.lastPassMs = nowMs;
    return { full, examined, enqueued: enqueued + demotions, demotions, ms: performance.now() - t0 };
  }

  /** Queue the move a decision asks for, when it may happen now; else drop a stale one. */
  private act(f: FileFacts, d: Decision, nowMs: number, usage: Map<string, { bytes: number }>): boolean {
    if (!d.target || d.target === f.tier || !this.d.tiers.has(d.target)) {
      this.d.catalog.dropAutomaticMove(f.ino);
      return false;
    }
    if (!f.pin && residencyLeft(f, this.d.policy, nowMs) > 0) return false;
    if (this.d.isOpenForWrite(f.ino)) return false; // the mover would skip it anyway; next pass
    const target = this.d.tiers.get(d.target);
    if (target.kind === 'local' && !target.local.hasRoom(usage.get(d.target)?.bytes ?? 0, f.size)) return false;
    this.d.catalog.enqueueMove({ ino: f.ino, toTier: d.target, priority: AUTO_PRIORITY, requestedBy: `rule:${d.rule}`, reason: d.reason });
    return true;
  }

  /** Local tiers above their high watermark shed their coldest files to the next tier. */
  private watermarks(nowMs: number, pins: Pins): number {
    let queued = 0;
    const usage = this.d.catalog.usageByTier();
    const order = this.d.tierConfigs.filter((t) => this.d.tiers.has(t.name));
    order.forEach((cfg, idx) => {
      const next = order[idx + 1];
      const t = this.d.tiers.get(cfg.name);
      if (!next || t.kind !== 'local') return;
      const u = t.local.usage(usage.get(cfg.name)?.bytes ?? 0);
      const load: TierLoad = { name: cfg.name, capacityBytes: u.capacityBytes, usedBytes: u.usedBytes, high: cfg.watermarks.high, low: cfg.watermarks.low };
      if (!overHigh(load)) return;
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
      this.d.catalog.tx(() => {
        for (const m of planDemotions(load, candidates, next.name)) {
          this.d.catalog.enqueueMove({ ino: m.ino, toTier: m.to, priority: AUTO_PRIORITY, requestedBy: `watermark:${cfg.name}`, reason: m.reason });
          queued++;
        }
      });
    });
    return queued;
  }
}
