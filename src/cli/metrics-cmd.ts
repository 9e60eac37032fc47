// tierfs metrics list, tierfs history
import type { Command } from 'commander';
import { adminJson, socketPathOf } from '../admin/client.js';
import { parseDuration } from '../config/units.js';
import { METRICS } from '../metrics/definitions.js';
import { alertsMarkdown, metricsMarkdown } from '../metrics/docs.js';
import { historySeries, type HistoryAnswer, type SeriesInfo } from '../metrics/history.js';
import { pickMount } from './info-cmd.js';
import { configFile } from './mount-cmd.js';
import { loadConfig } from '../config/load.js';
import { prometheusRulesYaml } from '../alerts/prometheus-rules.js';
import { grafanaDashboard } from '../metrics/grafana.js';
import { CliError, formatBytes, printJson, table } from './output.js';

function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`);
  }
}

/** A value as people read it, by the series' unit. */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'bytes') return formatBytes(Math.round(value));
  if (unit === 'seconds') return value < 1 ? `${(value * 1000).toPrecision(3)} ms` : `${value.toPrecision(3)} s`;
  if (unit === 'ratio') return `${(value * 100).toFixed(1)}%`;
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || 'value';

export function registerMetricsCommands(program: Command): void {
  const metrics = program.command('metrics').description('the metrics tierfs exports (and, for an existing Prometheus, rules and dashboards)');
  metrics
    .command('list')
    .option('--json', 'print as JSON')
    .option('--markdown', 'print the reference of docs/MONITORING.md')
    .description('every metric: name, type, labels, what it is and what a healthy value looks like')
    .action((opts: { json?: boolean; markdown?: boolean }) => {
      if (opts.json) return printJson(METRICS);
      if (opts.markdown) return void process.stdout.write(metricsMarkdown());
      const rows = METRICS.map((m) => [m.name, m.type, m.labels.join(',') || '–', m.help]);
      process.stdout.write(`${table(['metric', 'type', 'labels', 'what it is'], rows)}\n`);
    });

  // Both need only the configuration (the alerts section's overrides), never a mount.
  metrics
    .command('rules')
    .option('-c, --config <file>', 'configuration file whose alerts section applies (default: ./tierfs.yaml, else the defaults)')
    .option('--markdown', 'print the rule reference of docs/MONITORING.md (the defaults) instead')
    .description('the built-in alert rules as a Prometheus rule file (YAML), for an existing Prometheus')
    .action((opts: { config?: string; markdown?: boolean }) => {
      if (opts.markdown) return void process.stdout.write(alertsMarkdown());
      const { config } = loadConfig(configFile(opts.config));
      process.stdout.write(prometheusRulesYaml(config.alerts));
    });
  metrics
    .command('grafana')
    .description('a Grafana dashboard (JSON) over the metrics of every tierfs host an existing Prometheus scrapes')
    .action(() => printJson(grafanaDashboard()));

  program
    .command('history')
    .argument('[series]', 'a series (without one: the list); the "tierfs_" prefix may be left out')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--since <duration>', 'how far back, e.g. 6h, 7d (default 1d)')
    .option('--step <duration>', 'one point per step, e.g. 1m, 1h, 1d (default: chosen for --since)')
    .option('--json', 'print as JSON')
    .description('the metrics history kept in the catalog: 1-minute points for 2 days, 1-hour for 90 days, 1-day for 2 years')
    .action(async (series: string | undefined, mountpoint: string | undefined, opts: { since?: string; step?: string; json?: boolean }) => {
      if (!series) {
        // What the history keeps is the definitions' business, not a mount's.
        const list: SeriesInfo[] = historySeries();
        if (opts.json) return printJson(list);
        const rows = list.map((s) => [s.name, s.kind, s.labels.join(',') || '–', s.help]);
        return void process.stdout.write(`${table(['series', 'kept as', 'labels', 'what it is'], rows)}\n`);
      }
      const socket = socketPathOf(pickMount(mountpoint).dataDir);
      const query = new URLSearchParams({ series });
      const since = durationFlag('--since', opts.since);
      const step = durationFlag('--step', opts.step);
      if (since !== undefined) query.set('since', String(since));
      if (step !== undefined) query.set('step', String(step));
      const h = await adminJson<HistoryAnswer>(socket, 'GET', `/v1/history?${query}`);
      if (opts.json) return printJson(h);
      const per = h.kind === 'increase' ? ` (increase per ${h.stepMs / 60_000} min)` : h.kind === 'quantile' ? ` (per ${h.stepMs / 60_000} min)` : '';
      process.stdout.write(`${h.series}${per}: ${h.help}\n\n`);
      if (h.points.length === 0) return void process.stdout.write('no points in this range\n');
      const times = [...new Set(h.points.flatMap((p) => p.values.map(([t]) => t)))].sort((a, b) => a - b);
      const byLabels = h.points.map((p) => new Map(p.values));
      const rows = times.map((t) => [new Date(t).toISOString(), ...byLabels.map((vals) => (vals.has(t) ? formatValue(vals.get(t)!, h.unit) : '–'))]);
      process.stdout.write(`${table(['time', ...h.points.map((p) => labelText(p.labels))], rows)}\n`);
    });
}
