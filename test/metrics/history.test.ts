// The metrics history in a real catalog, on a clock the test moves: 1-minute points
// (counters as increases, gauges as values, histograms as quantiles), roll-ups into
// hours and days, expiry of each step after its retention, and reads at any step.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Catalog } from '../../src/catalog/catalog.js';
import { MetricsHistoryStore } from '../../src/catalog/metrics.js';
import { definitionOf, type MetricName } from '../../src/metrics/definitions.js';
import { DAY_MS, HOUR_MS, MINUTE_MS, MetricsHistory, quantile, type MetricSource } from '../../src/metrics/history.js';
import { MetricsRegistry, type HistogramSample, type Reading, type Sample } from '../../src/metrics/registry.js';
import { tempDir } from '../helpers/tmp.js';

let dir: ReturnType<typeof tempDir>;
let catalog: Catalog;
let store: MetricsHistoryStore;
let now: number;
/** what the metrics read now, by name */
let values: Map<string, Sample[] | HistogramSample[]>;

const source: MetricSource = {
  async read(name: MetricName): Promise<Reading> {
    const def = definitionOf(name)!;
    const samples = values.get(name) ?? [];
    return def.type === 'histogram'
      ? { type: 'histogram', bounds: def.buckets!, samples: samples as HistogramSample[] }
      : { type: def.type, samples: samples as Sample[] };
  },
};

const T0 = Date.UTC(2026, 0, 1, 0, 0, 30); // 30 s into a day
const history = () => new MetricsHistory(store, source, { now: () => now });
const set = (name: string, samples: Sample[] | HistogramSample[]) => values.set(name, samples);
const values1 = (h: MetricsHistory, series: string, opts: Parameters<MetricsHistory['query']>[1], labels: Record<string, string> = {}) =>
  h.query(series, opts).points.find((p) => JSON.stringify(p.labels) === JSON.stringify(labels))?.values ?? [];

beforeEach(() => {
  dir = tempDir('tierfs-history-');
  catalog = new Catalog(join(dir.path, 'catalog.db'));
  store = new MetricsHistoryStore(catalog.db);
  now = T0;
  values = new Map();
});
afterEach(() => {
  catalog.close();
  dir.remove();
});

