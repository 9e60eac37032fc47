// Capacity watermarks: above `high`, a tier sheds its coldest files to the next tier
// until it would be below `low`. Pure: the classifier supplies the candidates, coldest
// first, and carries out the plan.

export interface TierLoad {
  name: string;
  capacityBytes: number;
  usedBytes: number;
  high: number;
  low: number;
  /**
   * The tier passed its high watermark and has not yet come down to its low one. It
   * keeps shedding meanwhile: the band between the watermarks is what stops a tier
   * from flapping around one level, and a full pass that re-decides a queued file
   * must not end the demotions at the high mark.
   */
  draining?: boolean;
}

export interface DemotionCandidate {
  ino: number;
  size: number;
  heat: number;
  /** files still inside their minimum residency, pinned files and open files are skipped */
  movable: boolean;
}

export interface Demotion {
  ino: number;
  to: string;
  reason: string;
}

export function overHigh(t: TierLoad): boolean {
  return t.capacityBytes > 0 && t.usedBytes > t.capacityBytes * t.high;
}

/** Must the tier shed files now? Above high, or still draining down to low. */
export function mustShed(t: TierLoad): boolean {
  return overHigh(t) || (t.draining === true && t.capacityBytes > 0 && t.usedBytes > t.capacityBytes * t.low);
}

/** Which files leave `tier` for `next`, coldest first, to bring it below its low watermark. */
export function planDemotions(tier: TierLoad, coldestFirst: Iterable<DemotionCandidate>, next: string): Demotion[] {
  if (!mustShed(tier)) return [];
  const goal = tier.capacityBytes * tier.low;
  const pct = (b: number) => `${((100 * b) / tier.capacityBytes).toFixed(1)}%`;
  let used = tier.usedBytes;
  const out: Demotion[] = [];
  for (const c of coldestFirst) {
    if (used <= goal) break;
    if (!c.movable || c.size === 0) continue;
    out.push({
      ino: c.ino,
      to: next,
      reason: `tier ${tier.name} at ${pct(tier.usedBytes)} is ${overHigh(tier) ? `above its high watermark ${pct(tier.capacityBytes * tier.high)}` : `draining to its low watermark ${pct(goal)}`}; among the coldest (heat ${c.heat.toFixed(2)})`,
    });
    used -= c.size;
  }
  return out;
}
