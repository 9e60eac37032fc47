// Overview: each tier's capacity with its watermarks, files and bytes, growth and days to
// full; the alerts firing; throughput, operations, the recall cache and moves over time.
import { Chart } from './chart.js';
import { api, bytes, html, int, pct, RangePicker, useEffect, useState } from './lib.js';

/** Sum a history answer's label sets per key(labels) (or all together), as rates per second when perSecond. */
function linesOf(answer, key = () => 'all', perSecond = false) {
  if (!answer) return [];
  const byKey = new Map();
  for (const p of answer.points) {
    const k = key(p.labels);
    const m = byKey.get(k) ?? new Map();
    for (const [t, v] of p.values) m.set(t, (m.get(t) ?? 0) + (perSecond ? v / (answer.stepMs / 1000) : v));
    byKey.set(k, m);
  }
  return [...byKey].map(([label, m]) => ({ label, values: [...m].sort((a, b) => a[0] - b[0]) }));
}

const SERIES = [
  'tierfs_read_bytes_total',
  'tierfs_write_bytes_total',
  'tierfs_fuse_requests_total',
  'tierfs_recall_cache_hit_ratio',
  'tierfs_recall_cache_hit_bytes_total',
  'tierfs_recall_cache_misses_total',
  'tierfs_recall_cache_hits_total',
  'tierfs_moves_total',
  'tierfs_tier_used_bytes',
];

function useHistory(rangeMs, status) {
  const [h, setH] = useState({});
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      Promise.all(SERIES.map((s) => api(`v1/history?series=${s}&since=${rangeMs}`).then((a) => [s, a])))
        .then((all) => live && (setH(Object.fromEntries(all)), setError(null)))
        .catch((e) => live && setError(e.message));
    load();
    // The history gains a point a minute: read it again as often.
    const t = setInterval(load, 60_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [rangeMs, status === undefined]);
  return { h, error };
}

/** Growth per day of a tier's used bytes over the range, and days until its high watermark. */
function growthOf(answer, tier) {
  const pts = (answer?.points ?? []).find((p) => p.labels.tier === tier.name)?.values ?? [];
  if (pts.length < 2) return { perDay: null, daysToFull: null };
  const [[t0, v0], [t1, v1]] = [pts[0], pts[pts.length - 1]];
  const perDay = ((v1 - v0) / (t1 - t0)) * 86_400_000;
  const room = tier.capacityBytes * tier.watermarks.high - tier.usedBytes;
  return { perDay, daysToFull: perDay > 0 && tier.capacityBytes > 0 ? Math.max(0, room / perDay) : null };
}

function TierCard({ t, growth }) {
  const cap = t.capacityBytes || 0;
  const used = cap > 0 ? Math.min(1, t.usedBytes / cap) : 0;
  return html`<section class="card" data-testid=${`tier-${t.name}`} aria-label=${`tier ${t.name}`}>
    <h2>${t.name} <span class="muted">(${t.kind})</span></h2>
    <div class="bar" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.round(used * 100)}
      aria-label=${`${t.name} use ${pct(used)}, high watermark ${pct(t.watermarks.high)}`}>
      <div class="fill" style=${`width:${used * 100}%`}></div>
      <div class="wm low" style=${`left:${t.watermarks.low * 100}%`} title=${`low watermark ${pct(t.watermarks.low)}`}></div>
      <div class="wm" style=${`left:${t.watermarks.high * 100}%`} title=${`high watermark ${pct(t.watermarks.high)}`}></div>
    </div>
    <p>${cap > 0 ? html`${bytes(t.usedBytes)} used of ${bytes(cap)} (${pct(used)}); watermarks ${pct(t.watermarks.low)}–${pct(t.watermarks.high)}` : html`<span class="muted">no capacity set</span>`}</p>
    <table><tbody>
      <tr><th>files</th><td class="num" data-testid="files">${int(t.files)}</td></tr>
      <tr><th>bytes</th><td class="num"><span data-testid="bytes">${int(t.bytes)}</span> (${bytes(t.bytes)})</td></tr>
      <tr><th>growth</th><td class="num">${growth.perDay === null ? '–' : `${bytes(growth.perDay)}/day`}</td></tr>
      <tr><th>days to high watermark</th><td class="num">${growth.daysToFull === null ? '–' : growth.daysToFull.toFixed(1)}</td></tr>
    </tbody></table>
    ${t.pressure ? html`<p class="warn">${t.pressure}</p>` : null}
    ${t.error ? html`<p class="bad">${t.error}</p>` : null}
  </section>`;
}