describe('the metrics history', () => {
  it('writes a 1-minute point per series: gauges as values, counters as their increase, labels summed down to what is kept', async () => {
    const h = history();
    set('tierfs_tier_used_bytes', [{ labels: { tier: 'hot' }, value: 100 }, { labels: { tier: 'cold' }, value: 7 }]);
    set('tierfs_read_bytes_total', [{ labels: { tier: 'hot' }, value: 1000 }]);
    // kept by tier, backend and code: the op is summed away
    set('tierfs_objectstore_errors_total', [
      { labels: { tier: 'cold', backend: 'a', op: 'get', code: 'Transient' }, value: 2 },
      { labels: { tier: 'cold', backend: 'a', op: 'put', code: 'Transient' }, value: 3 },
    ]);
    await h.sample();
    now += MINUTE_MS;
    set('tierfs_tier_used_bytes', [{ labels: { tier: 'hot' }, value: 200 }, { labels: { tier: 'cold' }, value: 7 }]);
    set('tierfs_read_bytes_total', [{ labels: { tier: 'hot' }, value: 1500 }]);
    await h.sample();
    now += MINUTE_MS;
    await h.sample(); // nothing read in this minute: no point (a counter's missing point is 0)

    const m0 = T0 - 30_000;
    expect(values1(h, 'tierfs_tier_used_bytes', { sinceMs: m0, stepMs: MINUTE_MS }, { tier: 'hot' })).toEqual([[m0, 100], [m0 + MINUTE_MS, 200], [m0 + 2 * MINUTE_MS, 200]]);
    expect(values1(h, 'tier_used_bytes', { sinceMs: m0, stepMs: MINUTE_MS }, { tier: 'cold' })).toEqual([[m0, 7], [m0 + MINUTE_MS, 7], [m0 + 2 * MINUTE_MS, 7]]);
    expect(values1(h, 'tierfs_read_bytes_total', { sinceMs: m0, stepMs: MINUTE_MS }, { tier: 'hot' })).toEqual([[m0, 1000], [m0 + MINUTE_MS, 500]]);
    expect(values1(h, 'tierfs_objectstore_errors_total', { sinceMs: m0, stepMs: MINUTE_MS }, { backend: 'a', code: 'Transient', tier: 'cold' })).toEqual([[m0, 5]]);
    const answer = h.query('tierfs_read_bytes_total', { sinceMs: m0 });
    expect(answer).toMatchObject({ kind: 'increase', unit: 'bytes', stepMs: MINUTE_MS });
  });

  it('keeps histograms as quantiles of each minute, and takes a counter that went down (a restart) as counting from 0', async () => {
    const bounds = definitionOf('tierfs_fuse_request_seconds')!.buckets!;
    const counts = (at: number, n: number) => bounds.map((_, i) => (i === at ? n : 0)).concat(0);
    const i1ms = bounds.indexOf(0.001);
    const i10ms = bounds.indexOf(0.01);
    // 98 requests between 0.5 and 1 ms, 2 between 5 and 10 ms
    set('tierfs_fuse_request_seconds', [
      { labels: { op: 'lookup' }, counts: counts(i1ms, 98), sum: 0.08, count: 98 },
      { labels: { op: 'read' }, counts: counts(i10ms, 2), sum: 0.015, count: 2 },
    ]);
    set('tierfs_moves_total', [{ labels: { from: 'hot', to: 'cold', result: 'ok', by: 'rule' }, value: 5 }]);
    const h = history();
    await h.sample();
    const m0 = T0 - 30_000;
    const [[, p50]] = values1(h, 'tierfs_fuse_request_seconds_p50', { sinceMs: m0, stepMs: MINUTE_MS }) as [[number, number]];
    const [[, p99]] = values1(h, 'tierfs_fuse_request_seconds_p99', { sinceMs: m0, stepMs: MINUTE_MS }) as [[number, number]];
    expect(p50).toBeCloseTo(0.0005 + 0.0005 * (50 / 98), 9);
    expect(p99).toBeCloseTo(0.005 + 0.005 * (1 / 2), 9);
    expect(quantile(0.5, [1, 2], [0, 0, 4])).toBe(2); // above every bound: the highest bound

    // The next minute: 10 more lookups, all under 50 µs; the quantiles are of this minute only.
    set('tierfs_fuse_request_seconds', [
      { labels: { op: 'lookup' }, counts: counts(i1ms, 98).map((n, i) => (i === 0 ? 10 : n)), sum: 0.0802, count: 108 },
      { labels: { op: 'read' }, counts: counts(i10ms, 2), sum: 0.015, count: 2 },
    ]);
    now += MINUTE_MS;
    await h.sample();
    expect(values1(h, 'tierfs_fuse_request_seconds_p99', { sinceMs: m0, stepMs: MINUTE_MS })[1]![1]).toBeLessThanOrEqual(0.00005);

    // A new daemon: its counters start again from 0.
    const restarted = history();
    set('tierfs_moves_total', [{ labels: { from: 'hot', to: 'cold', result: 'ok', by: 'rule' }, value: 2 }]);
    now += MINUTE_MS;
    await restarted.sample();
    expect(values1(restarted, 'tierfs_moves_total', { sinceMs: m0, stepMs: MINUTE_MS }, { from: 'hot', result: 'ok', to: 'cold' }).map(([, v]) => v)).toEqual([5, 2]);
  });

  it('rolls completed hours and days up (counters summed, gauges averaged), serves the hour under way from its minutes, and expires each step after its retention', async () => {
    const h = history();
    let read = 0;
    // three hours, a point a minute: 10 bytes read per minute, use growing by 1 a minute
    for (let i = 0; i < 180; i++) {
      read += 10;
      set('tierfs_read_bytes_total', [{ labels: { tier: 'hot' }, value: read }]);
      set('tierfs_tier_used_bytes', [{ labels: { tier: 'hot' }, value: i }]);
      set('tierfs_backend_up', [{ labels: { tier: 'cold', backend: 'a' }, value: i === 70 ? 0 : 1 }]);
      await h.sample();
      now += MINUTE_MS;
    }
    // now: 03:00:30 — hours 0, 1, 2 are complete and rolled up
    const day0 = T0 - 30_000;
    expect(store.counts().get(HOUR_MS)).toBeGreaterThan(0);
    expect(values1(h, 'tierfs_read_bytes_total', { sinceMs: day0, stepMs: HOUR_MS }, { tier: 'hot' })).toEqual([
      [day0, 600], [day0 + HOUR_MS, 600], [day0 + 2 * HOUR_MS, 600],
    ]);
    expect(values1(h, 'tierfs_tier_used_bytes', { sinceMs: day0, stepMs: HOUR_MS }, { tier: 'hot' })).toEqual([
      [day0, 29.5], [day0 + HOUR_MS, 89.5], [day0 + 2 * HOUR_MS, 149.5],
    ]);
    // backend_up keeps its least value: an hour with a failed probe shows 0
    expect(values1(h, 'tierfs_backend_up', { sinceMs: day0, stepMs: HOUR_MS }, { backend: 'a', tier: 'cold' }).map(([, v]) => v)).toEqual([1, 0, 1]);
    // Coarser steps than kept are made from kept ones; so are finer ones from minutes.
    expect(values1(h, 'tierfs_read_bytes_total', { sinceMs: day0, stepMs: 3 * HOUR_MS }, { tier: 'hot' })).toEqual([[day0, 1800]]);
    expect(values1(h, 'tierfs_read_bytes_total', { sinceMs: day0, stepMs: 30 * MINUTE_MS }, { tier: 'hot' }).map(([, v]) => v)).toEqual([300, 300, 300, 300, 300, 300]);

    // Half an hour more: the hour under way shows what it has so far, from its minutes.
    for (let i = 0; i < 30; i++) {
      read += 10;
      set('tierfs_read_bytes_total', [{ labels: { tier: 'hot' }, value: read }]);
      await h.sample();
      now += MINUTE_MS;
    }
    expect(values1(h, 'tierfs_read_bytes_total', { sinceMs: day0, stepMs: HOUR_MS }, { tier: 'hot' }).at(-1)).toEqual([day0 + 3 * HOUR_MS, 300]);

    // The next day: the day rolls up from its hours.
    now = day0 + DAY_MS + 5 * MINUTE_MS;
    await h.sample();
    expect(values1(h, 'tierfs_read_bytes_total', { sinceMs: day0, stepMs: DAY_MS }, { tier: 'hot' })).toEqual([[day0, 2100]]);
    expect(values1(h, 'tierfs_tier_used_bytes', { sinceMs: day0, stepMs: DAY_MS }, { tier: 'hot' })[0]![1]).toBeCloseTo((29.5 + 89.5 + 149.5 + 179) / 4, 9);

    // Two days on, the minutes are gone; hours and days stay.
    now = day0 + 3 * DAY_MS;
    h.maintain();
    expect(store.points('tierfs_read_bytes_total', MINUTE_MS, 0, now)).toEqual([]);
    expect(store.points('tierfs_read_bytes_total', HOUR_MS, 0, now)).toHaveLength(4);
    // After 90 days, the hours go; after two years, the days.
    now = day0 + 91 * DAY_MS;
    h.maintain();
    expect(store.points('tierfs_read_bytes_total', HOUR_MS, 0, now)).toEqual([]);
    expect(values1(h, 'tierfs_read_bytes_total', { sinceMs: day0 }, { tier: 'hot' })).toEqual([[day0, 2100]]); // a long range reads days
    now = day0 + 732 * DAY_MS; // the last day point (day 1, from the gauges) is two years old too
    h.maintain();
    expect(store.counts().size).toBe(0);
  });

  it('stays bounded: a year of samples every minute keeps at most 2 days of minutes, 90 days of hours and the days', async () => {
    const h = history();
    set('tierfs_tier_files', [{ labels: { tier: 'hot' }, value: 1 }]);
    // Sampling every minute for a year is 525,600 samples; every hour shows the same bounds, faster.
    for (let t = T0; t < T0 + 365 * DAY_MS; t += HOUR_MS) {
      now = t;
      await h.sample();
    }
    const c = store.counts();
    expect(c.get(MINUTE_MS)).toBeLessThanOrEqual((2 * DAY_MS) / HOUR_MS + 1);
    expect(c.get(HOUR_MS)).toBeLessThanOrEqual(90 * 24 + 1);
    expect(c.get(DAY_MS)).toBe(364);
  }, 300_000);

  it('computes the recall cache hit ratio from hits and misses when read', async () => {
    const h = history();
    set('tierfs_recall_cache_hits_total', [{ labels: { layer: 'memory' }, value: 6 }, { labels: { layer: 'disk' }, value: 2 }]);
    set('tierfs_recall_cache_misses_total', [{ labels: {}, value: 2 }]);
    await h.sample();
    now += MINUTE_MS;
    set('tierfs_recall_cache_misses_total', [{ labels: {}, value: 4 }]);
    await h.sample();
    const m0 = T0 - 30_000;
    expect(h.query('recall_cache_hit_ratio', { sinceMs: m0, stepMs: MINUTE_MS }).points).toEqual([{ labels: {}, values: [[m0, 0.8], [m0 + MINUTE_MS, 0]] }]);
    expect(h.query('recall_cache_hit_ratio', { sinceMs: m0, stepMs: HOUR_MS }).points[0]!.values).toEqual([[m0, 8 / 12]]);
  });

  it('refuses an unknown series and a step that is not whole minutes', () => {
    const h = history();
    expect(() => h.query('tierfs_nothing')).toThrow(/no series named/);
    expect(() => h.query('tierfs_tier_files', { stepMs: 90_000 })).toThrow(/whole number of minutes/);
  });

  it('samples the daemon registry itself: fed and pushed metrics alike', async () => {
    const registry = new MetricsRegistry();
    registry.feed('tierfs_tier_files', () => [{ labels: { tier: 'hot' }, value: 42 }]);
    registry.counter('tierfs_move_bytes_total').inc({ from: 'hot', to: 'cold' }, 1234);
    registry.histogram('tierfs_recall_first_byte_seconds').observe(0.02);
    const h = new MetricsHistory(store, registry, { now: () => now });
    await h.sample();
    const m0 = T0 - 30_000;
    expect(values1(h, 'tierfs_tier_files', { sinceMs: m0 }, { tier: 'hot' })).toEqual([[m0, 42]]);
    expect(values1(h, 'tierfs_move_bytes_total', { sinceMs: m0 }, { from: 'hot', to: 'cold' })).toEqual([[m0, 1234]]);
    const [[, p50]] = values1(h, 'tierfs_recall_first_byte_seconds_p50', { sinceMs: m0 }) as [[number, number]];
    expect(p50).toBeGreaterThan(0.01);
    expect(p50).toBeLessThanOrEqual(0.025);
  });
});
