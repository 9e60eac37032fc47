// Each kind of advice appears for a catalog built to trigger it and not for one that
// differs only in what should silence it; and a history too short says so instead.
import { afterEach, describe, expect, it } from 'vitest';
import { adviceReport } from '../../src/cost/report.js';
import type { AdviceKind } from '../../src/cost/advice.js';
import type { ObjectTierConfig } from '../../src/config/schema.js';
import { costFixture, DAY, GiB, HOUR, type CostFixture } from './fixture.js';

const KiB = 1024;
const MiB = 2 ** 20;
const T0 = Date.UTC(2026, 8, 1);
const NOW = T0 + 60 * DAY;
const COST = { tiers: { hot: { storagePerGBMonth: 0.1 }, cold: { class: 's3-standard-ia' } } };

let fx: CostFixture[] = [];
afterEach(() => {
  for (const f of fx) f.dispose();
  fx = [];
});

/** A catalog with 60 days of recording and history behind it, and what `build` adds. */
function catalog(build: (f: CostFixture) => void, extra: Record<string, unknown> = {}, opts: { since?: number } = {}): CostFixture {
  const f = costFixture(COST, extra);
  fx.push(f);
  const since = opts.since ?? T0;
  const marker = f.file('marker', 1, 'hot', since);
  f.read(marker, NOW - HOUR, 1); // used recently: not idle
  f.catalog.db.prepare('UPDATE access_stats SET first_ms = ? WHERE ino = ?').run(since, marker);
  f.point('tierfs_tier_used_bytes', { tier: 'hot' }, since, 1);
  build(f);
  return f;
}

const kinds = (f: CostFixture, now = NOW) => adviceReport({ db: f.catalog.db, config: f.config, nowMs: now }).advice.map((a) => a.kind);
const one = (f: CostFixture, kind: AdviceKind) => adviceReport({ db: f.catalog.db, config: f.config, nowMs: NOW }).advice.find((a) => a.kind === kind);

