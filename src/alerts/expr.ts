// A small expression form for alert rules and dashboard queries: a subset of PromQL as
// data. Each expression is rendered as PromQL (the Prometheus rule file, the Grafana
// dashboard) and evaluated by the daemon's own evaluator over the samples it takes of its
// registry — both from the same tree, so the built-in alerts and an operator's
// Prometheus can never be given two different rules.
//
// Evaluation follows PromQL where it matters for a threshold: instant vectors are the
// current readings; rate and increase are taken over the samples in the range (counter
// resets handled, without PromQL's extrapolation to the range's edges, which changes a
// rate by a few percent and a ratio of two rates not at all); predict_linear is the same
// least-squares line; comparisons filter; vector matching is one-to-one on every label,
// or on the labels named. Labels an operator's Prometheus adds (instance, job) are simply
// absent here, so `sum by (instance, tier)` groups by tier alone.
import { quantile } from '../metrics/history.js';

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~';
  value: string;
}

export type Expr =
  /** an instant vector: the metric's current value per series (`offset`: its value that long ago) */
  | { kind: 'metric'; name: string; match?: readonly Matcher[]; offsetMs?: number }
  | { kind: 'number'; value: number }
  /** a function over the metric's samples within the range */
  | { kind: 'range'; fn: 'rate' | 'increase' | 'min_over_time' | 'max_over_time'; name: string; match?: readonly Matcher[]; rangeMs: number }
  /** predict_linear(name[range], seconds): where a least-squares line through the range is `seconds` from now */
  | { kind: 'predict'; name: string; rangeMs: number; seconds: number }
  /** histogram_quantile(q, sum by (by…, le) (rate(name_bucket[range]))) */
  | { kind: 'quantile'; q: number; name: string; by: readonly string[]; rangeMs: number; match?: readonly Matcher[] }
  | { kind: 'sum'; by: readonly string[]; of: Expr }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; on?: readonly string[] };

export type BinaryOp = '/' | '*' | '-' | '+' | '>' | '>=' | '<' | '==' | 'and' | 'unless';

// ── building ──────────────────────────────────────────────────────────────────
export const metric = (name: string, match?: Matcher[], offsetMs?: number): Expr => ({ kind: 'metric', name, match, offsetMs });
export const num = (value: number): Expr => ({ kind: 'number', value });
export const rate = (name: string, rangeMs: number, match?: Matcher[]): Expr => ({ kind: 'range', fn: 'rate', name, rangeMs, match });
export const increase = (name: string, rangeMs: number, match?: Matcher[]): Expr => ({ kind: 'range', fn: 'increase', name, rangeMs, match });
export const minOverTime = (name: string, rangeMs: number): Expr => ({ kind: 'range', fn: 'min_over_time', name, rangeMs });
export const predictLinear = (name: string, rangeMs: number, seconds: number): Expr => ({ kind: 'predict', name, rangeMs, seconds });
export const histogramQuantile = (q: number, name: string, by: string[], rangeMs: number): Expr => ({ kind: 'quantile', q, name, by, rangeMs });
export const sumBy = (by: string[], of: Expr): Expr => ({ kind: 'sum', by, of });
export const bin = (op: BinaryOp, left: Expr, right: Expr, on?: string[]): Expr => ({ kind: 'binary', op, left, right, on });

/** The labels Prometheus adds to every scraped series: kept apart when summing, so a fleet's hosts are not added together. */
export const HOST_LABELS = ['instance'] as const;

// ── PromQL ────────────────────────────────────────────────────────────────────
const UNITS: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];

