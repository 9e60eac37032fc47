// LRU and the offline bound on tiny traces checked by hand, and the bound above every
// policy on generated workloads.
import { describe, expect, it } from 'vitest';
import { BaselineSimulation } from '../../src/sim/baselines.js';
import { OfflineBound } from '../../src/sim/offline-bound.js';
import { runVariants } from '../../src/sim/run.js';
import { variants } from '../../src/sim/sweep.js';
import { generate, type WorkloadKind } from '../../src/sim/generate.js';
import type { Simulation } from '../../src/sim/engine.js';
import { config, reads, setup } from './fixture.js';

const run = (sim: Simulation, letters: string, size = 100) => {
  for (const e of reads(letters, size)) sim.event(e);
  return sim.finish();
};

describe('LRU', () => {
  it('serves what fits, demotes the least recently used, promotes on a read (hot holds 3 files)', () => {
    // a b c fill hot; a hits; d finds hot full (created on warm, read there, promoted: b,
    // least recent, goes down); b is read on warm (promoted: c goes down).
    const r = run(new BaselineSimulation('lru', setup(config())), 'abcadb');
    expect(r.tiers[0]).toMatchObject({ tier: 'hot', reads: 4, readBytes: 400, files: 3, usedBytes: 300 });
    expect(r.tiers[1]).toMatchObject({ tier: 'warm', reads: 2, files: 1 });
    expect(r.tiers[0]!.byteHitRatio).toBeCloseTo(4 / 6);
    expect(r.promotions).toEqual({ files: 2, bytes: 200 });
    expect(r.demotions).toEqual({ files: 2, bytes: 200 });
    expect(r.misplacements).toBe(1); // b: demoted, then read again
  });
});

describe('offline bound (fractional Belady)', () => {
  it('drops the file read again furthest in the future (hot holds 2 of 3 files)', () => {
    // a b c: first reads served (created on hot); c goes (read again last of the three).
    // a, b hit; c misses and b (never read again) leaves for it; a hits: 600 of 700 bytes.
    const r = run(new OfflineBound(setup(config('', { capacity: '200B', high: '100%', low: '100%' })).tiers), 'abcabca');
    expect(r.tiers[0]!.byteHitRatio).toBeCloseTo(6 / 7);
  });

  it('holds fractions of files: half of c stays when hot holds 250 bytes', () => {
    // c keeps 50 bytes, so its second read is half served: 650 of 700 bytes.
    const r = run(new OfflineBound(setup(config('', { capacity: '250B', high: '100%', low: '100%' })).tiers), 'abcabca');
    expect(r.tiers[0]!.byteHitRatio).toBeCloseTo(6.5 / 7);
  });

  it('is above LRU on the LRU trace', () => {
    const bound = run(new OfflineBound(setup(config()).tiers), 'abcadb');
    expect(bound.tiers[0]!.byteHitRatio).toBeCloseTo(1);
  });

  // The bound must never be below any policy: checked on generated workloads of each
  // kind, hot at three sizes, for the daemon's policy and every baseline.
  for (const kind of ['zipf', 'scan', 'shift', 'growth'] as WorkloadKind[]) {
    it(`is at or above every policy's hot byte hit ratio on ${kind}`, async () => {
      const cfg = config('', { capacity: '1GiB', high: '90%', low: '75%' });
      const { config: def } = await import('../../src/config/load.js').then((m) => m.loadConfig(undefined, '/tmp'));
      const withDefaultPolicy = { ...cfg, policy: def.policy };
      const vs = variants(withDefaultPolicy, new Map(), new Map(), [{ key: 'hot.capacity', values: ['64MiB', '256MiB', '1GiB'] }]);
      const results = await runVariants(generate(kind, { seed: 7, files: 400, events: 4000, days: 4, medianSize: 1 << 20, scanFiles: 300, shiftEveryMs: 86_400_000, scanEveryMs: 86_400_000 }), vs, {
        baselines: true,
        bound: true,
        misplacementWindowMs: 7 * 86_400_000,
        passIntervalMs: 600_000,
      });
      for (const v of results) {
        const bound = v.results.find((r) => r.policy === 'offline-bound')!.tiers[0]!.byteHitRatio;
        for (const r of v.results) expect(r.tiers[0]!.byteHitRatio, `${v.label} ${r.policy}`).toBeLessThanOrEqual(bound + 1e-9);
      }
    }, 120_000);
  }
});
