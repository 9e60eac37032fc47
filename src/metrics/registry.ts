// The daemon's Prometheus registry, built from the one table of definitions. A metric
// is either updated where its event happens (a prom-client counter, gauge or histogram:
// moves, scrubs, classification passes) or fed: read, at each scrape and each history
// sample, from counters a component keeps anyway (the FUSE request tallies, the recall
// cache, the catalog's usage). Feeding keeps the data path to a plain increment.
import { createRequire } from 'node:module';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { moduleLogger } from '../log.js';
import { DEFINITIONS, definitionOf, type MetricDefinition, type MetricName, type MetricType, type NameOf } from './definitions.js';

const log = moduleLogger('metrics');

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** observations per bucket (not cumulative), one per bound and a last one above every bound */
  counts: readonly number[];
  sum: number;
  count: number;
}

export type Reading = { type: 'counter' | 'gauge'; samples: Sample[] } | { type: 'histogram'; bounds: readonly number[]; samples: HistogramSample[] };

type Reader<T> = () => T[] | Promise<T[]>;

/** The version in package.json (src/metrics and dist/metrics sit two levels below it). */
export function tierfsVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** A metric whose values are read from elsewhere when asked for, in prom-client's shape. */
class FedMetric {
  readonly aggregator = 'sum';

  constructor(
    private readonly def: MetricDefinition,
    private readonly read: Reader<Sample> | Reader<HistogramSample>,
  ) {}

  get name(): string {
    return this.def.name;
  }

  get help(): string {
    return this.def.help;
  }

  get type(): MetricType {
    return this.def.type;
  }

  async samples(): Promise<Sample[] | HistogramSample[]> {
    try {
      return await this.read();
    } catch (err) {
      // One source failing (a volume gone) must not take the rest of /metrics with it.
      log.warn({ metric: this.def.name, err: (err as Error).message }, 'cannot read a metric');
      return [];
    }
  }

  /** prom-client's registry formats what this returns, as it does its own metrics. */
  async get() {
    const samples = await this.samples();
    if (this.def.type !== 'histogram') return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: samples as Sample[] };
    const bounds = this.def.buckets ?? [];
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const h of samples as HistogramSample[]) {
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += h.counts[i] ?? 0;
        values.push({ labels: { ...h.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...h.labels, le: '+Inf' }, value: h.count, metricName: `${this.name}_bucket` });
      values.push({ labels: h.labels, value: h.sum, metricName: `${this.name}_sum` });
      values.push({ labels: h.labels, value: h.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    // nothing kept here
  }
}

type PromMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, PromMetric | FedMetric>();

  /** processMetrics: prom-client's default metrics of the Node process (the daemon wants them; tests need not). */
  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    for (const def of DEFINITIONS) {
      const common = { name: def.name, help: def.help, labelNames: [...def.labels], registers };
      const metric =
        def.type === 'counter' ? new Counter(common) : def.type === 'gauge' ? new Gauge(common) : new Histogram({ ...common, buckets: [...(def.buckets ?? [])] });
      this.metrics.set(def.name, metric);
    }
    this.gauge('tierfs_build_info').set({ version: tierfsVersion() }, 1);
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  counter(name: NameOf<'counter'>): Counter<string> {
    return this.metrics.get(name) as Counter<string>;
  }

  gauge(name: NameOf<'gauge'>): Gauge<string> {
    return this.metrics.get(name) as Gauge<string>;
  }

  histogram(name: NameOf<'histogram'>): Histogram<string> {
    return this.metrics.get(name) as Histogram<string>;
  }

  /** From now on the metric's values are whatever `read` returns when it is scraped or sampled. */
  feed(name: NameOf<'counter' | 'gauge'>, read: Reader<Sample>): void {
    this.replace(name, read);
  }

  feedHistogram(name: NameOf<'histogram'>, read: Reader<HistogramSample>): void {
    this.replace(name, read);
  }

  private replace(name: MetricName, read: Reader<Sample> | Reader<HistogramSample>): void {
    const def = definitionOf(name)!;
    const fed = new FedMetric(def, read);
    this.registry.removeSingleMetric(name);
    this.registry.registerMetric(fed as unknown as Metric);
    this.metrics.set(name, fed);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** The values of one metric of the table, now (for the history). */
  async read(name: MetricName): Promise<Reading> {
    const metric = this.metrics.get(name);
    if (!metric) throw new RangeError(`no metric named ${name}`);
    const def = definitionOf(name)!;
    if (metric instanceof FedMetric) {
      const samples = await metric.samples();
      return def.type === 'histogram'
        ? { type: 'histogram', bounds: def.buckets ?? [], samples: samples as HistogramSample[] }
        : { type: def.type, samples: samples as Sample[] };
    }
    const got = await metric.get();
    if (def.type !== 'histogram') {
      return { type: def.type, samples: got.values.map((v) => ({ labels: stringLabels(v.labels), value: v.value })) };
    }
    return { type: 'histogram', bounds: def.buckets ?? [], samples: histogramSamples(name, def.buckets ?? [], got.values) };
  }
}

function stringLabels(labels: Record<string, string | number | undefined>): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** prom-client's histogram values (cumulative buckets, sum, count, labels splayed) back into samples. */
function histogramSamples(
  name: string,
  bounds: readonly number[],
  values: { labels: Record<string, string | number | undefined>; value: number; metricName?: string }[],
): HistogramSample[] {
  const byLabels = new Map<string, { labels: Labels; cumulative: Map<string, number>; sum: number; count: number }>();
  for (const v of values) {
    const { le, ...rest } = v.labels;
    const labels = stringLabels(rest);
    const key = JSON.stringify(Object.entries(labels).sort());
    const entry = byLabels.get(key) ?? { labels, cumulative: new Map<string, number>(), sum: 0, count: 0 };
    byLabels.set(key, entry);
    if (v.metricName === `${name}_bucket`) entry.cumulative.set(String(le), v.value);
    else if (v.metricName === `${name}_sum`) entry.sum = v.value;
    else if (v.metricName === `${name}_count`) entry.count = v.value;
  }
  return [...byLabels.values()].map((e) => {
    let below = 0;
    const counts = bounds.map((b) => {
      const c = e.cumulative.get(String(b)) ?? below;
      const n = c - below;
      below = c;
      return n;
    });
    counts.push(e.count - below);
    return { labels: e.labels, counts, sum: e.sum, count: e.count };
  });
}