/** A duration as PromQL writes it: "6h", "10m", "1h30m". */
export function promDuration(ms: number): string {
  let rest = ms;
  let out = '';
  for (const [size, unit] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  if (rest > 0) out += `${rest}ms`;
  return out || '0s';
}

const quote = (s: string) => JSON.stringify(s);

export interface RenderOptions {
  /** added to every selector, e.g. instance=~"$instance" on a dashboard */
  extraMatchers?: readonly string[];
  /** written instead of the range of rate, increase and quantiles, e.g. Grafana's $__rate_interval */
  rateRange?: string;
}

function selector(name: string, match: readonly Matcher[] | undefined, opts: RenderOptions): string {
  const parts = [...(match ?? []).map((m) => `${m.label}${m.op}${quote(m.value)}`), ...(opts.extraMatchers ?? [])];
  return parts.length > 0 ? `${name}{${parts.join(', ')}}` : name;
}

/** The expression as PromQL; every binary operation in parentheses, so precedence never decides. */
export function toPromQL(e: Expr, opts: RenderOptions = {}, top = true): string {
  const wrap = (s: string) => (top ? s : `(${s})`);
  switch (e.kind) {
    case 'metric':
      return selector(e.name, e.match, opts) + (e.offsetMs ? ` offset ${promDuration(e.offsetMs)}` : '');
    case 'number':
      return String(e.value);
    case 'range': {
      const range = e.fn === 'rate' || e.fn === 'increase' ? (opts.rateRange ?? promDuration(e.rangeMs)) : promDuration(e.rangeMs);
      return `${e.fn}(${selector(e.name, e.match, opts)}[${range}])`;
    }
    case 'predict':
      return `predict_linear(${selector(e.name, undefined, opts)}[${promDuration(e.rangeMs)}], ${e.seconds})`;
    case 'quantile':
      return `histogram_quantile(${e.q}, sum by (${[...e.by, 'le'].join(', ')}) (rate(${selector(`${e.name}_bucket`, e.match, opts)}[${opts.rateRange ?? promDuration(e.rangeMs)}])))`;
    case 'sum':
      return `sum by (${e.by.join(', ')}) (${toPromQL(e.of, opts)})`;
    case 'binary': {
      const on = e.on ? ` on (${e.on.join(', ')})` : '';
      return wrap(`${toPromQL(e.left, opts, false)} ${e.op}${on} ${toPromQL(e.right, opts, false)}`);
    }
  }
}

/** The metric names an expression reads (histograms by their family name). */
export function metricsOf(e: Expr): string[] {
  switch (e.kind) {
    case 'number':
      return [];
    case 'sum':
      return metricsOf(e.of);
    case 'binary':
      return [...new Set([...metricsOf(e.left), ...metricsOf(e.right)])];
    default:
      return [e.name];
  }
}

/** The longest span of past samples an expression needs (ranges, offsets). */
export function lookbackOf(e: Expr): number {
  switch (e.kind) {
    case 'metric':
      return e.offsetMs ? e.offsetMs + LOOKBACK_MS : 0;
    case 'number':
      return 0;
    case 'range':
    case 'predict':
    case 'quantile':
      return e.rangeMs;
    case 'sum':
      return lookbackOf(e.of);
    case 'binary':
      return Math.max(lookbackOf(e.left), lookbackOf(e.right));
  }
}

// ── evaluation ────────────────────────────────────────────────────────────────
export type Labels = Record<string, string>;

export interface VectorSample {
  labels: Labels;
  value: number;
}

/** One series' samples over time: a value, or (histograms) bucket counts, not cumulative. */
export interface TimedSample {
  t: number;
  value: number;
  counts?: readonly number[];
}

export interface SeriesSamples {
  labels: Labels;
  samples: readonly TimedSample[];
}

/** What an expression is evaluated against: the series of a metric, with their samples up to now. */
export interface EvalSource {
  now: number;
  series(name: string): readonly SeriesSamples[];
  /** histogram bounds of a metric */
  bounds(name: string): readonly number[];
}

/** PromQL's lookback for an instant vector taken at an offset: the latest sample at most this old. */
export const LOOKBACK_MS = 5 * 60_000;

const matches = (labels: Labels, match: readonly Matcher[] | undefined) =>
  (match ?? []).every((m) => {
    const v = labels[m.label] ?? '';
    return m.op === '=' ? v === m.value : m.op === '!=' ? v !== m.value : new RegExp(`^(?:${m.value})$`).test(v);
  });

const signature = (labels: Labels, on?: readonly string[]) =>
  JSON.stringify(Object.entries(labels).filter(([k]) => !on || on.includes(k)).sort(([a], [b]) => (a < b ? -1 : 1)));

const keep = (labels: Labels, by: readonly string[]) => Object.fromEntries(Object.entries(labels).filter(([k]) => by.includes(k)));

/** Samples in (now - range, now]. */
const inRange = (s: readonly TimedSample[], now: number, rangeMs: number) => s.filter((x) => x.t > now - rangeMs && x.t <= now);

/** A counter's growth over samples, a drop taken as a restart from 0. */
function growth(values: readonly number[]): number {
  let total = 0;
  for (let i = 1; i < values.length; i++) total += values[i]! >= values[i - 1]! ? values[i]! - values[i - 1]! : values[i]!;
  return total;
}

/** Least squares through the samples; the line's value `seconds` after now (PromQL's predict_linear). */
function predict(samples: readonly TimedSample[], now: number, seconds: number): number | undefined {
  if (samples.length < 2) return undefined;
  const xs = samples.map((s) => (s.t - now) / 1000);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = samples.reduce((a, s) => a + s.value, 0) / n;
  let sxy = 0;
  let sxx = 0;
  samples.forEach((s, i) => {
    sxy += (xs[i]! - mx) * (s.value - my);
    sxx += (xs[i]! - mx) ** 2;
  });
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx; // at now
  return intercept + slope * seconds;
}

const COMPARE: Partial<Record<BinaryOp, (a: number, b: number) => boolean>> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '==': (a, b) => a === b,
};
const ARITH: Partial<Record<BinaryOp, (a: number, b: number) => number>> = {
  '/': (a, b) => a / b,
  '*': (a, b) => a * b,
  '-': (a, b) => a - b,
  '+': (a, b) => a + b,
};

type Value = { scalar: number } | { vector: VectorSample[] };

