// Admission: which local tier takes a new file. The high watermark steers new files
// away from a tier (and makes pressure demote its coldest files); it does not refuse a
// write while a tier still has space. ENOSPC only when no local tier has any left.

export interface AdmissionTier {
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** the largest file one volume can take (TierUsage.fitBytes); freeBytes where not known (the simulator) */
  fitBytes?: number;
  high: number;
}

export interface Admission {
  /** index of the tier in the list given */
  index: number;
  /** every tier was above its high watermark: the file went where there is space */
  aboveHigh: boolean;
}

/** The first tier with room for `size` bytes below its high watermark, else the first with space at all. */
export function admit(tiers: AdmissionTier[], size: number): Admission | undefined {
  const fits = (t: AdmissionTier) => (t.fitBytes ?? t.freeBytes) > size;
  const below = tiers.findIndex((t) => t.capacityBytes > 0 && t.usedBytes + size <= t.capacityBytes * t.high && fits(t));
  if (below >= 0) return { index: below, aboveHigh: false };
  const any = tiers.findIndex((t) => t.capacityBytes > 0 && t.usedBytes + size <= t.capacityBytes && fits(t));
  return any >= 0 ? { index: any, aboveHigh: true } : undefined;
}
