// Object stores: per backend its state (up/down), request rate, latency p50/p99, errors by
// kind and bytes in/out — read from /metrics, the numbers Prometheus scrapes — and per
// object tier its degraded reads, scrub state and stripes at risk.
import { bytes, html, int, parseExposition, pct, useEffect, useRef, useState } from './lib.js';

const REQ = 'tierfs_objectstore_requests_total';
const BYTES = 'tierfs_objectstore_bytes_total';
const ERR = 'tierfs_objectstore_errors_total';
const LAT = 'tierfs_objectstore_request_duration_seconds_bucket';

/** The q-quantile of cumulative histogram buckets [(le, count)], as Prometheus estimates it. */
function quantile(q, buckets) {
  const b = [...buckets].sort((x, y) => x[0] - y[0]);
  const total = b.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of b) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    [prevLe, prevCount] = [le, count];
  }
  return prevLe;
}

function summarize(samples) {
  const backends = new Map();
  const get = (l) => {
    const k = `${l.tier}/${l.backend}`;
    if (!backends.has(k)) backends.set(k, { tier: l.tier, backend: l.backend, up: null, requests: 0, in: 0, out: 0, errors: {}, buckets: new Map() });
    return backends.get(k);
  };
  const tiers = new Map();
  const tierOf = (t) => (tiers.has(t) ? tiers.get(t) : (tiers.set(t, { degraded: 0, atRisk: 0 }), tiers.get(t)));
  const scrub = { checked: 0, bad: 0 };
  for (const s of samples) {
    const l = s.labels;
    if (s.name === 'tierfs_backend_up') get(l).up = s.value;
    else if (s.name === REQ) get(l).requests += s.value;
    else if (s.name === BYTES) get(l)[l.op === 'put' ? 'out' : 'in'] += s.value;
    else if (s.name === ERR) get(l).errors[l.code] = (get(l).errors[l.code] ?? 0) + s.value;
    else if (s.name === LAT) {
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      const b = get(l).buckets;
      b.set(le, (b.get(le) ?? 0) + s.value);
    } else if (s.name === 'tierfs_degraded_reads_total') tierOf(l.tier).degraded += s.value;
    else if (s.name === 'tierfs_stripes_at_risk') tierOf(l.tier).atRisk += s.value;
    else if (s.name === 'tierfs_scrub_cells_checked_total') scrub.checked += s.value;
    else if (s.name === 'tierfs_scrub_cells_bad_total') scrub.bad += s.value;
  }
  return { backends: [...backends.values()], tiers, scrub, at: Date.now() };
}

export function Stores({ status }) {
  const [now, setNow] = useState(null);
  const [error, setError] = useState(null);
  const prev = useRef(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      fetch('/metrics', { credentials: 'same-origin' })
        .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`/metrics: ${r.status}`))))
        .then((t) => {
          if (!live) return;
          setNow((cur) => ((prev.current = cur), summarize(parseExposition(t))));
          setError(null);
        })
        .catch((e) => live && setError(e.message));
    load();
    const t = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);
  const objectTiers = status?.tiers.filter((t) => t.kind === 'object') ?? [];
  if (status && objectTiers.length === 0) return html`<p class="muted">this mount has no object tier</p>`;
  if (!now) return html`<p class="muted">${error ?? 'reading /metrics…'}</p>`;
  const rate = (b, k) => {
    const p = prev.current?.backends.find((x) => x.tier === b.tier && x.backend === b.backend);
    return p ? ((b[k] - p[k]) * 1000) / Math.max(1, now.at - prev.current.at) : null;
  };
  return html`
    ${error ? html`<p class="error">${error}</p>` : null}
    <div class="grid">${objectTiers.map((t) => {
      const x = now.tiers.get(t.name) ?? { degraded: 0, atRisk: 0 };
      return html`<section class="card" data-testid=${`store-tier-${t.name}`}><h2>${t.name}</h2>
        <p>${int(t.files)} files, ${bytes(t.bytes)}; survives ${t.survivesBackendLosses ?? '–'} backend losses</p>
        <p>degraded reads: ${int(x.degraded)} · stripes at risk: <span class=${x.atRisk > 0 ? 'bad' : 'ok'}>${int(x.atRisk)}</span></p>
        <p class="muted">scrub (all tiers): ${int(now.scrub.checked)} cells checked, ${int(now.scrub.bad)} bad</p></section>`;
    })}</div>
    <section class="card" style="margin-top:1rem"><h2>Backends</h2><div class="scroll"><table>
      <thead><tr><th>tier</th><th>backend</th><th>state</th><th class="num">requests/s</th><th class="num">requests</th><th class="num">p50</th><th class="num">p99</th>
        <th>errors</th><th class="num">in</th><th class="num">out</th><th class="num">error ratio</th></tr></thead>
      <tbody>${now.backends.map((b) => {
        const errors = Object.values(b.errors).reduce((a, c) => a + c, 0);
        const buckets = [...b.buckets];
        const ms = (s) => (s === null ? '–' : `${(s * 1000).toFixed(1)} ms`);
        const r = rate(b, 'requests');
        return html`<tr data-testid="backend-row">
          <td>${b.tier}</td><td>${b.backend}</td>
          <td class=${b.up === 1 ? 'ok' : b.up === 0 ? 'bad' : 'muted'}>${b.up === 1 ? 'up' : b.up === 0 ? 'down' : '?'}</td>
          <td class="num">${r === null ? '–' : r.toFixed(1)}</td><td class="num">${int(b.requests)}</td>
          <td class="num">${ms(quantile(0.5, buckets))}</td><td class="num">${ms(quantile(0.99, buckets))}</td>
          <td>${Object.entries(b.errors).map(([k, v]) => `${k}: ${int(v)}`).join(', ') || 'none'}</td>
          <td class="num">${bytes(b.in)}</td><td class="num">${bytes(b.out)}</td><td class="num">${b.requests ? pct(errors / b.requests) : '–'}</td>
        </tr>`;
      })}</tbody></table></div></section>`;
}
