// The metrics history kept in the catalog: every minute the sampler reads the series the
// definitions mark for history and writes a 1-minute point of each (a counter as its
// increase over the minute, a gauge as its value, a histogram as quantiles); completed
// hours and days are rolled up into 1-hour and 1-day points, and each step's points
// expire after its retention, so the table stays bounded. The clock is passed in: tests
// (and the simulator) run years of history in no time.
import { FsError } from '../errors.js';
import type { MetricsHistoryStore, Point } from '../catalog/metrics.js';
import { DEFINITIONS, DERIVED_SERIES, type MetricDefinition, type MetricName, type Unit } from './definitions.js';
import type { HistogramSample, Labels, Reading, Sample } from './registry.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
const STEPS = [DAY_MS, HOUR_MS, MINUTE_MS] as const;

/** How long the points of each step are kept. */
export interface Retention {
  minuteMs: number;
  hourMs: number;
  dayMs: number;
}

export const DEFAULT_RETENTION: Retention = { minuteMs: 2 * DAY_MS, hourMs: 90 * DAY_MS, dayMs: 730 * DAY_MS };

export type SeriesKind = 'gauge' | 'increase' | 'quantile' | 'ratio';
export type Downsample = 'sum' | 'avg' | 'min' | 'max';

/** One series of the history, as `tierfs history` lists it. */
export interface SeriesInfo {
  name: string;
  help: string;
  unit: Unit;
  /** increase: a counter's growth over each point's step; ratio: computed from other series when read */
  kind: SeriesKind;
  downsample: Downsample;
  /** the labels a point carries */
  labels: readonly string[];
}

interface StoredSeries extends SeriesInfo {
  metric: MetricDefinition;
  quantile?: number;
}

const quantileName = (metric: string, q: number) => `${metric}_p${String(Math.round(q * 1000) / 10).replace('.', '')}`;

function storedSeries(): StoredSeries[] {
  const out: StoredSeries[] = [];
  for (const m of DEFINITIONS) {
    const h = m.history;
    if (!h) continue;
    if (m.type === 'histogram') {
      for (const q of h.quantiles ?? []) {
        out.push({
          name: quantileName(m.name, q), help: `${m.help} — the ${q * 100}th percentile over each point's step, all labels together`,
          unit: m.unit, kind: 'quantile', downsample: q >= 0.9 ? 'max' : 'avg', labels: [], metric: m, quantile: q,
        });
      }
    } else {
      out.push({
        name: m.name, help: m.help, unit: m.unit, kind: m.type === 'counter' ? 'increase' : 'gauge',
        downsample: m.type === 'counter' ? 'sum' : (h.downsample ?? 'avg'), labels: h.by ?? m.labels, metric: m,
      });
    }
  }
  return out;
}

const STORED = storedSeries();
const STORED_BY_NAME = new Map(STORED.map((s) => [s.name, s]));

/** Every series of the history: stored ones, then those computed from them. */
export function historySeries(): SeriesInfo[] {
  const strip = ({ metric: _m, quantile: _q, ...info }: StoredSeries): SeriesInfo => info;
  return [
    ...STORED.map(strip),
    ...DERIVED_SERIES.map((d): SeriesInfo => ({ name: d.name, help: d.help, unit: d.unit, kind: 'ratio', downsample: 'avg', labels: [] })),
  ];
}

/** A series by name; the "tierfs_" prefix may be left out. */
export function findSeries(name: string): SeriesInfo | undefined {
  const all = historySeries();
  return all.find((s) => s.name === name) ?? all.find((s) => s.name === `tierfs_${name}`);
}

/** Labels as stored: JSON with sorted keys. */
export function labelKey(labels: Labels): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function keep(labels: Labels, by: readonly string[]): Labels {
  const out: Labels = {};
  for (const k of by) if (labels[k] !== undefined) out[k] = labels[k];
  return out;
}

