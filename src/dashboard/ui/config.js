// Configuration: the running YAML in an editor checked as you type (the daemon's own
// parser and schema: each problem at its key and line), the key-by-key diff and what the
// new policy would move before Apply, and the version history with diffs and Rollback.
import { api, bytes, html, int, useApi, useEffect, useRef, useState } from './lib.js';

function Impact({ answer }) {
  const i = answer.impact;
  return html`<div data-testid="impact">
    <h3>Changes (from version ${answer.base})</h3>
    ${answer.lines.length === 0 ? html`<p class="muted">no change</p>` : html`<pre class="lines" data-testid="diff">${answer.lines.join('\n')}</pre>`}
    <h3>What would move</h3>
    <p>${int(i.examined)} files examined; ${i.flows.length === 0 ? 'nothing would move' : ''}</p>
    ${i.flows.length > 0 ? html`<table><thead><tr><th>from</th><th>to</th><th class="num">files</th><th class="num">bytes</th><th>rules</th></tr></thead>
      <tbody>${i.flows.map((f) => html`<tr data-testid="flow"><td>${f.from}</td><td>${f.to}</td><td class="num">${int(f.files)}</td><td class="num">${bytes(f.bytes)}</td><td>${f.rules.join(', ')}</td></tr>`)}</tbody></table>` : null}
    <table><thead><tr><th>tier</th><th class="num">now</th><th class="num">after</th><th></th></tr></thead>
      <tbody>${i.tiers.map((t) => html`<tr><td>${t.tier}</td><td class="num">${bytes(t.bytesNow)}</td><td class="num">${bytes(t.bytesAfter)}</td><td class=${t.aboveHigh ? 'bad' : ''}>${t.aboveHigh ? 'above its high watermark' : ''}</td></tr>`)}</tbody></table>
  </div>`;
}

function Editor({ text, onInput, problems }) {
  const gutter = useRef(null);
  const lines = text.split('\n').length;
  const bad = new Set(problems.map((p) => p.line).filter(Boolean));
  return html`<div class="editor">
    <pre class="gutter" ref=${gutter} aria-hidden="true">${Array.from({ length: lines }, (_, i) => html`<span class=${bad.has(i + 1) ? 'bad' : ''}>${i + 1}</span>`)}</pre>
    <textarea spellcheck="false" aria-label="configuration (YAML)" data-testid="yaml" value=${text}
      onInput=${(e) => onInput(e.target.value)} onScroll=${(e) => gutter.current && (gutter.current.scrollTop = e.target.scrollTop)}></textarea>
  </div>`;
}

