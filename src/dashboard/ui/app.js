// The dashboard's shell: navigation (hash routes, so a page is a link and the back button
// works), the login state, the live connection, and the page.
import { html, render, useApi, useConnected, useEffect, useLive, useState } from './lib.js';
import { Overview } from './overview.js';
import { Moves } from './moves.js';
import { Files } from './files.js';
import { Stores } from './stores.js';
import { Configuration } from './config.js';
import { Cost } from './cost.js';

const PAGES = [
  ['overview', 'Overview', Overview],
  ['moves', 'Moves', Moves],
  ['files', 'Files', Files],
  ['stores', 'Object stores', Stores],
  ['config', 'Configuration', Configuration],
  ['cost', 'Cost & capacity', Cost],
];

function route() {
  const [page, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { page: PAGES.some(([id]) => id === page) ? page : 'overview', params: new URLSearchParams(query) };
}

function App() {
  const [r, setR] = useState(route());
  useEffect(() => {
    const on = () => setR(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const session = useApi('session', []);
  const status = useLive('status');
  const connected = useConnected();
  const [, title, Page] = PAGES.find(([id]) => id === r.page);
  useEffect(() => {
    document.title = `${title} · tierfs${status ? ` · ${status.mountpoint}` : ''}`;
  }, [title, status?.mountpoint]);
  const canChange = session.data?.canChange === true;
  return html`
    <header>
      <h1>tierfs</h1>
      <span class="muted">${status?.mountpoint ?? ''}</span>
      <nav aria-label="pages">
        ${PAGES.map(([id, label], i) => html`<a href=${`#/${id}`} aria-current=${r.page === id ? 'page' : undefined} aria-keyshortcuts=${`Alt+${i + 1}`}>${label}</a>`)}
      </nav>
      <span class=${connected ? 'ok' : 'warn'} data-testid="live" title="server-sent events">${connected ? '● live' : '○ reconnecting'}</span>
    </header>
    ${session.data && !canChange
      ? html`<main id="main"><p class="card" role="note">The dashboard shows every user's files: as root, run <code>tierfs dashboard --open</code> and follow its login link.</p></main>`
      : html`<main id="main"><${Page} params=${r.params} canChange=${canChange} status=${status} /></main>`}
  `;
}

// Alt+1…6 go to the pages.
addEventListener('keydown', (e) => {
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  const p = PAGES[Number(e.key) - 1];
  if (p) {
    location.hash = `#/${p[0]}`;
    e.preventDefault();
  }
});

const root = document.getElementById('app');
root.textContent = ''; // the placeholder shown while the modules load
render(html`<${App} />`, root);
