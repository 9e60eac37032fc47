// Placement quality of the default policy (the embedded tierfs.yaml's rules, hysteresis,
// residency and watermarks, run by the daemon's own classifier in simulated time) on
// generated workloads whose right answer is known. Every figure below is what the
// policy reached when the test was written (seeded: the runs are reproducible); the
// assertions hold it there, and where an aim of the issue is missed the comment says so.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { BaselineSimulation } from '../../src/sim/baselines.js';
import { PolicySimulation, type Simulation } from '../../src/sim/engine.js';
import { generate, type GenerateOptions, type WorkloadKind } from '../../src/sim/generate.js';
import { OfflineBound } from '../../src/sim/offline-bound.js';
import type { PolicyResult } from '../../src/sim/results.js';
import { simTiers } from '../../src/sim/setup.js';

const DAY = 86_400_000;
const { config } = loadConfig(undefined, '/tmp');
// hot holds about a quarter of the data (1000 files of 1 MiB median, ~2 GiB in all)
const tiers = simTiers(config, new Map([['hot', 512 * 2 ** 20]]));
// passes every 10 simulated minutes instead of 30 s: the same decisions a little later,
// twenty times fewer passes
const setup = { config, tiers, misplacementWindowMs: 7 * DAY, passIntervalMs: 600_000 };
const base: Partial<GenerateOptions> = { seed: 3, files: 1000, events: 12_000, days: 14 };

function run(kind: WorkloadKind, o: Partial<GenerateOptions>, sims: Simulation[]): PolicyResult[] {
  for (const e of generate(kind, { ...base, ...o })) for (const s of sims) s.event(e);
  return sims.map((s) => s.finish());
}
const hot = (r: PolicyResult) => r.tiers[0]!.byteHitRatio;

/**
 * The best *static* placement knowing the whole trace: hot filled with the files of most
 * bytes read per byte stored (greedy knapsack), kept there from the start, never moved.
 * Its share of the bytes read on hot is what a policy that learned every file's
 * popularity perfectly, with no cost for learning, would reach without moving files as
 * the future demands (which the offline bound does, for free).
 */
function staticOracle(kind: WorkloadKind, o: Partial<GenerateOptions>, hotBytes: number): number {
  const files = new Map<string, { size: number; read: number }>();
  let total = 0;
  for (const e of generate(kind, { ...base, ...o })) {
    const f = files.get(e.path) ?? { size: 0, read: 0 };
    files.set(e.path, f);
    f.size = Math.max(f.size, e.size);
    if (e.op === 'read') (f.read += e.bytes), (total += e.bytes);
  }
  let used = 0;
  let hit = 0;
  for (const f of [...files.values()].sort((a, b) => b.read / b.size - a.read / a.size)) {
    if (used + f.size <= hotBytes) (used += f.size), (hit += f.read);
  }
  return hit / total;
}
const moved = (r: PolicyResult) => r.promotions.bytes + r.demotions.bytes;

describe('placement quality of the default policy', () => {
  // Reached: hot serves 68.4% of the bytes read, the bound 87.0%: 78.6% of the bound.
  // The aim of 90% is MISSED by the default policy (LFU by decayed heat, without
  // residency or hysteresis, reaches 69.7% moving 3.6 times the bytes; LRU 60.4%). Bytes moved: 1.37 GiB against
  // LRU's 18.3 GiB, 13 times fewer. The aim may be out of reach of any online policy
  // here: the best static placement, knowing the whole trace, reaches 73.4% (84% of the
  // bound), and the default policy 93% of that. Sweeping halfLife (3d-14d), minResidency
  // (1h-1d), hysteresis (10-25%), the busy threshold and the recent rule moved the
  // default between 77.5% and 79.1% of the bound.
  it('stable Zipf: 78.6% of the offline bound (aim 90%: missed), 93% of the best static placement, LRU beaten, 13x fewer bytes moved than LRU', () => {
    const [policy, lru, bound] = run('zipf', {}, [new PolicySimulation(setup), new BaselineSimulation('lru', setup), new OfflineBound(tiers)]);
    expect(hot(policy!) / hot(bound!)).toBeGreaterThanOrEqual(0.78);
    const oracle = staticOracle('zipf', {}, 512 * 2 ** 20);
    expect(oracle).toBeLessThan(hot(bound!)); // the bound may move files; a static placement does not
    expect(hot(policy!) / oracle).toBeGreaterThanOrEqual(0.9);
    expect(hot(policy!)).toBeGreaterThan(hot(lru!));
    expect(moved(policy!) * 10).toBeLessThan(moved(lru!));
  }, 300_000);

  // Reached: 41.5% of the bytes read served by hot against LRU's 36.1% (scans read as
  // many bytes as the Zipf load, and no policy serves a scan's first read from hot).
  it('scan-polluted Zipf: a full read of an archive every 2 days does not flush the hot set (41.5% vs LRU 36.1%)', () => {
    const [policy, lru] = run('scan', { scanFiles: 1000, scanEveryMs: 2 * DAY }, [new PolicySimulation(setup), new BaselineSimulation('lru', setup)]);
    expect(hot(policy!)).toBeGreaterThan(hot(lru!) + 0.03);
  }, 300_000);

  // Reached, hot byte hit ratio per day: 0.62-0.71 on days 1-6, 0.44 on day 7 (the new hot
  // set starts on warm), 0.63 on day 8: back above 85% of the days before within one day.
  it('shifted hot set: back to 85% of the hit ratio before the shift within 1 simulated day', () => {
    const [policy] = run('shift', { shiftEveryMs: 7 * DAY, days: 14, events: 12_000 }, [new PolicySimulation(setup)]);
    // mean hot byte hit ratio per simulated day
    const t0 = policy!.timeline[0]!.timeMs;
    const days = new Map<number, number[]>();
    for (const p of policy!.timeline) if (Number.isFinite(p.byteHit[0])) days.set(Math.floor((p.timeMs - t0) / DAY), [...(days.get(Math.floor((p.timeMs - t0) / DAY)) ?? []), p.byteHit[0]!]);
    const daily = [...days].sort((a, b) => a[0] - b[0]).map(([, v]) => v.reduce((a, b) => a + b, 0) / v.length);
    const before = daily.slice(1, 7).reduce((a, b) => a + b, 0) / 6;
    expect(daily[7]!).toBeLessThan(0.8 * before); // the shift is felt: the test can fail
    expect(daily[8]!).toBeGreaterThanOrEqual(0.85 * before);
    for (const d of daily.slice(9, 13)) expect(d).toBeGreaterThanOrEqual(0.8 * before);
  }, 300_000);
});
