// Cost accounting over a catalog built by hand: the report's numbers for November 2026,
// halfway through, against the arithmetic written out beside each expectation; the
// catalog's triggers that record copies leaving an object tier; and a what-if under a
// colder class.
import { afterEach, describe, expect, it } from 'vitest';
import { costSchema } from '../../src/config/cost.js';
import { costReport, type CostReport } from '../../src/cost/report.js';
import type { CostRow } from '../../src/cost/accounting.js';
import { costFixture, DAY, GiB, HOUR, type CostFixture } from './fixture.js';

const NOV = Date.UTC(2026, 10, 1);
const NOW = NOV + 15 * DAY; // half of a 30-day month
const KiB = 1024;
const COST = {
  tiers: {
    hot: { storagePerGBMonth: 0.02 },
    cold: { class: 's3-standard-ia', backends: { b: { class: 's3-glacier-ir' } } },
  },
};

let f: CostFixture;
afterEach(() => f?.dispose());

/** The month of the examples: what was stored, asked and removed. */
function november(fx: CostFixture): void {
  const os = (backend: string, op: string) => ({ tier: 'cold', backend, op });
  // hot: 10 GiB since before the month, 40 GiB from the 6th
  fx.point('tierfs_tier_used_bytes', { tier: 'hot' }, NOV - HOUR, 10 * GiB);
  fx.point('tierfs_tier_used_bytes', { tier: 'hot' }, NOV + 5 * DAY, 40 * GiB);
  // cold: 20 GiB of cells (both backends) from the 1st
  fx.point('tierfs_tier_stored_bytes', { tier: 'cold' }, NOV, 20 * GiB);
  fx.point('tierfs_tier_used_bytes', { tier: 'cold' }, NOV, 10 * GiB);
  // requests in the month, and some in October that must not count
  fx.point('tierfs_objectstore_requests_total', os('a', 'put'), NOV - 2 * DAY, 99_999);
  fx.point('tierfs_objectstore_requests_total', os('a', 'put'), NOV + DAY, 2000);
  fx.point('tierfs_objectstore_requests_total', os('a', 'get'), NOV + DAY, 6000);
  fx.point('tierfs_objectstore_requests_total', os('a', 'get'), NOV + 3 * DAY, 4000);
  fx.point('tierfs_objectstore_requests_total', os('a', 'head'), NOV + DAY, 1000);
  fx.point('tierfs_objectstore_requests_total', os('a', 'delete'), NOV + DAY, 500);
  fx.point('tierfs_objectstore_requests_total', os('b', 'put'), NOV + DAY, 2000);
  fx.point('tierfs_objectstore_bytes_total', os('a', 'get'), NOV + DAY, 4 * GiB);
  // a copy moved out after 5 days, 3 GiB on each backend; another after 40 days
  fx.removal({ timeMs: NOV + 9 * DAY, tier: 'cold', cause: 'moved', writtenMs: NOV + 4 * DAY, size: 3 * GiB, backendBytes: { 0: 3 * GiB, 1: 3 * GiB } });
  fx.removal({ timeMs: NOV + 8 * DAY, tier: 'cold', cause: 'deleted', writtenMs: NOV - 32 * DAY, size: 3 * GiB, backendBytes: { 0: 3 * GiB, 1: 3 * GiB } });
  // files held now: 1 GiB under /projects on hot; on cold, one file of 10 cells of 64 KiB per backend
  fx.file('projects/big', GiB, 'hot', NOV);
  fx.file('archive/small', 640 * KiB, 'cold', NOV, { perBackend: 10, cellBytes: 64 * KiB });
}

const row = (r: CostReport, tier: string, backend?: string) => (r.rows as CostRow[]).find((x) => x.tier === tier && x.backend === backend)!;

