// The simulator's in-memory catalog must answer as the SQLite catalog does — the same
// rows in the same order — or the simulated policy drifts from the daemon's. Each
// workload is replayed twice, once on each catalog, with the real classifier: the
// placement, the moves and every figure of the result must be the same, and afterwards
// every query the classifier makes must give the same answer on both.
import { describe, expect, it } from 'vitest';
import { AccessFold } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { PolicySimulation } from '../../src/sim/engine.js';
import { generate, type GenerateOptions, type WorkloadKind } from '../../src/sim/generate.js';
import { simTiers, type SimSetup } from '../../src/sim/setup.js';
import type { SimEvent } from '../../src/sim/traces/types.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const { config } = loadConfig(undefined, '/tmp');

function setupFor(cfg: Config, hotBytes: number, extra: Partial<SimSetup> = {}): SimSetup {
  return { config: cfg, tiers: simTiers(cfg, new Map([['hot', hotBytes]])), misplacementWindowMs: 7 * DAY, passIntervalMs: HOUR, ...extra };
}

function replay(setup: SimSetup, events: Iterable<SimEvent>) {
  const [sqlite, memory] = (['sqlite', 'memory'] as const).map((catalog) => new PolicySimulation({ ...setup, catalog }));
  for (const e of events) (sqlite!.event(e), memory!.event(e));
  return { sqlite: sqlite!, memory: memory!, results: [sqlite!.finish(), memory!.finish()] };
}

/**
 * Heat is decayed by pow() in both catalogs, SQLite's C library's and V8's, which may
 * differ in the last bit (a relative 1e-16): figures are compared to 12 digits; which
 * rows, and their order, exactly.
 */
const digits12 = (v: unknown): unknown =>
  typeof v === 'number' && !Number.isInteger(v)
    ? Number(v.toPrecision(12))
    : Array.isArray(v)
      ? v.map(digits12)
      : v instanceof Map
        ? [...v].map(digits12)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, digits12(x)]))
          : v;

/** Every read query of the policy, on both catalogs, over windows across the simulated span. */
function queries(sim: PolicySimulation, fromMs: number, toMs: number, halfLifeMs: number) {
  const c = sim.catalog;
  const out: unknown[] = [c.usageByTier(), c.pinnedInodes(), c.pendingMoves(toMs, halfLifeMs), c.queueLength(), [...c.runnableMoves(toMs)]];
  for (let after = 0, page; (page = c.classificationPage(after, 500)).length > 0; after = page.at(-1)!.ino) out.push(page);
  for (const tier of ['hot', 'warm', 'cold']) out.push(c.coldest(tier, toMs, halfLifeMs, 50));
  for (let t = fromMs; t < toMs; t += 6 * HOUR) {
    out.push(c.lastUsedBetween(t - DAY, t), c.changedBetween(t - DAY, t), c.arrivedBetween(t - DAY, t, toMs, halfLifeMs));
    for (const threshold of [0.5, 1, 4]) out.push(c.cooledBetween(threshold, t - DAY, t, halfLifeMs));
  }
  return digits12(out);
}

const cases: [string, WorkloadKind, Partial<GenerateOptions>, number][] = [
  ['stable Zipf', 'zipf', { files: 1500, events: 30_000, days: 10 }, 300 * 2 ** 20],
  ['a scan that would flush the hot set', 'scan', { files: 800, events: 20_000, days: 10 }, 200 * 2 ** 20],
  ['a hot set that shifts', 'shift', { files: 800, events: 20_000, days: 12 }, 200 * 2 ** 20],
  ['new data that cools with age (writes, growth)', 'growth', { files: 1000, events: 20_000, days: 12 }, 150 * 2 ** 20],
];

