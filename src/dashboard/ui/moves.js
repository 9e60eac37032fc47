// Moves: the running moves with progress and rate, the queue (put an entry first, cancel
// it, pause or resume the mover), the audit log with filters, and a form for a manual move, recall or pin.
import { api, bytes, html, int, useEffect, useLive, useRef, useState } from './lib.js';

/** Bytes per second of each running move, from the change between two snapshots. */
function useRates(active) {
  const prev = useRef(new Map());
  const rates = useRef(new Map());
  useEffect(() => {
    const now = Date.now();
    const next = new Map();
    for (const a of active ?? []) {
      const p = prev.current.get(a.id);
      if (p && now > p.t) rates.current.set(a.id, ((a.bytes - p.bytes) * 1000) / (now - p.t));
      next.set(a.id, { bytes: a.bytes, t: now });
    }
    prev.current = next;
  }, [active]);
  return rates.current;
}

export function ManualForm({ tiers, canChange, initialPath = '' }) {
  const [path, setPath] = useState(initialPath);
  const [action, setAction] = useState('move');
  const [tier, setTier] = useState(tiers[0] ?? '');
  const [msg, setMsg] = useState(null);
  useEffect(() => setPath(initialPath), [initialPath]);
  useEffect(() => {
    if (!tier && tiers[0]) setTier(tiers[0]);
  }, [tiers.join()]);
  const submit = async (e) => {
    e.preventDefault();
    setMsg({ text: '…' });
    try {
      const p = path.replace(/^\/+/, '');
      if (action === 'move') await api('v1/move', { method: 'POST', body: { paths: [p], to: tier, wait: false } });
      else if (action === 'recall') await api('v1/recall', { method: 'POST', body: { paths: [p] } });
      else await api('v1/pin', { method: 'POST', body: { path: p, tier: action === 'pin' ? tier : null } });
      setMsg({ text: action === 'move' ? `queued: ${p} → ${tier}` : action === 'recall' ? `recalled: ${p}` : `${action}ned: ${p}`, ok: true });
    } catch (err) {
      setMsg({ text: err.message, ok: false });
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-label="manual move">
    <h2>Move, recall or pin</h2>
    <div class="row">
      <label>path <input name="path" value=${path} onInput=${(e) => setPath(e.target.value)} placeholder="dir/file (in the mount)" required size="30" /></label>
      <label>action <select name="action" value=${action} onChange=${(e) => setAction(e.target.value)}>
        <option value="move">move to</option><option value="recall">recall</option><option value="pin">pin to</option><option value="unpin">unpin</option>
      </select></label>
      ${action === 'move' || action === 'pin'
        ? html`<label>tier <select name="tier" value=${tier} onChange=${(e) => setTier(e.target.value)}>${tiers.map((t) => html`<option value=${t}>${t}</option>`)}</select></label>`
        : null}
      <button class="primary" type="submit" disabled=${!canChange}>go</button>
    </div>
    ${msg ? html`<p class=${msg.ok === false ? 'error' : 'muted'} role="status">${msg.text}</p>` : null}
  </form>`;
}

const SINCE = [
  ['any time', 0],
  ['last hour', 3_600_000],
  ['last day', 86_400_000],
  ['last week', 7 * 86_400_000],
];

export function Moves({ status, canChange }) {
  const moves = useLive('moves');
  const rates = useRates(moves?.active);
  const [filter, setFilter] = useState({ tier: '', result: '', rule: '', since: 0 });
  const [error, setError] = useState(null);
  if (!moves || !status) return html`<p class="muted">waiting for the daemon…</p>`;
  const tiers = status.tiers.map((t) => t.name);
  const act = (f) => f().then(() => setError(null), (e) => setError(e.message));
  const recentById = new Map(moves.recent.map((m) => [m.id, m]));
  const results = [...new Set(moves.recent.map((m) => m.state))];
  const audit = moves.recent.filter(
    (m) =>
      (!filter.tier || m.fromTier === filter.tier || m.toTier === filter.tier) &&
      (!filter.result || m.state === filter.result) &&
      (!filter.rule || m.requestedBy.includes(filter.rule)) &&
      (!filter.since || m.startedMs >= Date.now() - filter.since),
  );
  const set = (k) => (e) => setFilter({ ...filter, [k]: k === 'since' ? Number(e.target.value) : e.target.value });
  // Queue rows are keyed by move id: the queue reorders as live updates come (a move queued
  // elsewhere sorts before another), and an unkeyed row would hand the button under a
  // person's click to a different move — "cancel" would cancel the wrong one.
  return html`
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <div class="grid">
      <section class="card" aria-label="running moves">
        <h2>Running (${moves.active.length})</h2>
        ${moves.active.length === 0 ? html`<p class="muted">no move running</p>` : null}
        ${moves.active.map((a) => {
          const r = recentById.get(a.id);
          const rate = rates.get(a.id);
          return html`<div key=${a.id} data-testid="active-move" data-path=${r?.path ?? ''}>
            <div>${r ? html`<strong>${r.path}</strong> ${r.fromTier} → ${r.toTier}` : `move ${a.id}`}</div>
            <progress max=${a.total || 1} value=${a.bytes} aria-label=${`move ${a.id} progress`}></progress>
            <div class="muted">${bytes(a.bytes)} of ${bytes(a.total)}${rate !== undefined ? ` · ${bytes(rate)}/s` : ''}</div>
          </div>`;
        })}
      </section>
      <section class="card" aria-label="mover">
        <h2>Mover</h2>
        <p>${moves.paused ? html`<span class="warn">paused</span>` : html`<span class="ok">running</span>`}${moves.heldBack ? html` — <span class="muted">${moves.heldBack}</span>` : null}</p>
        ${moves.slowedBy ? html`<p class="muted">${moves.slowedBy}</p>` : null}
        <button disabled=${!canChange} onClick=${() => act(() => api('v1/mover/pause', { method: 'POST', body: { paused: !moves.paused } }))}>
          ${moves.paused ? 'resume the mover' : 'pause the mover'}</button>
      </section>
      <${ManualForm} tiers=${tiers} canChange=${canChange} />
    </div>
    <section class="card" style="margin-top:1rem" aria-label="queue">
      <h2>Queue (${int(moves.queueLength)})</h2>
      <div class="scroll"><table>
        <thead><tr><th>id</th><th>file</th><th>to</th><th class="num">priority</th><th>asked by</th><th>reason</th><th class="num">attempts</th><th></th></tr></thead>
        <tbody>${moves.queued.map((q) => html`<tr key=${q.id} data-testid="queued-move">
          <td>${q.id}</td><td data-ino=${q.ino}>${q.path ?? `inode ${q.ino}`}</td><td>${q.toTier}</td><td class="num">${q.priority}</td><td>${q.requestedBy}</td>
          <td>${q.reason}${q.lastError ? html`<div class="bad">${q.lastError}</div>` : null}</td><td class="num">${q.attempts}</td>
          <td><button disabled=${!canChange || q.priority === 0} onClick=${() => act(() => api('v1/queue/first', { method: 'POST', body: { id: q.id } }))}
              aria-label=${`run move ${q.id} first`} title="run it next, as a manual move">first</button>
            <button disabled=${!canChange} onClick=${() => act(() => api('v1/queue/cancel', { method: 'POST', body: { id: q.id } }))} aria-label=${`cancel move ${q.id}`}>cancel</button></td>
        </tr>`)}</tbody>
      </table></div>
    </section>
    <section class="card" style="margin-top:1rem" aria-label="audit log">
      <h2>Audit log</h2>
      <div class="row">
        <label>tier <select value=${filter.tier} onChange=${set('tier')}><option value="">any</option>${tiers.map((t) => html`<option>${t}</option>`)}</select></label>
        <label>result <select value=${filter.result} onChange=${set('result')}><option value="">any</option>${results.map((t) => html`<option>${t}</option>`)}</select></label>
        <label>rule / asked by <input value=${filter.rule} onInput=${set('rule')} size="12" /></label>
        <label>time <select value=${filter.since} onChange=${set('since')}>${SINCE.map(([l, ms]) => html`<option value=${ms}>${l}</option>`)}</select></label>
      </div>
      <div class="scroll"><table>
        <thead><tr><th>started</th><th>path</th><th>from</th><th>to</th><th>result</th><th>asked by</th><th class="num">bytes</th><th>error</th></tr></thead>
        <tbody>${audit.map((m) => html`<tr data-testid="audit-row" data-path=${m.path} data-to=${m.toTier} data-state=${m.state}>
          <td>${new Date(m.startedMs).toLocaleString()}</td><td>${m.path}</td><td>${m.fromTier}</td><td>${m.toTier}</td>
          <td class=${m.state === 'done' ? 'ok' : m.error ? 'bad' : ''}>${m.state}</td><td>${m.requestedBy}</td><td class="num">${bytes(m.bytes)}</td><td>${m.error ?? ''}</td>
        </tr>`)}</tbody>
      </table></div>
    </section>`;
}
