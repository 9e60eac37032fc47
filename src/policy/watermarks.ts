// Capacity watermarks: above `high`, a tier sheds its coldest files to the next tier
// until it would be below `low`. Pure: the classifier supplies the candidates, coldest
// first, and carries out the plan.

export interface TierLoad {
  name: string;
  capacityBytes: number;
  usedBytes: number;
  high: number;
  low: number;
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

/** Which files leave `tier` for `next`, coldest first, to bring it below its low watermark. */
export function planDemotions(tier: TierLoad, coldestFirst: Iterable<DemotionCandidate>, next: string): Demotion[] {
  if (!overHigh(tier)) return [];
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
      reason: `tier ${tier.name} at ${pct(tier.usedBytes)} is above its high watermark ${pct(tier.capacityBytes * tier.high)}; among the coldest (heat ${c.heat.toFixed(2)})`,
    });
    used -= c.size;
  }
  return out;
}
