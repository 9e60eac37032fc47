// How well placement works, per tier, over the last day and week: promotions (files
// the policy brought to the tier from a slower one), demotions (files the policy sent
// from it to a slower one) and misplacements — automatic demotions whose file was used again within the
// minimum residency: it was moved away while still in use, and could not come back
// before the residency ended. Moves the policy did not make (`tierfs move`, recall,
// copy-ups) are counted apart: they say nothing of how right the policy is.
import type { FinishedMove } from '../catalog/stats.js';
import { PlacementStats } from '../catalog/stats.js';
import type { Catalog } from '../catalog/catalog.js';

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

export interface PlacementCounts {
  /** automatic moves (rules, watermarks) only */
  promotions: number;
  demotions: number;
  misplacements: number;
  /** moves the policy did not make (people, recalls, copy-ups), to this tier and from it */
  manualIn: number;
  manualOut: number;
}

export interface TierEffectiveness {
  tier: string;
  day: PlacementCounts;
  week: PlacementCounts;
}

/** Was the file used in (fromMs, toMs]? */
export type UsedBetween = (ino: number, fromMs: number, toMs: number) => boolean;

/** Moves the policy made on its own (rules and watermarks), as opposed to people and copy-ups. */
export const isAutomatic = (m: FinishedMove) => m.requestedBy.startsWith('rule:') || m.requestedBy.startsWith('watermark:');

/**
 * Count per tier, fastest tier first as in `tiers`. Moves between tiers not listed
 * are left out; a move between two listed tiers is a promotion of its target and a
 * demotion of its source.
 */
export function countPlacement(
  tiers: string[],
  moves: FinishedMove[],
  usedBetween: UsedBetween,
  opts: { nowMs: number; residencyMs: number },
): TierEffectiveness[] {
  const rank = new Map(tiers.map((t, i) => [t, i]));
  const zero = (): PlacementCounts => ({ promotions: 0, demotions: 0, misplacements: 0, manualIn: 0, manualOut: 0 });
  const out = new Map(tiers.map((tier) => [tier, { tier, day: zero(), week: zero() }]));
  for (const m of moves) {
    const [from, to] = [rank.get(m.fromTier), rank.get(m.toTier)];
    if (from === undefined || to === undefined || from === to) continue;
    const age = opts.nowMs - m.finishedMs;
    if (age > WEEK_MS) continue;
    const windows = age <= DAY_MS ? (['day', 'week'] as const) : (['week'] as const);
    if (!isAutomatic(m)) {
      for (const w of windows) {
        out.get(m.toTier)![w].manualIn++;
        out.get(m.fromTier)![w].manualOut++;
      }
      continue;
    }
    for (const w of windows) {
      if (to < from) out.get(m.toTier)![w].promotions++;
      else {
        const counts = out.get(m.fromTier)![w];
        counts.demotions++;
        if (opts.residencyMs > 0 && usedBetween(m.ino, m.finishedMs, m.finishedMs + opts.residencyMs)) counts.misplacements++;
      }
    }
  }
  return [...out.values()];
}

/**
 * The counts for `tierfs status`, from the move journal and the access records:
 * the raw access log where it still reaches back, the last use of each file besides
 * (the log is trimmed; a use after the demotion that is the file's last is never lost).
 */
export function measurePlacement(catalog: Catalog, tiers: string[], residencyMs: number, nowMs = Date.now()): TierEffectiveness[] {
  const stats = new PlacementStats(catalog.db);
  const moves = stats.finishedMovesSince(nowMs - WEEK_MS);
  const demoted = new Set(moves.filter(isAutomatic).map((m) => m.ino));
  const logged = demoted.size > 0 ? stats.usesSince(nowMs - WEEK_MS, demoted) : new Map<number, number[]>();
  const within = (t: number | undefined, from: number, to: number) => t !== undefined && t > from && t <= to;
  const usedBetween: UsedBetween = (ino, from, to) =>
    within(stats.lastUse(ino), from, to) || (logged.get(ino) ?? []).some((t) => within(t, from, to));
  return countPlacement(tiers, moves, usedBetween, { nowMs, residencyMs });
}
