// The simulator's price: a hand-computed bill for a result with known byte-hours, reads
// and demotions, priced by the configuration's cost: section.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { simulatedCost } from '../../src/sim/cost.js';
import type { PolicyResult, TierResult } from '../../src/sim/results.js';

const GB = 2 ** 30;
const HOURS_PER_MONTH = 30 * 24;

const config = (cost: string) =>
  parseConfig(
    `dataDir: /tmp/unused
tiers:
  - { name: hot, kind: local, volumes: [/tmp/unused/hot] }
  - { name: cold, kind: object, backends: [{ type: memory }], scheme: { k: 2, m: 1 } }
${cost}`,
    'test.yaml',
    '/tmp',
  );

const tier = (name: string, t: Partial<TierResult>): TierResult => ({
  tier: name, byteHitRatio: 0, requestHitRatio: 0, readBytes: 0, reads: 0, usedBytes: 0, files: 0, byteHours: 0, ...t,
});

const result = (hot: Partial<TierResult>, cold: Partial<TierResult>, demotedFiles: number): Omit<PolicyResult, 'cost'> => ({
  policy: 'tierfs', tiers: [tier('hot', hot), tier('cold', cold)],
  promotions: { files: 0, bytes: 0 }, demotions: { files: demotedFiles, bytes: 0 },
  misplacements: 0, meanReadLatencyMs: 0, timeline: [],
});

describe('simulated cost', () => {
  it('is null without prices', () => {
    expect(simulatedCost(config(''))).toBeUndefined();
  });

  it('charges local storage by byte-hours', () => {
    const price = simulatedCost(config('cost: { tiers: { hot: { storagePerGBMonth: 0.1 } } }'))!;
    // 1 GB held for a whole month
    expect(price(result({ byteHours: GB * HOURS_PER_MONTH }, {}, 0), 0)).toBeCloseTo(0.1, 10);
  });

  it('charges an object tier for parity, a GET per data cell, retrieval, egress and k+m PUTs per demotion', () => {
    const price = simulatedCost(
      config(`cost:
  tiers:
    cold: { class: s3-standard, storagePerGBMonth: 0.02, readsPer1000: 1, writesPer1000: 10, retrievalPerGB: 0.5, egressPerGB: 0.25 }`),
    )!;
    const bill = price(result({}, { byteHours: GB * HOURS_PER_MONTH, reads: 1000, readBytes: 4 * GB }, 10), 0);
    const storage = 0.02 * 1.5; // k=2 m=1 stores 1.5 bytes per byte
    const gets = (1000 * 2 / 1000) * 1; // one GET per data cell: 2,000 GETs
    const retrieval = 4 * 0.5 + 4 * 0.25;
    const puts = (10 * 3 / 1000) * 10; // 10 files × 3 cells
    expect(bill).toBeCloseTo(storage + gets + retrieval + puts, 10);
  });
});
