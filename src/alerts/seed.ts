// Samples for the alert evaluator's windows from the metrics history in the catalog, so
// that a restarted daemon's rules over a range (forecasts, error ratios, a queue that has
// not shrunk) see the hours before the restart instead of starting blind — and a firing
// forecast does not resolve for want of data. Gauges come back as their 1-minute values,
// counters as the running sum of their 1-minute increases (a counter that starts again
// from 0 at the restart reads as a reset, as it does in Prometheus). Histograms are kept
// only as quantiles: their rules wait for new samples.
import type { MetricsHistoryStore } from '../catalog/metrics.js';
import { findSeries, MINUTE_MS } from '../metrics/history.js';
import type { Labels, SeriesSamples, TimedSample } from './expr.js';

export type SeedSource = (metric: string, fromMs: number, toMs: number) => SeriesSamples[];

export function historySeed(store: MetricsHistoryStore): SeedSource {
  return (metric, fromMs, toMs) => {
    const info = findSeries(metric);
    if (!info || info.name !== metric || (info.kind !== 'gauge' && info.kind !== 'increase')) return [];
    const byLabels = new Map<string, TimedSample[]>();
    for (const p of store.points(metric, MINUTE_MS, fromMs, toMs)) {
      const samples = byLabels.get(p.labels) ?? [];
      byLabels.set(p.labels, samples);
      if (info.kind === 'gauge') samples.push({ t: p.timeMs, value: p.value });
      else {
        // The first increase grew from 0 over the minute before its point.
        if (samples.length === 0) samples.push({ t: p.timeMs - MINUTE_MS, value: 0 });
        samples.push({ t: p.timeMs, value: samples[samples.length - 1]!.value + p.value });
      }
    }
    return [...byLabels].map(([labels, samples]) => ({ labels: JSON.parse(labels) as Labels, samples }));
  };
}
