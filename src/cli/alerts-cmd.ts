// tierfs alerts: the rules, the alerts pending or firing, and the latest changes.
import type { Command } from 'commander';
import type { AlertsAnswer } from '../alerts/evaluator.js';
import { adminJson, socketPathOf } from '../admin/client.js';
import { promDuration } from '../alerts/expr.js';
import { pickMount } from './info-cmd.js';
import { formatValue } from './metrics-cmd.js';
import { CliError, printJson, table } from './output.js';

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '–';

const iso = (ms: number | null) => (ms === null ? '–' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

export function registerAlertsCommands(program: Command): void {
  program
    .command('alerts')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--limit <n>', 'how many of the latest changes to show', '20')
    .option('--json', 'print as JSON')
    .description('alert rules, the alerts pending or firing now, and the latest changes (pending → firing → resolved)')
    .action(async (mountpoint: string | undefined, opts: { limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!(Number.isInteger(limit) && limit > 0)) throw new CliError('--limit: expected a positive whole number');
      const a = await adminJson<AlertsAnswer>(socketPathOf(pickMount(mountpoint).dataDir), 'GET', `/v1/alerts?limit=${limit}`);
      if (opts.json) return printJson(a);
      const out: string[] = [];
      out.push(a.active.length === 0 ? 'no alert pending or firing' : `alerts (${a.active.filter((x) => x.state === 'firing').length} firing):`);
      if (a.active.length > 0) {
        const rows = a.active.map((x) => [x.state, x.severity, x.rule, labelText(x.labels), iso(x.activeSince), x.summary]);
        out.push(table(['state', 'severity', 'alert', 'labels', 'since', 'summary'], rows));
      }
      out.push('', 'rules:');
      const rows = a.rules.map((r) => [
        r.name, r.severity, r.enabled ? promDuration(r.forMs) : 'off', r.firing, r.pending, r.threshold === null ? '–' : String(r.threshold),
      ]);
      out.push(table(['rule', 'severity', 'for', 'firing', 'pending', 'threshold'], rows));
      if (a.recent.length > 0) {
        out.push('', 'latest changes:');
        const rows = a.recent.map((e) => [iso(e.timeMs), e.state, e.rule, labelText(e.labels), formatValue(e.value, '')]);
        out.push(table(['time', 'state', 'alert', 'labels', 'value'], rows));
      }
      out.push('', a.webhooks.length > 0 ? `webhooks: ${a.webhooks.join(', ')}` : 'webhooks: none configured');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
