// The metric reference of docs/MONITORING.md, generated from the definitions
// (`tierfs metrics list --markdown`); a test keeps the document equal to it.
import { DEFINITIONS, type Group } from './definitions.js';
import { historySeries } from './history.js';
import { promDuration, toPromQL } from '../alerts/expr.js';
import { effectiveRules, formatThreshold } from '../alerts/rules.js';

const GROUPS: Group[] = ['tiers', 'mount', 'moves', 'placement', 'recall', 'object stores', 'durability', 'alerts', 'process'];

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function metricsMarkdown(): string {
  const out: string[] = [];
  for (const group of GROUPS) {
    const defs = DEFINITIONS.filter((m) => m.group === group);
    if (defs.length === 0) continue;
    out.push(`### ${group[0]!.toUpperCase()}${group.slice(1)}`, '');
    out.push('| metric | type | labels | what it is | healthy |', '|---|---|---|---|---|');
    for (const m of defs) {
      out.push(`| \`${m.name}\` | ${m.type} (${m.unit}) | ${m.labels.map((l) => `\`${l}\``).join(', ') || '–'} | ${cell(m.help)} | ${cell(m.healthy)} |`);
    }
    out.push('');
  }
  out.push('### History series', '');
  out.push('| series | kept as | labels | downsampled by |', '|---|---|---|---|');
  for (const s of historySeries()) {
    const kept = { gauge: 'value', increase: 'increase over the step', quantile: 'quantile over the step', ratio: 'ratio, computed when read' }[s.kind];
    out.push(`| \`${s.name}\` | ${kept} | ${s.labels.map((l) => `\`${l}\``).join(', ') || '–'} | ${s.kind === 'ratio' ? '–' : s.downsample} |`);
  }
  return `${out.join('\n')}\n`;
}

/** The alert rules of docs/MONITORING.md, generated from src/alerts/rules.ts with their default settings. */
export function alertsMarkdown(): string {
  const out: string[] = [];
  out.push('| rule | severity | for | threshold (default) | condition (PromQL) | what to do |', '|---|---|---|---|---|---|');
  for (const r of effectiveRules()) {
    const th = r.def.threshold;
    const threshold = th ? `${formatThreshold(th.value, th.unit)}: ${th.what}` : '–';
    out.push(`| \`${r.name}\` | ${r.severity} | ${promDuration(r.forMs)} | ${cell(threshold)} | \`${cell(toPromQL(r.expr))}\` | ${cell(r.runbook)} |`);
  }
  return `${out.join('\n')}\n`;
}
