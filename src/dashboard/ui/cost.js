// Cost & capacity: the reports of `tierfs report cost|capacity|advice --json`, read from
// /api/report/… (the same JSON): the month to date and projected, by tier, backend or
// directory; the capacity forecast per tier with its interval; the advice with its savings.
import { Chart } from './chart.js';
import { bytes, html, int, pct, useApi, useState } from './lib.js';

/** Dollars: cents for sums of a dollar or more, four decimals below (small mounts cost fractions of a cent). */
export const usd = (n) => (n === null || n === undefined ? '–' : `$${Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(4)}`);
const days = (d) => (d === null || d === undefined ? '–' : d === 0 ? 'now' : d >= 3650 ? '> 10 years' : `${d.toFixed(d < 10 ? 1 : 0)} d`);
const CHARGES = [
  ['storageUsd', 'storage'],
  ['writeRequestsUsd', 'write requests'],
  ['readRequestsUsd', 'read requests'],
  ['retrievalUsd', 'retrieval'],
  ['egressUsd', 'egress'],
  ['earlyDeletionUsd', 'early deletion'],
  ['objectSizeUsd', 'object size minimums'],
  ['monitoringUsd', 'monitoring'],
];

function unavailable(r) {
  return r.error?.status === 404
    ? html`<p class="muted" data-testid="unavailable">reports not available from this daemon</p>`
    : html`<p class="error">${r.error.message}</p>`;
}

function CostCard() {
  const [by, setBy] = useState('tier');
  const r = useApi(`report/cost?by=${by}`, [by]);
  const c = r.data;
  return html`<section class="card" data-testid="report-cost" aria-label="cost">
    <h2>Cost ${c ? html`<span class="muted">${c.month}, ${pct(c.period.elapsedFraction)} of it gone</span>` : null}</h2>
    ${r.error ? unavailable(r) : !c ? html`<p class="muted">…</p>` : html`
      <table><tbody>
        <tr><th>month to date</th><td class="num" data-testid="cost-mtd">${usd(c.monthToDate.totalUsd)}</td></tr>
        <tr><th>projected month</th><td class="num" data-testid="cost-projected">${usd(c.projectedMonth.totalUsd)}</td></tr>
        <tr><th>per GB-month of files</th><td class="num">${c.effectiveUsdPerGBMonth === null ? '–' : usd(c.effectiveUsdPerGBMonth)}</td></tr>
      </tbody></table>
      <h3>By charge</h3>
      <table><thead><tr><th>charge</th><th class="num">to date</th><th class="num">projected</th></tr></thead>
        <tbody>${CHARGES.filter(([k]) => c.projectedMonth[k] || c.monthToDate[k]).map(([k, label]) => html`<tr><td>${label}</td><td class="num">${usd(c.monthToDate[k])}</td><td class="num">${usd(c.projectedMonth[k])}</td></tr>`)}</tbody></table>
      <div class="row"><h3 style="margin:0">By</h3>
        <select value=${by} onChange=${(e) => setBy(e.target.value)} aria-label="cost by"><option value="tier">tier</option><option value="backend">backend</option><option value="dir">directory</option></select></div>
      <div class="scroll">${by === 'dir'
        ? html`<table><thead><tr><th>directory</th><th class="num">files</th><th class="num">bytes</th><th class="num">storage / month</th></tr></thead>
            <tbody>${c.rows.map((d) => html`<tr data-testid="cost-row"><td>${d.dir}</td><td class="num">${int(d.files)}</td><td class="num">${bytes(d.bytes)}</td><td class="num">${usd(d.storageUsdPerMonth)}</td></tr>`)}</tbody></table>`
        : html`<table><thead><tr><th>tier</th>${by === 'backend' ? html`<th>backend</th>` : null}<th>price class</th><th class="num">stored</th><th class="num">to date</th><th class="num">projected</th></tr></thead>
            <tbody>${c.rows.map((x) => html`<tr data-testid="cost-row" data-tier=${x.tier}><td>${x.tier}</td>${by === 'backend' ? html`<td>${x.backend}</td>` : null}<td>${x.priceClass}</td>
              <td class="num">${bytes(x.storedBytesNow)}</td><td class="num">${usd(x.monthToDate.totalUsd)}</td><td class="num" data-testid="row-projected">${usd(x.projectedMonth.totalUsd)}</td></tr>`)}</tbody></table>`}</div>
      ${c.lastMonths.length > 0 ? html`<h3>Earlier months</h3><p>${c.lastMonths.map((m) => `${m.month}: ${usd(m.totalUsd)}`).join(' · ')}</p>` : null}
      ${c.notes.map((n) => html`<p class="muted">${n}</p>`)}`}
  </section>`;
}

