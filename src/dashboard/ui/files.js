// Files: the namespace as a file manager shows it — per entry its tier, size, heat, last
// access, pin and class; per directory its bytes per tier; a glob to search it; the
// placement explanation (tierfs where) of a file; select entries and move or pin them.
import { api, bytes, html, int, useApi, useEffect, useLive, useState, when } from './lib.js';

function Where({ path }) {
  const w = useApi(`v1/where?path=${encodeURIComponent(path)}`);
  if (w.error) return html`<p class="error">${w.error.message}</p>`;
  if (!w.data) return html`<p class="muted">…</p>`;
  const d = w.data;
  const row = (k, v) => html`<tr><th>${k}</th><td>${v ?? '–'}</td></tr>`;
  return html`<section class="card" aria-label="where" data-testid="where">
    <h3>${d.path}</h3>
    <table><tbody>
      ${row('tier', d.tier)}${row('volume', d.volume)}${row('state', d.state)}${row('size', `${bytes(d.size)} (${int(d.size)} B)`)}
      ${row('pin', d.pin ? `${d.pin.tier} (set on ${d.pin.on || '/'})` : null)}
      ${row('policy wants', d.placement ? `${d.placement.target ?? 'no move'} — rule ${d.placement.rule}: ${d.placement.reason}` : null)}
      ${row('held back', d.placement?.hold)}${row('capacity', d.capacity)}
      ${row('queued', d.queued ? `→ ${d.queued.toTier} (${d.queued.requestedBy}: ${d.queued.reason})` : null)}
      ${row('layout', d.layout ? `${d.layout.kind} ${d.layout.k}+${d.layout.m}, ${d.layout.stripes} stripes` : null)}
      ${row('access', `${d.access.opens} opens, ${d.access.reads} reads (${bytes(d.access.readBytes)}), ${d.access.writes} writes; last ${when(d.access.lastAccess)}`)}
    </tbody></table>
  </section>`;
}

export function Files({ params, status, canChange }) {
  const dir = params.get('path') ?? '';
  const moves = useLive('moves');
  // A move that finishes changes tiers: list again when the latest one changes.
  const latest = moves?.recent?.[0];
  const ls = useApi(`v1/ls?path=${encodeURIComponent(dir)}`, [dir, latest?.id, latest?.state, moves?.active?.length]);
  const [selected, setSelected] = useState(new Set());
  const [glob, setGlob] = useState('');
  const [shown, setShown] = useState(null);
  const [tier, setTier] = useState('');
  const [msg, setMsg] = useState(null);
  useEffect(() => {
    setSelected(new Set());
    setShown(null);
  }, [dir]);
  const tiers = status?.tiers.map((t) => t.name) ?? [];
  const go = (p) => (location.hash = `#/files?path=${encodeURIComponent(p)}`);
  const parts = dir.split('/').filter(Boolean);
  // A glob searches every file below the directory shown (the policy's glob syntax).
  const [query, setQuery] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQuery(glob.trim()), 300);
    return () => clearTimeout(t);
  }, [glob]);
  const found = useApi(query ? `v1/find?glob=${encodeURIComponent(query)}&path=${encodeURIComponent(dir)}` : null, [query, dir, latest?.id, latest?.state]);
  const entries = (query ? found.data?.entries : ls.data?.entries) ?? [];
  const toggle = (p) => {
    const s = new Set(selected);
    s.has(p) ? s.delete(p) : s.add(p);
    setSelected(s);
  };
  const act = async (kind) => {
    const to = tier || tiers[0];
    const paths = [...selected];
    try {
      if (kind === 'move') await api('v1/move', { method: 'POST', body: { paths, to, wait: false } });
      else for (const p of paths) await api('v1/pin', { method: 'POST', body: { path: p, tier: kind === 'pin' ? to : null } });
      setMsg({ ok: true, text: `${kind === 'move' ? 'queued' : kind === 'pin' ? 'pinned' : 'unpinned'}: ${paths.join(', ')}` });
      ls.reload();
    } catch (e) {
      setMsg({ ok: false, text: e.message });
    }
  };
  return html`
    <div class="row crumbs" aria-label="path">
      <button onClick=${() => go('')}>/</button>
      ${parts.map((p, i) => html`<span>/</span><button onClick=${() => go(parts.slice(0, i + 1).join('/'))}>${p}</button>`)}
    </div>
    ${ls.data ? html`<p class="muted" data-testid="dir-bytes">below here: ${Object.entries(ls.data.bytesByTier).map(([t, b]) => `${t} ${bytes(b)}`).join(' · ') || 'nothing'}</p>` : null}
    ${ls.error ? html`<p class="error">${ls.error.message}</p>` : null}
    ${query && found.error ? html`<p class="error">${found.error.message}</p>` : null}
    ${query && found.data?.truncated ? html`<p class="muted">the first ${found.data.entries.length} matches</p>` : null}
    <div class="row">
      <label>glob <input value=${glob} onInput=${(e) => setGlob(e.target.value)} placeholder="**/*.log" size="14" aria-label="search by glob" /></label>
      <span class="muted">${selected.size} selected</span>
      <label>tier <select value=${tier || tiers[0]} onChange=${(e) => setTier(e.target.value)} aria-label="target tier">${tiers.map((t) => html`<option value=${t}>${t}</option>`)}</select></label>
      <button disabled=${!canChange || selected.size === 0} onClick=${() => act('move')}>move selected</button>
      <button disabled=${!canChange || selected.size === 0} onClick=${() => act('pin')}>pin selected</button>
      <button disabled=${!canChange || selected.size === 0} onClick=${() => act('unpin')}>unpin</button>
    </div>
    ${msg ? html`<p class=${msg.ok ? 'muted' : 'error'} role="status">${msg.text}</p>` : null}
    <div class="two">
      <div class="card scroll">
        <table>
          <thead><tr><th><span class="muted">✓</span></th><th>name</th><th>tier</th><th class="num">size</th><th class="num">heat</th><th>last access</th><th>pin / class</th></tr></thead>
          <tbody>${entries.map((e) => html`<tr data-testid="file-row" data-path=${e.path} data-tier=${e.tier ?? ''}>
            <td><input type="checkbox" checked=${selected.has(e.path)} onChange=${() => toggle(e.path)} aria-label=${`select ${e.name}`} /></td>
            <td>${e.type === 'directory'
              ? html`<button class="link" onClick=${() => go(e.path)}>${e.name}/</button>`
              : html`<button class="link" onClick=${() => setShown(e.path)} aria-label=${`explain ${e.name}`}>${query ? e.path.slice(dir ? dir.length + 1 : 0) : e.name}</button>`}</td>
            <td data-testid="tier">${e.tier ?? '–'}</td><td class="num">${e.type === 'file' ? bytes(e.size) : ''}</td>
            <td class="num">${e.heat === null ? '' : e.heat.toFixed(2)}</td><td>${when(e.lastAccess)}</td>
            <td>${[e.pin && `pinned ${e.pin}`, e.class].filter(Boolean).join(' · ')}</td>
          </tr>`)}</tbody>
        </table>
        ${(query ? found.data : ls.data) && entries.length === 0 ? html`<p class="muted">${query ? 'no match' : 'empty'}</p>` : null}
      </div>
      <div>${shown ? html`<${Where} key=${shown + (latest?.id ?? '')} path=${shown} />` : html`<p class="muted">choose a file to see where it lives and why</p>`}</div>
    </div>`;
}