/** The value below which a share q of the observations fall, interpolated within its bucket (as PromQL's histogram_quantile). */
export function quantile(q: number, bounds: readonly number[], counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (below + n >= rank && n > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? 0; // above every bound: the highest one is all that is known
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return bounds[bounds.length - 1] ?? 0;
}

export interface HistoryPoints {
  labels: Labels;
  /** [start of the step (ms since the epoch), value] */
  values: [number, number][];
}

export interface HistoryAnswer {
  series: string;
  help: string;
  unit: Unit;
  kind: SeriesKind;
  stepMs: number;
  sinceMs: number;
  untilMs: number;
  points: HistoryPoints[];
}

export interface MetricSource {
  read(name: MetricName): Promise<Reading>;
}

export interface HistoryOptions {
  retention?: Retention;
  /** the clock; tests pass their own */
  now?: () => number;
}

export class MetricsHistory {
  readonly retention: Retention;
  private readonly now: () => number;
  /** counters and histograms as last sampled, to take increases from */
  private readonly lastTotals = new Map<string, Map<string, number>>();
  private readonly lastBuckets = new Map<string, number[]>();

  constructor(
    private readonly store: MetricsHistoryStore,
    private readonly source: MetricSource,
    opts: HistoryOptions = {},
  ) {
    this.retention = opts.retention ?? DEFAULT_RETENTION;
    this.now = opts.now ?? Date.now;
  }

  /** One tick: a 1-minute point of every series, then roll-ups and expiry. */
  async sample(): Promise<{ points: number }> {
    const now = this.now();
    const timeMs = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const points: Point[] = [];
    const seen = new Set<string>();
    for (const s of STORED) {
      if (seen.has(s.metric.name)) continue;
      seen.add(s.metric.name);
      const reading = await this.source.read(s.metric.name as MetricName);
      if (reading.type === 'histogram') points.push(...this.quantilePoints(s.metric, reading.bounds, reading.samples, timeMs));
      else points.push(...this.valuePoints(s, reading.samples, timeMs));
    }
    // A second sample within one minute (a restart) adds to a counter's point and replaces a gauge's.
    this.store.add(points, (p) => STORED_BY_NAME.get(p.series)?.kind === 'increase');
    this.maintain(now);
    return { points: points.length };
  }

  private valuePoints(s: StoredSeries, samples: Sample[], timeMs: number): Point[] {
    const totals = new Map<string, number>();
    for (const x of samples) {
      const key = labelKey(keep(x.labels, s.labels));
      totals.set(key, (totals.get(key) ?? 0) + x.value);
    }
    if (s.kind === 'gauge') return [...totals].map(([labels, value]) => ({ series: s.name, labels, stepMs: MINUTE_MS, timeMs, value }));
    // Counters start at 0 with the process, so the first sample's increase is all it counted since.
    const last = this.lastTotals.get(s.name) ?? new Map<string, number>();
    // A set of labels missing from one reading keeps its total: when it shows again, only its growth counts.
    this.lastTotals.set(s.name, new Map([...last, ...totals]));
    const out: Point[] = [];
    for (const [labels, total] of totals) {
      const before = last.get(labels) ?? 0;
      const increase = total >= before ? total - before : total;
      if (increase > 0) out.push({ series: s.name, labels, stepMs: MINUTE_MS, timeMs, value: increase });
    }
    return out;
  }

  private quantilePoints(metric: MetricDefinition, bounds: readonly number[], samples: HistogramSample[], timeMs: number): Point[] {
    const total = new Array<number>(bounds.length + 1).fill(0);
    for (const h of samples) h.counts.forEach((n, i) => (total[i] = total[i]! + n));
    const last = this.lastBuckets.get(metric.name) ?? new Array<number>(bounds.length + 1).fill(0);
    this.lastBuckets.set(metric.name, total);
    const reset = total.some((n, i) => n < last[i]!);
    const delta = total.map((n, i) => (reset ? n : n - last[i]!));
    if (delta.every((n) => n === 0)) return [];
    return (metric.history?.quantiles ?? []).map((q) => ({
      series: quantileName(metric.name, q), labels: '{}', stepMs: MINUTE_MS, timeMs, value: quantile(q, bounds, delta),
    }));
  }

  /** Roll completed hours and days up, then drop what is past its retention. */
  maintain(now = this.now()): void {
    this.rollUp(MINUTE_MS, HOUR_MS, now);
    this.rollUp(HOUR_MS, DAY_MS, now);
    this.store.expire(MINUTE_MS, now - this.retention.minuteMs);
    this.store.expire(HOUR_MS, now - this.retention.hourMs);
    this.store.expire(DAY_MS, now - this.retention.dayMs);
  }

  private rollUp(fine: number, coarse: number, now: number): void {
    const complete = Math.floor(now / coarse) * coarse; // periods that end by then are complete
    const latest = this.store.latestTime(coarse);
    const earliest = this.store.earliestTime(fine);
    const from = latest !== undefined ? latest + coarse : earliest !== undefined ? Math.floor(earliest / coarse) * coarse : undefined;
    if (from === undefined || from >= complete) return;
    const rows = this.store.aggregate(fine, coarse, from, complete);
    this.store.add(
      rows.map((r) => ({ series: r.series, labels: r.labels, stepMs: coarse, timeMs: r.timeMs, value: r[STORED_BY_NAME.get(r.series)?.downsample ?? 'avg'] })),
      () => false,
    );
  }

  /**
   * The points of a series since `sinceMs` (or over the last `rangeMs`, default a day) at `stepMs` (a whole number of minutes; by
   * default the finest step that keeps the whole range). A step the history does not
   * keep is made from the coarsest one that divides it; the period not rolled up yet
   * comes from finer points, so the last hour or day shows what it holds so far.
   */
  query(name: string, opts: { sinceMs?: number; rangeMs?: number; stepMs?: number } = {}): HistoryAnswer {
    const info = findSeries(name);
    if (!info) throw new FsError('ENOENT', `no series named ${name} in the history (tierfs history lists them)`);
    const untilMs = this.now();
    const sinceMs = opts.sinceMs ?? untilMs - (opts.rangeMs ?? DAY_MS);
    const stepMs = opts.stepMs ?? this.defaultStep(untilMs - sinceMs);
    if (!Number.isInteger(stepMs) || stepMs <= 0 || stepMs % MINUTE_MS !== 0) throw new FsError('EINVAL', 'the step must be a whole number of minutes');
    const from = Math.floor(sinceMs / stepMs) * stepMs;
    const base = { series: info.name, help: info.help, unit: info.unit, kind: info.kind, stepMs, sinceMs: from, untilMs };
    if (info.kind !== 'ratio') return { ...base, points: this.bucketed(info, from, untilMs, stepMs) };

    const derived = DERIVED_SERIES.find((d) => d.name === info.name)!;
    const summed = (names: readonly string[]) => {
      const out = new Map<number, number>();
      for (const n of names) for (const p of this.bucketed(STORED_BY_NAME.get(n)!, from, untilMs, stepMs)) for (const [t, v] of p.values) out.set(t, (out.get(t) ?? 0) + v);
      return out;
    };
    const num = summed(derived.numerator);
    const den = summed(derived.denominator);
    const values = [...den].filter(([, d]) => d > 0).sort(([a], [b]) => a - b).map(([t, d]): [number, number] => [t, (num.get(t) ?? 0) / d]);
    return { ...base, points: values.length > 0 ? [{ labels: {}, values }] : [] };
  }

  private defaultStep(rangeMs: number): number {
    if (rangeMs <= DAY_MS && rangeMs <= this.retention.minuteMs) return MINUTE_MS;
    if (rangeMs <= this.retention.hourMs) return HOUR_MS;
    return DAY_MS;
  }

  /** A stored series' points in [from, until), at stepMs, one list per set of labels. */
  private bucketed(info: SeriesInfo, from: number, until: number, stepMs: number): HistoryPoints[] {
    const baseStep = STEPS.find((s) => stepMs % s === 0)!;
    const rows: { labels: string; timeMs: number; value: number }[] = [];
    let cursor = from;
    for (const level of STEPS.filter((s) => s <= baseStep)) {
      const got = this.store.points(info.name, level, cursor, until);
      rows.push(...got);
      if (got.length > 0) cursor = Math.max(cursor, got[got.length - 1]!.timeMs + level);
    }
    const groups = new Map<string, Map<number, number[]>>();
    for (const r of rows) {
      const byTime = groups.get(r.labels) ?? new Map<number, number[]>();
      groups.set(r.labels, byTime);
      const t = Math.floor(r.timeMs / stepMs) * stepMs;
      byTime.set(t, [...(byTime.get(t) ?? []), r.value]);
    }
    const combine = (vs: number[]) =>
      info.downsample === 'sum'
        ? vs.reduce((a, b) => a + b, 0)
        : info.downsample === 'max'
          ? Math.max(...vs)
          : info.downsample === 'min'
            ? Math.min(...vs)
            : vs.reduce((a, b) => a + b, 0) / vs.length;
    return [...groups]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([labels, byTime]) => ({
        labels: JSON.parse(labels) as Labels,
        values: [...byTime].sort(([a], [b]) => a - b).map(([t, vs]): [number, number] => [t, combine(vs)]),
      }));
  }
}
