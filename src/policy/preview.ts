// The impact of a new policy, before it is applied (tierfs config apply --dry-run):
// which files it would send somewhere the running policy does not, grouped by source →
// target tier with their bytes and first few paths, and each tier's use once they have
// moved. The decisions are the classifier's own (rules.ts decide); nothing is queued.
import type { PolicyConfig } from '../config/policy.js';
import { decide, type FileFacts } from './rules.js';

/** Paths listed per flow; the counts and bytes cover every file. */
export const PREVIEW_PATHS = 10;

export interface PreviewFlow {
  from: string;
  to: string;
  files: number;
  bytes: number;
  /** the first PREVIEW_PATHS paths, in inode order */
  paths: string[];
  /** the rules of the new policy that send them */
  rules: string[];
}

export interface TierProjection {
  tier: string;
  bytesNow: number;
  bytesAfter: number;
  /** 0 when the tier has no configured or measurable capacity */
  capacityBytes: number;
  /** the new policy's high watermark for the tier */
  high: number;
  /** bytesAfter is above the high watermark: capacity planning would demote again */
  aboveHigh: boolean;
}

export interface PolicyImpact {
  examined: number;
  flows: PreviewFlow[];
  tiers: TierProjection[];
}

/** Adds up, file by file, where the new policy differs from the running one. */
export class ImpactTally {
  private examined = 0;
  private readonly flows = new Map<string, PreviewFlow & { ruleSet: Set<string> }>();

  constructor(
    private readonly running: PolicyConfig,
    private readonly next: PolicyConfig,
    /** tiers that exist: a target elsewhere would not be moved to */
    private readonly tiers: Set<string>,
    private readonly nowMs: number,
  ) {}

  /** facts(halfLife): the file's facts with heat decayed under that half-life. */
  add(facts: (halfLifeMs: number) => FileFacts): void {
    this.examined++;
    const f = facts(this.next.halfLife);
    const after = decide(f, this.next, this.nowMs);
    if (after.target === null || after.target === f.tier || !this.tiers.has(after.target)) return;
    const before = decide(this.running.halfLife === this.next.halfLife ? f : facts(this.running.halfLife), this.running, this.nowMs);
    if (before.target === after.target) return; // moved there (or held) already: not this change's doing
    const key = `${f.tier}\u0000${after.target}`;
    let flow = this.flows.get(key);
    if (!flow) this.flows.set(key, (flow = { from: f.tier, to: after.target, files: 0, bytes: 0, paths: [], rules: [], ruleSet: new Set() }));
    flow.files++;
    flow.bytes += f.size;
    if (flow.paths.length < PREVIEW_PATHS) flow.paths.push(f.path);
    flow.ruleSet.add(after.rule);
  }

  /** The flows, and each tier's projected use from its use now. */
  result(tiers: { tier: string; bytesNow: number; capacityBytes: number; high: number }[]): PolicyImpact {
    const flows = [...this.flows.values()].map(({ ruleSet, ...f }) => ({ ...f, rules: [...ruleSet] }));
    return {
      examined: this.examined,
      flows,
      tiers: tiers.map((t) => {
        const bytesAfter = t.bytesNow + flows.reduce((a, f) => a + (f.to === t.tier ? f.bytes : 0) - (f.from === t.tier ? f.bytes : 0), 0);
        return { ...t, bytesAfter, aboveHigh: t.capacityBytes > 0 && bytesAfter > t.capacityBytes * t.high };
      }),
    };
  }
}