function evalAny(e: Expr, src: EvalSource): Value {
  const { now } = src;
  switch (e.kind) {
    case 'number':
      return { scalar: e.value };
    case 'metric': {
      const at = now - (e.offsetMs ?? 0);
      const vector: VectorSample[] = [];
      for (const s of src.series(e.name)) {
        if (!matches(s.labels, e.match)) continue;
        const last = [...s.samples].reverse().find((x) => x.t <= at);
        if (!last || (e.offsetMs && last.t <= at - LOOKBACK_MS)) continue;
        if (!e.offsetMs && last.t !== now) continue; // a series gone from the registry is gone
        vector.push({ labels: s.labels, value: last.value });
      }
      return { vector };
    }
    case 'range': {
      const vector: VectorSample[] = [];
      for (const s of src.series(e.name)) {
        if (!matches(s.labels, e.match)) continue;
        const xs = inRange(s.samples, now, e.rangeMs);
        if (xs.length === 0 || ((e.fn === 'rate' || e.fn === 'increase') && xs.length < 2)) continue;
        const values = xs.map((x) => x.value);
        const value =
          e.fn === 'min_over_time' ? Math.min(...values)
          : e.fn === 'max_over_time' ? Math.max(...values)
          : e.fn === 'increase' ? growth(values)
          : growth(values) / ((xs[xs.length - 1]!.t - xs[0]!.t) / 1000);
        vector.push({ labels: s.labels, value });
      }
      return { vector };
    }
    case 'predict': {
      const vector: VectorSample[] = [];
      for (const s of src.series(e.name)) {
        const value = predict(inRange(s.samples, now, e.rangeMs), now, e.seconds);
        if (value !== undefined) vector.push({ labels: s.labels, value });
      }
      return { vector };
    }
    case 'quantile': {
      const bounds = src.bounds(e.name);
      const groups = new Map<string, { labels: Labels; counts: number[] }>();
      for (const s of src.series(e.name)) {
        if (!matches(s.labels, e.match)) continue;
        const xs = inRange(s.samples, now, e.rangeMs).filter((x) => x.counts);
        if (xs.length < 2) continue;
        const labels = keep(s.labels, e.by);
        const key = signature(labels);
        const g = groups.get(key) ?? { labels, counts: new Array<number>(bounds.length + 1).fill(0) };
        groups.set(key, g);
        // The rate of each bucket; the time between first and last sample divides them all alike.
        for (let i = 0; i <= bounds.length; i++) g.counts[i]! += growth(xs.map((x) => x.counts![i] ?? 0));
      }
      const vector: VectorSample[] = [];
      for (const g of groups.values()) {
        const value = quantile(e.q, bounds, g.counts);
        if (!Number.isNaN(value)) vector.push({ labels: g.labels, value });
      }
      return { vector };
    }
    case 'sum': {
      const inner = evalAny(e.of, src);
      if ('scalar' in inner) return inner;
      const groups = new Map<string, VectorSample>();
      for (const x of inner.vector) {
        const labels = keep(x.labels, e.by);
        const key = signature(labels);
        const g = groups.get(key);
        if (g) g.value += x.value;
        else groups.set(key, { labels, value: x.value });
      }
      return { vector: [...groups.values()] };
    }
    case 'binary':
      return evalBinary(e, evalAny(e.left, src), evalAny(e.right, src));
  }
}

function evalBinary(e: Extract<Expr, { kind: 'binary' }>, l: Value, r: Value): Value {
  const compare = COMPARE[e.op];
  const arith = ARITH[e.op];
  if ('scalar' in l && 'scalar' in r) {
    if (arith) return { scalar: arith(l.scalar, r.scalar) };
    throw new Error(`${e.op} needs a vector`);
  }
  if ('scalar' in r || 'scalar' in l) {
    const vector = 'vector' in l ? l.vector : (r as { vector: VectorSample[] }).vector;
    const scalar = 'scalar' in r ? r.scalar : (l as { scalar: number }).scalar;
    const pair = (v: number): [number, number] => ('scalar' in r ? [v, scalar] : [scalar, v]);
    if (compare) return { vector: vector.filter((x) => compare(...pair(x.value))) };
    if (arith) return { vector: vector.map((x) => ({ labels: x.labels, value: arith(...pair(x.value)) })) };
    throw new Error(`${e.op} needs two vectors`);
  }
  const right = new Map(r.vector.map((x) => [signature(x.labels, e.on), x]));
  if (e.op === 'and') return { vector: l.vector.filter((x) => right.has(signature(x.labels, e.on))) };
  if (e.op === 'unless') return { vector: l.vector.filter((x) => !right.has(signature(x.labels, e.on))) };
  const out: VectorSample[] = [];
  for (const x of l.vector) {
    const y = right.get(signature(x.labels, e.on));
    if (!y) continue;
    if (compare) {
      if (compare(x.value, y.value)) out.push(x);
    } else out.push({ labels: x.labels, value: arith!(x.value, y.value) });
  }
  return { vector: out };
}

/** The series for which the expression holds now, with their values (an alert rule's instances). */
export function evaluate(e: Expr, src: EvalSource): VectorSample[] {
  const v = evalAny(e, src);
  return 'vector' in v ? v.vector : [];
}
