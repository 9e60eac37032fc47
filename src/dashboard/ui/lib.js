// What every page uses: preact + htm, the JSON API, the live event stream, formatting.
import { h, render } from 'preact';
import { useState, useEffect, useRef, useMemo, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);
export { h, render, useState, useEffect, useRef, useMemo, useCallback };

/** A call of the daemon's JSON API (/api/PATH); a failure throws its message. */
export async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(`/api/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    data = { error: text };
  }
  if (!res.ok) throw Object.assign(new Error(data.error ?? res.statusText), { status: res.status, data });
  return data;
}

// ── live snapshots (server-sent events): one stream for every page ──
const latest = {};
const subscribers = new Map();
const connection = new Set();
let source;
let connected = false;

function setConnected(v) {
  connected = v;
  for (const f of connection) f(v);
}

function connect() {
  source = new EventSource('/api/events');
  source.onopen = () => setConnected(true);
  source.onerror = () => setConnected(false); // EventSource reconnects by itself
  for (const name of ['status', 'moves']) {
    source.addEventListener(name, (e) => {
      latest[name] = JSON.parse(e.data);
      setConnected(true);
      for (const f of subscribers.get(name) ?? []) f(latest[name]);
    });
  }
}

/** The latest snapshot `name` ("status", "moves"), re-rendering as it changes. */
export function useLive(name) {
  const [value, setValue] = useState(latest[name]);
  useEffect(() => {
    if (!source) connect();
    const set = subscribers.get(name) ?? new Set();
    subscribers.set(name, set);
    set.add(setValue);
    if (latest[name] !== undefined) setValue(latest[name]);
    return () => set.delete(setValue);
  }, [name]);
  return value;
}

export function useConnected() {
  const [v, setV] = useState(connected);
  useEffect(() => {
    connection.add(setV);
    return () => connection.delete(setV);
  }, []);
  return v;
}

/** Load once per change of deps; { data, error, reload }. */
export function useApi(path, deps = [path]) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    api(path).then(
      (data) => live && setState({ data, error: undefined }),
      (error) => live && setState({ data: undefined, error }),
    );
    return () => (live = false);
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0;
  let v = Math.abs(n);
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${n < 0 ? '-' : ''}${u === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export const int = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en'));
export const pct = (r) => (r === null || r === undefined || Number.isNaN(r) ? '–' : `${(r * 100).toFixed(1)}%`);
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
export const ago = (ms) => {
  if (ms === null || ms === undefined) return '–';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  return s < 90 ? `${s.toFixed(0)} s ago` : s < 5400 ? `${(s / 60).toFixed(0)} min ago` : s < 129600 ? `${(s / 3600).toFixed(1)} h ago` : `${(s / 86400).toFixed(1)} d ago`;
};

/** Time ranges the history answers (1-minute points for 2 days, hours for 90). */
export const RANGES = [
  ['1h', 3_600_000],
  ['6h', 6 * 3_600_000],
  ['24h', 86_400_000],
  ['7d', 7 * 86_400_000],
  ['30d', 30 * 86_400_000],
  ['90d', 90 * 86_400_000],
];

export function RangePicker({ value, onChange }) {
  return html`<label>range <select value=${value} onChange=${(e) => onChange(Number(e.target.value))} aria-label="time range">
    ${RANGES.map(([label, ms]) => html`<option value=${ms}>${label}</option>`)}
  </select></label>`;
}

/** A Prometheus text exposition, parsed: [{ name, labels, value }]. */
export function parseExposition(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}