export function Configuration({ canChange }) {
  const current = useApi('v1/config/version', []);
  const versions = useApi('v1/config/versions', []);
  const [text, setText] = useState(null);
  const [problems, setProblems] = useState([]);
  const [preview, setPreview] = useState(null); // { text, answer } or a rollback { version, answer }
  const [msg, setMsg] = useState(null);
  const [diff, setDiff] = useState(null);
  const timer = useRef(null);
  useEffect(() => {
    if (current.data && text === null) setText(current.data.text);
  }, [current.data]);
  const validate = (t) => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      api('v1/config/validate', { method: 'POST', body: { text: t } }).then(
        (r) => setProblems(r.problems),
        (e) => setProblems([{ key: '', message: e.message }]),
      );
    }, 250);
  };
  const onInput = (t) => {
    setText(t);
    setPreview(null);
    validate(t);
  };
  const reloadAll = () => {
    current.reload();
    versions.reload();
  };
  const run = async (f) => {
    setMsg(null);
    try {
      await f();
    } catch (e) {
      setMsg({ ok: false, text: e.message });
    }
  };
  const base = current.data?.version;
  const doPreview = () => run(async () => setPreview({ text, answer: await api('v1/config/apply', { method: 'POST', body: { text, dryRun: true, expectVersion: base } }) }));
  const doApply = () =>
    run(async () => {
      const body = preview.version
        ? { version: preview.version, expectVersion: base, caller: { uid: null, user: 'dashboard' } }
        : { text: preview.text, expectVersion: base, message: 'from the dashboard', caller: { uid: null, user: 'dashboard' } };
      const r = await api(preview.version ? 'v1/config/rollback' : 'v1/config/apply', { method: 'POST', body });
      setMsg({ ok: true, text: r.applied ? `applied: version ${r.version.version}` : 'nothing changed' });
      setPreview(null);
      setText(null);
      reloadAll();
    });
  const rollback = (v) => run(async () => setPreview({ version: v, answer: await api('v1/config/rollback', { method: 'POST', body: { version: v, dryRun: true, expectVersion: base } }) }));
  const showDiff = (v) => run(async () => setDiff(await api(`v1/config/diff?from=${v}`)));

  if (current.error?.status === 401) return html`<p class="card">The configuration may hold credentials: run <code>tierfs dashboard --open</code> and follow its login link.</p>`;
  if (current.error) return html`<p class="error">${current.error.message}</p>`;
  if (text === null) return html`<p class="muted">loading…</p>`;
  const dirty = text !== current.data.text;
  return html`<div class="two">
    <section aria-label="editor">
      <div class="row"><strong>version ${base}</strong>${dirty ? html`<span class="warn">edited</span>` : null}
        <button onClick=${doPreview} disabled=${!canChange || problems.length > 0 || !dirty}>preview</button>
        <button onClick=${() => onInput(current.data.text)} disabled=${!dirty}>discard</button></div>
      <${Editor} text=${text} onInput=${onInput} problems=${problems} />
      <div role="status" aria-live="polite" data-testid="problems">
        ${problems.length === 0 ? html`<p class="ok">valid</p>` : problems.map((p) => html`<p class="error" data-testid="problem" data-line=${p.line ?? ''}>
          ${p.line ? `line ${p.line}: ` : ''}${p.key || '(top level)'}: ${p.message}</p>`)}
      </div>
      ${msg ? html`<p class=${msg.ok ? 'ok' : 'error'} role="status" data-testid="config-message">${msg.text}</p>` : null}
    </section>
    <section>
      ${preview ? html`<div class="card">
        <h2>${preview.version ? `Rollback to version ${preview.version}` : 'Preview'}</h2>
        <${Impact} answer=${preview.answer} />
        <div class="row"><button class="primary" onClick=${doApply} disabled=${!canChange}>${preview.version ? 'confirm rollback' : 'apply'}</button>
          <button onClick=${() => setPreview(null)}>cancel</button></div>
      </div>` : null}
      <div class="card" style="margin-top:1rem" aria-label="history">
        <h2>History</h2>
        <div class="scroll"><table>
          <thead><tr><th class="num">version</th><th>when</th><th>who</th><th>message</th><th></th></tr></thead>
          <tbody>${(versions.data?.versions ?? []).slice().reverse().map((v) => html`<tr data-testid="version-row" data-version=${v.version}>
            <td class="num">${v.version}${v.version === base ? ' ●' : ''}</td><td>${new Date(v.timeMs).toLocaleString()}</td><td>${v.user ?? '–'}</td>
            <td>${v.message}${v.restoredFrom ? ` (restores ${v.restoredFrom})` : ''}</td>
            <td><button onClick=${() => showDiff(v.version)} aria-label=${`diff of version ${v.version} to the running one`}>diff</button>
              ${v.version !== base ? html`<button onClick=${() => rollback(v.version)} disabled=${!canChange} aria-label=${`roll back to version ${v.version}`}>rollback</button>` : null}</td>
          </tr>`)}</tbody>
        </table></div>
        ${diff ? html`<h3>version ${diff.from} → ${diff.to}</h3><pre class="lines">${diff.lines.join('\n') || 'the same'}</pre>` : null}
      </div>
    </section>
  </div>`;
}
