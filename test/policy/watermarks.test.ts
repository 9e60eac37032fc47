// Capacity watermarks: above high, the coldest movable files leave until the tier
// is down to low; a tier that started draining keeps going until low.
import { describe, expect, it } from 'vitest';
import { mustShed, overHigh, planDemotions, type DemotionCandidate, type TierLoad } from '../../src/policy/watermarks.js';

const load = (usedBytes: number, over: Partial<TierLoad> = {}): TierLoad => ({ name: 'hot', capacityBytes: 1000, usedBytes, high: 0.9, low: 0.7, ...over });
const cand = (ino: number, size: number, heat: number, movable = true): DemotionCandidate => ({ ino, size, heat, movable });

describe('watermarks', () => {
  it('do nothing at or below the high watermark', () => {
    expect(overHigh(load(900))).toBe(false);
    expect(planDemotions(load(900), [cand(1, 100, 0)], 'warm')).toEqual([]);
    expect(overHigh(load(500, { capacityBytes: 0 }))).toBe(false); // no capacity known: no watermark
  });

  it('demote the coldest first and stop once at the low watermark', () => {
    const coldestFirst = [cand(1, 100, 0), cand(2, 100, 0.1), cand(3, 100, 0.5), cand(4, 100, 2), cand(5, 100, 9)];
    const plan = planDemotions(load(950), coldestFirst, 'warm');
    // 950 → 850 → 750 → 650 ≤ 700: three files
    expect(plan.map((d) => d.ino)).toEqual([1, 2, 3]);
    expect(plan.every((d) => d.to === 'warm')).toBe(true);
    expect(plan[0]!.reason).toBe('tier hot at 95.0% is above its high watermark 90.0%; among the coldest (heat 0.00)');
  });

  it('skip files that may not move (pinned, in residency, open) and empty ones', () => {
    const coldestFirst = [cand(1, 100, 0, false), cand(2, 0, 0), cand(3, 200, 0.1), cand(4, 100, 0.2, false), cand(5, 100, 0.3)];
    expect(planDemotions(load(950), coldestFirst, 'warm').map((d) => d.ino)).toEqual([3, 5]);
  });

  it('demote what they can when too little may move', () => {
    expect(planDemotions(load(990), [cand(1, 10, 0), cand(2, 500, 0, false)], 'warm').map((d) => d.ino)).toEqual([1]);
  });

  it('a draining tier keeps shedding between the watermarks, and stops at low', () => {
    expect(mustShed(load(800))).toBe(false);
    expect(mustShed(load(800, { draining: true }))).toBe(true);
    expect(mustShed(load(700, { draining: true }))).toBe(false);
    const plan = planDemotions(load(800, { draining: true }), [cand(1, 50, 0), cand(2, 50, 0), cand(3, 50, 0)], 'warm');
    expect(plan.map((d) => d.ino)).toEqual([1, 2]);
    expect(plan[0]!.reason).toMatch(/draining to its low watermark 70\.0%/);
  });
});
