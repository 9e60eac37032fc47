// Placement effectiveness: promotions, demotions and misplacements per tier, over the
// last day and week, from the move journal and the access records.
import { afterEach, describe, expect, it } from 'vitest';
import type { FinishedMove } from '../../src/catalog/stats.js';
import { countPlacement, measurePlacement } from '../../src/policy/effectiveness.js';
import { DAY, HOUR, NOW } from './facts.js';
import { fixture, type Fixture } from './fixture.js';

const move = (ino: number, fromTier: string, toTier: string, ageMs: number, requestedBy = 'rule:r'): FinishedMove => ({
  ino,
  fromTier,
  toTier,
  requestedBy,
  finishedMs: NOW - ageMs,
});

describe('countPlacement', () => {
  const tiers = ['hot', 'warm', 'cold'];
  const never = () => false;

  it('counts promotions on the tier they reach and demotions on the tier they leave, per window', () => {
    const r = countPlacement(
      tiers,
      [move(1, 'hot', 'warm', HOUR), move(2, 'hot', 'cold', 2 * DAY), move(3, 'cold', 'hot', HOUR, 'cli'), move(4, 'warm', 'hot', 8 * DAY), move(5, 'hot', 'elsewhere', HOUR)],
      never,
      { nowMs: NOW, residencyMs: DAY },
    );
    // 3 was moved by a person: counted apart, not as the policy's promotion.
    const counts = (promotions: number, demotions: number, manualIn = 0, manualOut = 0) => ({ promotions, demotions, misplacements: 0, manualIn, manualOut });
    expect(r).toEqual([
      { tier: 'hot', day: counts(0, 1, 1), week: counts(0, 2, 1) },
      { tier: 'warm', day: counts(0, 0), week: counts(0, 0) },
      { tier: 'cold', day: counts(0, 0, 0, 1), week: counts(0, 0, 0, 1) },
    ]);
  });

  it('a misplacement is an automatic demotion used again within the residency', () => {
    const usedAt = new Map([
      [1, NOW - HOUR + 10 * 60_000], // 10 min after its demotion
      [2, NOW - 3 * DAY + 2 * DAY], // two days after: past a one-day residency
      [3, NOW - HOUR + 60_000], // a person moved it: their call, not the policy's
    ]);
    const used = (ino: number, from: number, to: number) => (usedAt.get(ino) ?? 0) > from && (usedAt.get(ino) ?? 0) <= to;
    const r = countPlacement(tiers, [move(1, 'hot', 'warm', HOUR), move(2, 'hot', 'warm', 3 * DAY), move(3, 'hot', 'warm', HOUR, 'cli')], used, {
      nowMs: NOW,
      residencyMs: DAY,
    });
    expect(r[0]).toEqual({
      tier: 'hot',
      day: { promotions: 0, demotions: 1, misplacements: 1, manualIn: 0, manualOut: 1 },
      week: { promotions: 0, demotions: 2, misplacements: 1, manualIn: 0, manualOut: 1 },
    });
  });
});

describe('measurePlacement', () => {
  let f: Fixture | undefined;
  afterEach(() => {
    f?.dispose();
    f = undefined;
  });

  it('reads the journal and the access log of a real catalog', () => {
    f = fixture();
    const [a, b, c] = ['a', 'b', 'c'].map((p) => f!.file(p, 10));
    const journal = (ino: number, requestedBy: string, state: 'committed' | 'done' | 'aborted') => {
      const id = f!.catalog.journalIntent({ ino, path: 'x', fromTier: 'hot', toTier: 'warm', generation: 0, source: '{}', target: '{}', requestedBy });
      f!.catalog.journalState(id, state, { bytes: 10, verified: true });
    };
    journal(a!, 'watermark:hot', 'done');
    journal(b!, 'rule:idle', 'committed');
    journal(c!, 'rule:idle', 'aborted'); // never switched: not a demotion
    const t = Date.now();
    // a is read twice after its demotion (the log keeps both); b never again.
    const ev = (timeMs: number) => ({ timeMs, ino: a!, path: 'a', op: 'read' as const, offset: 0, length: 1, size: 10, count: 1 });
    f.catalog.recordAccessBatch([ev(t + 1000), ev(t + 2 * DAY)], 100);
    const r = measurePlacement(f.catalog, ['hot', 'warm'], DAY, t + 2 * DAY + 1);
    expect(r[0]).toEqual({ tier: 'hot', day: { promotions: 0, demotions: 0, misplacements: 0, manualIn: 0, manualOut: 0 }, week: { promotions: 0, demotions: 2, misplacements: 1, manualIn: 0, manualOut: 0 } });
    // With no raw log kept (logMaxRows 0), the last use still tells.
    const noLog = fixture();
    try {
      const [x] = ['x'].map((p) => noLog.file(p, 10));
      const id = noLog.catalog.journalIntent({ ino: x!, path: 'x', fromTier: 'hot', toTier: 'warm', generation: 0, source: '{}', target: '{}', requestedBy: 'rule:r' });
      noLog.catalog.journalState(id, 'done', {});
      noLog.catalog.recordAccessBatch([{ ...ev(Date.now() + 1000), ino: x! }], 0);
      expect(measurePlacement(noLog.catalog, ['hot', 'warm'], DAY)[0]!.day.misplacements).toBe(1);
    } finally {
      noLog.dispose();
    }
  });
});
