// The capacity forecast on synthetic daily series whose answer is known: linear growth,
// flat, noisy, shrinking, a step; and what it says with too little history.
import { describe, expect, it } from 'vitest';
import { forecastCapacity, theilSen } from '../../src/cost/forecast.js';
import { DAY_MS } from '../../src/cost/model.js';

const GB = 2 ** 30;
const T0 = Date.UTC(2026, 10, 1);

/** 28 daily points of f(day). */
const series = (f: (d: number) => number, days = 28): [number, number][] => Array.from({ length: days }, (_, d) => [T0 + d * DAY_MS, f(d)]);

/** A seeded uniform in [-1, 1): the same noise every run. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1;
}

const cap = { capacityBytes: 200 * GB, highWatermark: 0.9 };
const run = (pts: [number, number][]) => forecastCapacity(pts, { ...cap, usedNow: pts.at(-1)![1] });

describe('capacity forecast', () => {
  it('linear growth of 2 GB/day from 100 GB: high watermark (180 GB) in 13 days, full in 23', () => {
    const f = run(series((d) => 100 * GB + 2 * GB * d)); // now at 154 GB
    expect(f.status).toBe('filling');
    expect(f.trend!.perDay / GB).toBeCloseTo(2, 6);
    expect(f.daysToHighWatermark!.estimate).toBeCloseTo(13, 3);
    expect(f.daysToFull!.estimate).toBeCloseTo(23, 3);
    // no noise: the interval is the estimate
    expect(f.daysToFull!.earliest).toBeCloseTo(23, 3);
    expect(f.daysToFull!.latest).toBeCloseTo(23, 3);
  });

  it('flat use is not filling, and never reaches the watermark', () => {
    const f = run(series(() => 120 * GB));
    expect(f.status).toBe('not filling');
    expect(f.daysToFull!.estimate).toBeNull();
    expect(f.daysToFull!.latest).toBeNull();
  });

  it('shrinking use is not filling', () => {
    const f = run(series((d) => 150 * GB - GB * d));
    expect(f.status).toBe('not filling');
    expect(f.trend!.perDay).toBeLessThan(0);
    expect(f.daysToHighWatermark!.estimate).toBeNull();
  });

  it('noise: the estimate stays near the trend, and the interval widens as the noise grows', () => {
    const widths: number[] = [];
    for (const amplitude of [0.5, 2, 6]) {
      const r = noise(42);
      const f = run(series((d) => 100 * GB + 2 * GB * d + amplitude * GB * r()));
      // 23 days without noise; the last noisy point moves "now" by up to the amplitude (half a day per GB)
      expect(Math.abs(f.daysToFull!.estimate! - 23)).toBeLessThan(amplitude / 2 + 1);
      widths.push(f.trend!.perDayP90 - f.trend!.perDayP10);
    }
    expect(widths[0]).toBeLessThan(widths[1]!);
    expect(widths[1]).toBeLessThan(widths[2]!);
  });

  it('a step (a bulk copy one day) does not swing the slope: 1 GB/day plus 30 GB on day 20', () => {
    const f = run(series((d) => 100 * GB + GB * d + (d >= 20 ? 30 * GB : 0))); // now 157 GB
    expect(f.trend!.perDay / GB).toBeCloseTo(1, 6);
    expect(f.daysToHighWatermark!.estimate).toBeCloseTo(23, 3);
    expect(f.daysToFull!.estimate).toBeCloseTo(43, 3);
    // the jump shows in the upper percentile: the earliest date comes sooner
    expect(f.daysToFull!.earliest!).toBeLessThan(43);
  });

  it('looks at the last 28 days only: old growth followed by a flat month is not filling', () => {
    const pts = series((d) => (d < 30 ? 10 * GB * d : 300 * GB), 60);
    expect(forecastCapacity(pts, { capacityBytes: 1000 * GB, highWatermark: 0.9, usedNow: 300 * GB }).status).toBe('not filling');
  });

  it('says when the history is too short, and when there is no bound', () => {
    expect(run(series((d) => GB * d, 5)).status).toBe('history too short');
    expect(forecastCapacity(series((d) => GB * d), { capacityBytes: 0, highWatermark: 0.9, usedNow: 27 * GB }).status).toBe('unbounded');
    expect(forecastCapacity(series((d) => GB * d), { capacityBytes: 20 * GB, highWatermark: 0.9, usedNow: 27 * GB }).status).toBe('reached');
  });

  it('Theil–Sen ignores an outlier a least-squares line would follow', () => {
    const pts = series((d) => (d === 27 ? 1000 : d));
    expect(theilSen(pts)!.perDay).toBeCloseTo(1, 6);
  });
});

describe('tierfs report capacity, from the history in a catalog', () => {
  it('reads daily used bytes and files per tier and forecasts from them', async () => {
    const { costFixture } = await import('./fixture.js');
    const f = costFixture();
    try {
      // hot (100 GiB, high watermark 90%): 50 GiB growing 1 GiB and 10 files a day for 28 days
      for (let d = 0; d < 28; d++) {
        f.point('tierfs_tier_used_bytes', { tier: 'hot' }, T0 + d * DAY_MS, 50 * GB + d * GB, DAY_MS);
        f.point('tierfs_tier_files', { tier: 'hot' }, T0 + d * DAY_MS, 1000 + 10 * d, DAY_MS);
        f.point('tierfs_tier_used_bytes', { tier: 'cold' }, T0 + d * DAY_MS, 5 * GB, DAY_MS);
      }
      const { capacityReport } = await import('../../src/cost/report.js');
      const r = capacityReport({ db: f.catalog.db, config: f.config, nowMs: T0 + 27 * DAY_MS + 3_600_000 });
      const hot = r.tiers.find((t) => t.tier === 'hot')!;
      expect(hot).toMatchObject({ capacityBytes: 100 * GB, usedBytesNow: 77 * GB, historyDays: 28, status: 'filling' });
      expect(hot.growthBytesPerDay! / GB).toBeCloseTo(1, 9);
      expect(hot.growthBytesPerWeek! / GB).toBeCloseTo(7, 9);
      expect(hot.growthFilesPerDay).toBeCloseTo(10, 9);
      expect(hot.daysToHighWatermark!.estimate).toBeCloseTo(13, 6); // (90 - 77) / 1
      expect(hot.daysToFull!.estimate).toBeCloseTo(23, 6);
      expect(hot.daily[0]).toMatchObject({ date: '2026-11-01', usedBytes: 50 * GB, files: 1000 });
      // cold has no capacity configured: unbounded, its trend still given
      const cold = r.tiers.find((t) => t.tier === 'cold')!;
      expect(cold.status).toBe('unbounded');
      expect(cold.growthBytesPerDay).toBe(0);
    } finally {
      f.dispose();
    }
  });
});
