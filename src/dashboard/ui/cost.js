// Cost & capacity: the reports of `tierfs report cost|capacity|advice --json`, read from
// /api/report/… when this daemon serves them.
import { html, useApi } from './lib.js';

/** Any JSON report as nested tables: the numbers exactly as the CLI's --json has them. */
function Value({ v }) {
  if (v === null || v === undefined) return '–';
  if (Array.isArray(v)) {
    if (v.length === 0) return html`<span class="muted">none</span>`;
    if (v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      const keys = [...new Set(v.flatMap((x) => Object.keys(x)))];
      return html`<div class="scroll"><table><thead><tr>${keys.map((k) => html`<th>${k}</th>`)}</tr></thead>
        <tbody>${v.map((x) => html`<tr>${keys.map((k) => html`<td class=${typeof x[k] === 'number' ? 'num' : ''}><${Value} v=${x[k]} /></td>`)}</tr>`)}</tbody></table></div>`;
    }
    return v.map(String).join(', ');
  }
  if (typeof v === 'object') {
    return html`<table><tbody>${Object.entries(v).map(([k, x]) => html`<tr data-key=${k}><th>${k}</th><td class=${typeof x === 'number' ? 'num' : ''}><${Value} v=${x} /></td></tr>`)}</tbody></table>`;
  }
  return String(v);
}

function Report({ name, title }) {
  const r = useApi(`report/${name}`, []);
  return html`<section class="card" data-testid=${`report-${name}`}>
    <h2>${title}</h2>
    ${r.error ? html`<p class="muted" data-testid="unavailable">${r.error.status === 404 ? 'reports not available from this daemon' : r.error.message}</p>`
      : r.data ? html`<${Value} v=${r.data} />` : html`<p class="muted">…</p>`}
  </section>`;
}

export function Cost() {
  return html`<div class="grid">
    <${Report} name="cost" title="Cost" />
    <${Report} name="capacity" title="Capacity forecast" />
    <${Report} name="advice" title="Advice" />
  </div>`;
}