describe('the simulator on its in-memory catalog decides as on the SQLite catalog', () => {
  for (const [what, kind, o, hotBytes] of cases) {
    it(what, () => {
      const events = [...generate(kind, { seed: 5, ...o })];
      const { sqlite, memory, results } = replay(setupFor(config, hotBytes), events);
      // the run must have done something the catalogs could disagree on
      expect(results[0]!.promotions.files + results[0]!.demotions.files).toBeGreaterThan(50);
      expect(results[1]).toEqual(results[0]);
      expect([...memory.placement()]).toEqual([...sqlite.placement()]);
      const span = [events[0]!.timeMs, events.at(-1)!.timeMs] as const;
      expect(queries(memory, ...span, config.policy.halfLife)).toEqual(queries(sqlite, ...span, config.policy.halfLife));
    });
  }

  it('with pins, a cold object tier, idle and age rules, and a small hot tier under pressure', () => {
    const cfg: Config = {
      ...config,
      policy: {
        ...config.policy,
        minResidency: 6 * HOUR,
        rules: [
          { name: 'logs-cold', match: { path: ['logs/**'], ageAbove: 2 * DAY }, target: 'cold' },
          { name: 'idle-warm', match: { idleAbove: DAY }, target: 'warm' },
          ...config.policy.rules,
        ],
      },
    };
    const events = [...generate('zipf', { seed: 9, files: 1200, events: 25_000, days: 8 })].map((e, i) =>
      // a tenth of the files live under logs/ and are written now and then
      i % 10 === 0 ? { ...e, path: `logs/${e.path}`, op: i % 30 === 0 ? ('write' as const) : e.op } : e,
    );
    const pins = new Map([[events[3]!.path, 'hot']]);
    const { sqlite, memory, results } = replay(setupFor(cfg, 120 * 2 ** 20, { pins }), events);
    expect(results[0]!.demotions.files).toBeGreaterThan(50);
    expect(results[1]).toEqual(results[0]);
    expect([...memory.placement()]).toEqual([...sqlite.placement()]);
    expect(memory.tierOf(events[3]!.path)).toBe('hot');
    const span = [events[0]!.timeMs, events.at(-1)!.timeMs] as const;
    expect(queries(memory, ...span, cfg.policy.halfLife)).toEqual(queries(sqlite, ...span, cfg.policy.halfLife));
  });
});

describe('the in-memory catalog, call by call beside the SQLite catalog', () => {
  it('orders ties as SQL does and keeps the more urgent of two queued moves', () => {
    let now = 1_700_000_000_000;
    const catalogs = (['sqlite', 'memory'] as const).map((catalog) => new PolicySimulation({ ...setupFor(config, 0), catalog }).catalog);
    const both = <T>(f: (c: (typeof catalogs)[number]) => T): T[] => catalogs.map(f);
    const file = (name: string, size: number) =>
      both((c) => c.createInode({ mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, tier: 'hot', volume: null, dataPath: name, target: null }, 1, name));
    // never opened, arrived the same millisecond (the simulation's clock has not started):
    // only size (largest first), then ino, orders them
    const inos = [3, 9, 1, 9, 5].map((kib, i) => file(`f${i}`, kib * 1024)[0]!);
    now += 1000;
    const opened = new AccessFold(DAY);
    opened.add(inos[2]!, now, 'open', 0, 1);
    for (const c of catalogs) c.recordFileAccesses(opened, DAY);
    const coldest = both((c) => c.coldest('hot', now, DAY, 10).map((r) => r.ino));
    expect(coldest[0]).toEqual([inos[1], inos[3], inos[4], inos[0], inos[2]]);
    expect(coldest[1]).toEqual(coldest[0]);
    // an automatic move does not replace a manual one; a manual one replaces an automatic one
    const enqueue = (ino: number, priority: number, toTier: string) => both((c) => c.enqueueMove({ ino, toTier, priority, requestedBy: priority ? 'rule:idle' : 'user', reason: 'test' }));
    expect(enqueue(inos[0]!, 0, 'warm')).toEqual([1, 1]);
    expect(enqueue(inos[0]!, 10, 'cold')).toEqual([undefined, undefined]);
    expect(enqueue(inos[1]!, 10, 'warm')).toEqual([2, 2]);
    expect(enqueue(inos[1]!, 0, 'cold')).toEqual([2, 2]);
    const queued = both((c) => [...c.runnableMoves(now)].map((q) => [q.ino, q.toTier, q.priority]));
    expect(queued[0]).toEqual([
      [inos[0], 'warm', 0],
      [inos[1], 'cold', 0],
    ]);
    expect(queued[1]).toEqual(queued[0]);
  });
});