describe('cost accounting', () => {
  it('prices each charge kind of a month to date as the arithmetic says', () => {
    f = costFixture(COST);
    november(f);
    const r = costReport({ db: f.catalog.db, config: f.config, nowMs: NOW }, { month: '2026-11', by: 'backend' });
    expect(r.period.elapsedFraction).toBe(0.5);

    // hot: (5 days × 10 + 10 days × 40) GiB / 30 = 15 GB-months × $0.02
    const hot = row(r, 'hot', 'volumes');
    expect(hot.storedGBMonths).toBeCloseTo(15, 9);
    expect(hot.monthToDate.storageUsd).toBeCloseTo(0.3, 9);

    // cold: 20 GiB × 15 days = 10 GB-months, shared by a and b as their objects are (half each)
    const a = row(r, 'cold', 'a');
    const b = row(r, 'cold', 'b');
    expect(a.storedGBMonths).toBeCloseTo(5, 9);
    expect(a.monthToDate.storageUsd).toBeCloseTo(5 * 0.0125, 9);
    expect(b.monthToDate.storageUsd).toBeCloseTo(5 * 0.004, 9);
    // requests: a: 2000 writes × $0.01/1000; 11,000 reads (GET + HEAD) × $0.001/1000; deletes free. b: 2000 × $0.02/1000
    expect(a.requests).toEqual({ writes: 2000, reads: 11_000, free: 500 });
    expect(a.monthToDate.writeRequestsUsd).toBeCloseTo(0.02, 9);
    expect(a.monthToDate.readRequestsUsd).toBeCloseTo(0.011, 9);
    expect(b.monthToDate.writeRequestsUsd).toBeCloseTo(0.04, 9);
    // retrieval: 4 GiB × $0.01
    expect(a.readBytes).toBe(4 * GiB);
    expect(a.monthToDate.retrievalUsd).toBeCloseTo(0.04, 9);
    expect(b.monthToDate.retrievalUsd).toBe(0);
    // early deletion: a (30 days): 3 GiB × 0.0125 × 25/30 for the one held 5 days; none for 40 days.
    // b (90 days): 3 × 0.004 × 85/30 + 3 × 0.004 × 50/30
    expect(a.monthToDate.earlyDeletionUsd).toBeCloseTo((3 * 0.0125 * 25) / 30, 9);
    expect(b.monthToDate.earlyDeletionUsd).toBeCloseTo((3 * 0.004 * 85) / 30 + (3 * 0.004 * 50) / 30, 9);
    // minimum object size: 10 cells of 64 KiB per backend, billed as 128 KiB: 640 KiB padding for half a month
    expect(a.monthToDate.objectSizeUsd).toBeCloseTo(((640 * KiB) / GiB) * 0.0125 * 0.5, 12);
    expect(b.monthToDate.objectSizeUsd).toBeCloseTo(((640 * KiB) / GiB) * 0.004 * 0.5, 12);
    expect(a.monthToDate.monitoringUsd).toBe(0);

    // the projected month: storage at the last bytes for the other 15 days, activity at the same pace
    expect(hot.projectedMonth.storageUsd).toBeCloseTo(0.3 + 40 * 0.5 * 0.02, 9);
    expect(a.projectedMonth.writeRequestsUsd).toBeCloseTo(0.04, 9);
    expect(a.projectedMonth.objectSizeUsd).toBeCloseTo(((640 * KiB) / GiB) * 0.0125, 12);
    const sum = [hot, a, b].reduce((s, x) => s + x.monthToDate.totalUsd, 0);
    expect(r.monthToDate.totalUsd).toBeCloseTo(sum, 12);
  });

  it('by tier sums the backends; by dir prices what each directory holds now; prices name their source', () => {
    f = costFixture(COST);
    november(f);
    const ctx = { db: f.catalog.db, config: f.config, nowMs: NOW };
    const tiers = costReport(ctx, { month: '2026-11' });
    const backends = costReport(ctx, { month: '2026-11', by: 'backend' });
    const cold = row(tiers, 'cold');
    expect(cold.priceClass).toBe('mixed');
    expect(cold.monthToDate.totalUsd).toBeCloseTo(row(backends, 'cold', 'a').monthToDate.totalUsd + row(backends, 'cold', 'b').monthToDate.totalUsd, 12);
    const dirs = costReport(ctx, { month: '2026-11', by: 'dir' });
    expect(dirs.rows[0]).toMatchObject({ dir: '/projects', files: 1, bytes: GiB });
    expect((dirs.rows[0] as { storageUsdPerMonth: number }).storageUsdPerMonth).toBeCloseTo(0.02, 9);
    expect(tiers.prices.find((p) => p.backend === 'b')).toMatchObject({ class: 's3-glacier-ir', asOf: '2024-06', storagePerGBMonth: 0.004 });
  });

  it('a what-if under a colder class: less for storage, more for retrieval, as the arithmetic says', () => {
    f = costFixture(COST);
    november(f);
    const colder = { ...f.config, cost: costSchema.parse({ tiers: { hot: COST.tiers.hot, cold: { class: 's3-glacier-ir' } } }) };
    const ctx = { db: f.catalog.db, config: f.config, nowMs: NOW };
    const base = costReport(ctx, { month: '2026-11', by: 'backend' });
    const what = costReport(ctx, { month: '2026-11', by: 'backend', whatIf: { config: colder, file: 'colder.yaml' } });
    // backend a: 5 GB-months at $0.004 instead of $0.0125; 4 GiB retrieved at $0.03 instead of $0.01
    expect(row(what, 'cold', 'a').monthToDate.storageUsd).toBeCloseTo(5 * 0.004, 9);
    expect(row(what, 'cold', 'a').monthToDate.retrievalUsd).toBeCloseTo(4 * 0.03, 9);
    expect(row(what, 'cold', 'a').monthToDate.storageUsd).toBeLessThan(row(base, 'cold', 'a').monthToDate.storageUsd);
    expect(row(what, 'cold', 'a').monthToDate.retrievalUsd).toBeGreaterThan(row(base, 'cold', 'a').monthToDate.retrievalUsd);
    expect(what.whatIf).toMatchObject({ configFile: 'colder.yaml' });
    expect(what.whatIf!.baselineProjectedMonth.totalUsd).toBeCloseTo(base.projectedMonth.totalUsd, 12);
  });

  it('lists earlier months the history reaches, and says when there is no history', () => {
    f = costFixture(COST);
    expect(costReport({ db: f.catalog.db, config: f.config, nowMs: NOW }).notes.join(' ')).toMatch(/no metrics history/);
    november(f);
    const dec = costReport({ db: f.catalog.db, config: f.config, nowMs: NOV + 40 * DAY });
    expect(dec.month).toBe('2026-12');
    expect(dec.lastMonths.map((m) => m.month)).toEqual(['2026-11', '2026-10']);
    expect(dec.lastMonths[0]!.totalUsd).toBeGreaterThan(0);
  });

  it('the catalog records each copy that leaves an object tier: deleted or moved, with when it was written and its bytes per backend', () => {
    f = costFixture(COST);
    const written = Date.now() - 3 * DAY;
    const gone = f.file('x/deleted', 640 * KiB, 'cold', written, { perBackend: 10, cellBytes: 64 * KiB });
    const moved = f.file('x/moved', 640 * KiB, 'cold', written, { perBackend: 2, cellBytes: 320 * KiB });
    const local = f.file('x/local', 10, 'hot', written);
    const before = Date.now();
    f.catalog.deleteInode(gone);
    f.catalog.setLocation(moved, { tier: 'hot', volume: 'v0', layout: null });
    f.catalog.deleteInode(local); // not an object copy: not recorded
    const rows = f.catalog.db.prepare('SELECT * FROM object_removals ORDER BY id').all() as Record<string, unknown>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ ino: gone, tier: 'cold', cause: 'deleted', written_ms: written, size: 640 * KiB, objects: 20 });
    expect(JSON.parse(rows[0]!.backend_bytes as string)).toEqual({ 0: 640 * KiB, 1: 640 * KiB });
    expect(rows[1]).toMatchObject({ ino: moved, cause: 'moved', objects: 4 });
    expect(rows[0]!.time_ms as number).toBeGreaterThanOrEqual(before - 5);
    expect(rows[0]!.time_ms as number).toBeLessThanOrEqual(Date.now() + 5);
  });
});