export function Overview({ status }) {
  const [range, setRange] = useState(3_600_000);
  const { h, error } = useHistory(range, status);
  if (!status) return html`<p class="muted">waiting for the daemon…</p>`;
  const firing = status.alerts?.firing ?? [];
  const byTier = (l) => l.tier ?? 'all';
  const hits = linesOf(h.tierfs_recall_cache_hits_total)[0];
  const misses = linesOf(h.tierfs_recall_cache_misses_total)[0];
  const moves = linesOf(h.tierfs_moves_total, (l) => `${l.from}→${l.to}`).map((l) => ({
    ...l,
    values: l.values.map(([t, v]) => [t, (v * 3_600_000) / (h.tierfs_moves_total?.stepMs ?? 60_000)]),
  }));
  return html`
    <div class="grid">${status.tiers.map((t) => html`<${TierCard} key=${t.name} t=${t} growth=${growthOf(h.tierfs_tier_used_bytes, t)} />`)}</div>
    <section class="card" style="margin-top:1rem" aria-label="alerts">
      <h2>Alerts</h2>
      ${status.alerts === null ? html`<p class="muted">alerts are off</p>`
        : firing.length === 0 ? html`<p class="ok">none firing${status.alerts.pending ? `; ${status.alerts.pending} pending` : ''}</p>`
        : firing.map((a) => html`<div class="alert" role="alert"><strong>${a.rule}</strong> ${a.summary}</div>`)}
      ${status.admission ? html`<p class="warn">${status.admission}</p>` : null}
      <p class="muted">queue: ${int(status.queue.length)} moves${status.queue.heldBack ? ` — held back: ${status.queue.heldBack}` : ''}</p>
    </section>
    <div class="row"><h2 style="margin:0">Over time</h2><${RangePicker} value=${range} onChange=${setRange} />
      ${error ? html`<span class="muted">${error}</span>` : null}</div>
    <div class="grid">
      <${Chart} title="read throughput per tier" testid="chart-read" lines=${linesOf(h.tierfs_read_bytes_total, byTier, true)} format=${(v) => `${bytes(v)}/s`} />
      <${Chart} title="write throughput per tier" testid="chart-write" lines=${linesOf(h.tierfs_write_bytes_total, byTier, true)} format=${(v) => `${bytes(v)}/s`} />
      <${Chart} title="file system operations" testid="chart-ops" lines=${linesOf(h.tierfs_fuse_requests_total, () => 'ops/s', true)} format=${(v) => `${v.toFixed(1)}/s`} />
      <${Chart} title="recall cache hit ratio (by count)" testid="chart-hit" lines=${linesOf(h.tierfs_recall_cache_hit_ratio, () => 'hit ratio')} format=${pct} />
      <${Chart} title="recall cache: cells hit and missed" testid="chart-hit-bytes"
        lines=${[...(hits ? [{ ...hits, label: 'cells hit' }] : []), ...(misses ? [{ ...misses, label: 'cells missed' }] : [])]} format=${int} />
      <${Chart} title="recall cache: bytes served from the cache" testid="chart-hit-bytes-served"
        lines=${linesOf(h.tierfs_recall_cache_hit_bytes_total, () => 'bytes/s', true)} format=${(v) => `${bytes(v)}/s`} />
      <${Chart} title="moves per hour" testid="chart-moves" lines=${moves} format=${(v) => v.toFixed(0)} />
    </div>`;
}