describe('advice', () => {
  it('idle data on the fastest tier: files not opened for 30 days', () => {
    const idle = catalog((f) => f.file('old/report.pdf', 10 * GiB, 'hot', T0));
    const a = one(idle, 'idle-on-fastest-tier')!;
    expect(a).toMatchObject({ tier: 'hot', files: 1, bytes: 10 * GiB });
    // 10 GiB at $0.10 on hot instead of $0.0125 × (1+1)/1 on cold
    expect(a.estSavingsUsdPerMonth).toBeCloseTo(10 * (0.1 - 0.025), 9);
    const used = catalog((f) => f.read(f.file('old/report.pdf', 10 * GiB, 'hot', T0), NOW - 2 * DAY, KiB));
    expect(kinds(used)).not.toContain('idle-on-fastest-tier');
  });

  it('files re-read from an object tier: recalls cost more than a local copy', () => {
    const cells = { perBackend: 1, cellBytes: 64 * KiB };
    const reread = catalog((f) => f.read(f.file('data/hot.parquet', GiB, 'cold', T0, cells), NOW - DAY, GiB, 10));
    const a = one(reread, 'reread-from-object-tier')!;
    expect(a).toMatchObject({ tier: 'cold', files: 1, bytes: GiB });
    // 10 GiB recalled at $0.01 and 10 × 128 GETs of 8 MiB at $0.001/1000, against 1 GiB at $0.10 on hot less $0.025 on cold
    expect(a.estSavingsUsdPerMonth).toBeCloseTo(10 * 0.01 + (1280 / 1000) * 0.001 - (0.1 - 0.025), 9);
    const once = catalog((f) => f.read(f.file('data/hot.parquet', GiB, 'cold', T0, cells), NOW - DAY, GiB, 1));
    expect(kinds(once)).not.toContain('reread-from-object-tier');
  });

  it('objects below the minimum billable size', () => {
    const small = catalog((f) => f.file('tiny/a', 64 * KiB, 'cold', T0, { perBackend: 1, cellBytes: 64 * KiB }));
    const a = one(small, 'small-objects')!;
    expect(a.tier).toBe('cold');
    // two objects (one per backend) billed 64 KiB more each, at $0.0125
    expect(a.estSavingsUsdPerMonth).toBeCloseTo(((2 * 64 * KiB) / GiB) * 0.0125, 12);
    expect(a.reason).toMatch(/2 objects are below the 128 KiB/);
    expect(a).toMatchObject({ files: 1, bytes: 64 * KiB });
    // a file of many small objects also costs more to write than to keep: 64 objects of 16 KiB on each backend,
    // 128 writes × $0.00001 = $0.00128 against 128 × 128 KiB billed × $0.0125/GB = $0.000195 a month
    const heavy = catalog((f) => f.file('many/a', MiB, 'cold', T0, { perBackend: 64, cellBytes: 16 * KiB }));
    expect(one(heavy, 'small-objects')!.reason).toMatch(/1 files \(0\.001 GiB\) cost more in write requests \(128 objects\)/);
    const big = catalog((f) => f.file('big/a', 8 * MiB, 'cold', T0, { perBackend: 1, cellBytes: 8 * MiB }));
    expect(kinds(big)).not.toContain('small-objects');
  });

  it('copies moved out of a class before its minimum duration', () => {
    const early = catalog((f) => f.removal({ timeMs: NOW - 3 * DAY, tier: 'cold', cause: 'moved', writtenMs: NOW - 8 * DAY, size: GiB, backendBytes: { 0: GiB, 1: GiB } }));
    const a = one(early, 'early-deletion')!;
    expect(a).toMatchObject({ tier: 'cold', files: 1, bytes: GiB });
    // two backends × 1 GiB × $0.0125 × 25 days left / 30
    expect(a.estSavingsUsdPerMonth).toBeCloseTo((2 * 0.0125 * 25) / 30, 12);
    expect(a.action).toMatch(/policy.minResidency from 1 to 30 days/);
    const late = catalog((f) => f.removal({ timeMs: NOW - 3 * DAY, tier: 'cold', cause: 'moved', writtenMs: NOW - 40 * DAY, size: GiB, backendBytes: { 0: GiB, 1: GiB } }));
    expect(kinds(late)).not.toContain('early-deletion');
  });

  it('a recall cache smaller than the re-read working set', () => {
    const trace = (f: CostFixture) => {
      const ino = f.file('set/x', 10 * MiB, 'cold', T0, { perBackend: 1, cellBytes: 10 * MiB });
      f.read(ino, NOW - DAY, 10 * MiB, 10);
      // the stores sent the file ten times over in the week
      f.point('tierfs_objectstore_bytes_total', { tier: 'cold', backend: 'a', op: 'get' }, NOW - 2 * DAY, 100 * MiB);
      f.point('tierfs_objectstore_requests_total', { tier: 'cold', backend: 'a', op: 'get' }, NOW - 2 * DAY, 100);
    };
    const smallCache = catalog(trace, { cache: { memory: '1MiB', disk: 0 } });
    const a = one(smallCache, 'recall-cache-too-small')!;
    expect(a).toMatchObject({ tier: 'cold', files: 1, bytes: 10 * MiB });
    // 90 MiB fetched again in a week at $0.01/GB, 90 GETs at $0.001/1000, × 30/7
    expect(a.estSavingsUsdPerMonth).toBeCloseTo((((90 * MiB) / GiB) * 0.01 + 0.09 * 0.001) * (30 / 7), 12);
    const bigCache = catalog(trace, { cache: { memory: '1MiB', disk: '1GiB' } });
    expect(kinds(bigCache)).not.toContain('recall-cache-too-small');
  });

  it('parity that buys no protection against a lost backend, or more than the backends can use', () => {
    const withScheme = (k: number, m: number) =>
      catalog((f) => {
        (f.config.tiers[1] as ObjectTierConfig).scheme = { k, m };
        f.file('c/x', 10 * GiB, 'cold', T0, { perBackend: 1, cellBytes: 8 * MiB });
      });
    // 4+2 over two backends: three cells on each, one more than the parity covers
    const none = one(withScheme(4, 2), 'scheme-overhead')!;
    expect(none).toMatchObject({ tier: 'cold', files: 1, bytes: 10 * GiB, estSavingsUsdPerMonth: 0 });
    expect(none.reason).toMatch(/not one lost backend/);
    // 2+3 over two backends survives one loss, as 2+2 would: one parity cell of 2 data cells is spare,
    // 10 GiB × 1/2 × $0.0125
    const spare = one(withScheme(2, 3), 'scheme-overhead')!;
    expect(spare.action).toMatch(/scheme \{ k: 2, m: 2 \}/);
    expect(spare.estSavingsUsdPerMonth).toBeCloseTo(10 * 0.5 * 0.0125, 12);
    // 1+1 over two backends: every parity cell counts
    expect(kinds(withScheme(1, 1))).not.toContain('scheme-overhead');
  });

  it('a quiet catalog gets no advice; a young one is told its history is too short', () => {
    expect(kinds(catalog(() => undefined))).toEqual([]);
    const young = catalog((f) => f.file('old/report.pdf', 10 * GiB, 'hot', T0), {}, { since: NOW - 2 * DAY });
    const r = adviceReport({ db: young.catalog.db, config: young.config, nowMs: NOW });
    expect(r.advice.map((a) => a.kind)).not.toContain('idle-on-fastest-tier');
    expect(r.tooShort.find((s) => s.kind === 'idle-on-fastest-tier')).toMatchObject({ recordedDays: 2, neededDays: 30 });
    expect(r.tooShort.map((s) => s.kind)).not.toContain('small-objects'); // needs no history
  });
});