/** The used bytes per day, then the forecast at the median, soonest (p90) and latest (p10) growth. */
function forecastLines(t) {
  const pts = t.daily.map((d) => [d.timeMs, d.usedBytes]);
  const lines = [{ label: 'used', values: pts }];
  const last = pts.at(-1);
  if (last && t.growthBytesPerDay !== null) {
    const horizon = Math.min(365, Math.max(7, t.daysToHighWatermark?.latest ?? t.daysToHighWatermark?.estimate ?? 30));
    const at = (slope) => [last, [last[0] + horizon * 86_400_000, last[1] + slope * horizon]];
    lines.push({ label: 'forecast', values: at(t.growthBytesPerDay) });
    if (t.growthBytesPerDayP90 !== null) lines.push({ label: 'soonest (p90)', values: at(t.growthBytesPerDayP90) });
    if (t.growthBytesPerDayP10 !== null) lines.push({ label: 'latest (p10)', values: at(t.growthBytesPerDayP10) });
    if (t.highWatermarkBytes > 0) lines.push({ label: 'high watermark', values: [[pts[0][0], t.highWatermarkBytes], [last[0] + horizon * 86_400_000, t.highWatermarkBytes]] });
  }
  return lines;
}

function CapacityCard() {
  const r = useApi('report/capacity', []);
  const c = r.data;
  return html`<section class="card wide" data-testid="report-capacity" aria-label="capacity">
    <h2>Capacity forecast ${c ? html`<span class="muted">(${c.method}, last ${c.windowDays} days)</span>` : null}</h2>
    ${r.error ? unavailable(r) : !c ? html`<p class="muted">…</p>` : html`
      <div class="scroll"><table><thead><tr><th>tier</th><th>status</th><th class="num">used</th><th class="num">growth / day</th><th>to high watermark</th><th>to full</th></tr></thead>
        <tbody>${c.tiers.map((t) => html`<tr data-testid="capacity-row" data-tier=${t.tier}>
          <td>${t.tier}</td><td>${t.status}</td><td class="num" data-testid="used">${int(t.usedBytesNow)}</td>
          <td class="num">${t.growthBytesPerDay === null ? '–' : `${bytes(t.growthBytesPerDay)} (${bytes(t.growthBytesPerDayP10)}…${bytes(t.growthBytesPerDayP90)})`}</td>
          <td>${t.daysToHighWatermark ? `${days(t.daysToHighWatermark.estimate)} (${days(t.daysToHighWatermark.earliest)}…${days(t.daysToHighWatermark.latest)})` : '–'}</td>
          <td>${t.daysToFull ? `${days(t.daysToFull.estimate)} (${days(t.daysToFull.earliest)}…${days(t.daysToFull.latest)})` : '–'}</td>
        </tr>`)}</tbody></table></div>`}
  </section>
  ${c ? c.tiers.filter((t) => t.daily.length > 1).map((t) => html`<${Chart} key=${t.tier} title=${`${t.tier}: used bytes and forecast`} testid=${`forecast-${t.tier}`} lines=${forecastLines(t)} format=${bytes} />`) : null}`;
}

function AdviceCard() {
  const r = useApi('report/advice', []);
  const a = r.data;
  return html`<section class="card" data-testid="report-advice" aria-label="advice">
    <h2>Advice ${a ? html`<span class="muted">saves about <span data-testid="advice-total">${usd(a.totalEstSavingsUsdPerMonth)}</span> a month</span>` : null}</h2>
    ${r.error ? unavailable(r) : !a ? html`<p class="muted">…</p>` : a.advice.length === 0 ? html`<p class="ok">nothing to advise</p>` : html`
      <div class="scroll"><table><thead><tr><th>tier</th><th>what</th><th>do</th><th class="num">files</th><th class="num">bytes</th><th class="num">saves / month</th></tr></thead>
        <tbody>${a.advice.map((x) => html`<tr data-testid="advice-row"><td>${x.tier}</td><td>${x.reason}</td><td>${x.action}</td><td class="num">${int(x.files)}</td><td class="num">${bytes(x.bytes)}</td><td class="num">${usd(x.estSavingsUsdPerMonth)}</td></tr>`)}</tbody></table></div>`}
  </section>`;
}

export function Cost() {
  return html`<div class="grid"><${CostCard} /><${AdviceCard} /></div>
    <div style="margin-top:1rem" class="grid"><${CapacityCard} /></div>`;
}
