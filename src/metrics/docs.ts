// The metric reference of docs/MONITORING.md, generated from the definitions
// (`tierfs metrics list --markdown`); a test keeps the document equal to it.
import { DEFINITIONS, type Group } from './definitions.js';
import { historySeries } from './history.js';

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
