// Misplacements as they become known, for tierfs_misplacements_total: an automatic
// demotion (rule or watermark) whose file is used again within the minimum residency
// (the definition of `tierfs status`, policy/effectiveness.ts). Checked every minute
// while a demotion's residency runs: a use in that window leaves the file's last use
// after the demotion, and is counted once. Demotions from before the daemon started are
// left out, so a restart does not count one twice.
import { PlacementStats } from '../catalog/stats.js';
import type { Catalog } from '../catalog/catalog.js';
import { isAutomatic } from '../policy/effectiveness.js';

/** Checks are a minute apart: a window that closed since the last one is still looked at. */
const SLACK_MS = 2 * 60_000;

export class MisplacementWatch {
  /** per tier demoted from */
  readonly totals = new Map<string, number>();
  /** demotions counted, by ino and time, with when their window closes */
  private readonly counted = new Map<string, number>();
  private readonly stats: PlacementStats;

  /**
   * tiers: fastest first; residencyMs: the policy's minimum residency. Both are asked at
   * each check: a tier can be added, and the policy changed, while mounted.
   */
  constructor(
    catalog: Catalog,
    private readonly tiers: () => string[],
    private readonly residencyMs: () => number,
    private readonly startedMs: number,
  ) {
    this.stats = new PlacementStats(catalog.db);
    for (const t of tiers()) this.totals.set(t, 0);
  }

  check(nowMs: number): void {
    const residencyMs = this.residencyMs();
    if (residencyMs <= 0) return;
    const order = this.tiers();
    const rank = new Map(order.map((t, i) => [t, i]));
    for (const t of order) if (!this.totals.has(t)) this.totals.set(t, 0);
    for (const m of this.stats.finishedMovesSince(Math.max(this.startedMs, nowMs - residencyMs - SLACK_MS))) {
      const [from, to] = [rank.get(m.fromTier), rank.get(m.toTier)];
      if (from === undefined || to === undefined || to <= from || !isAutomatic(m)) continue;
      const key = `${m.ino}@${m.finishedMs}`;
      if (this.counted.has(key)) continue;
      const last = this.stats.lastUse(m.ino);
      if (last !== undefined && last > m.finishedMs && last <= m.finishedMs + residencyMs) {
        this.counted.set(key, m.finishedMs + residencyMs);
        this.totals.set(m.fromTier, (this.totals.get(m.fromTier) ?? 0) + 1);
      }
    }
    for (const [key, closes] of this.counted) if (closes < nowMs - SLACK_MS) this.counted.delete(key);
  }
}
