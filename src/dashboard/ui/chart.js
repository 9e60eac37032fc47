// A time-series chart (uPlot) of history points, sized to its box and re-drawn on data.
import uPlot from 'uplot';
import { html, useEffect, useRef } from './lib.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

/**
 * Series of one history answer (or several) aligned on their common timestamps.
 * lines: [{ label, values: [[ms, v], ...] }] → uPlot's [xs, ys1, ys2…].
 */
export function align(lines) {
  const xs = [...new Set(lines.flatMap((l) => l.values.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = lines.map((l) => {
    const y = new Array(xs.length).fill(null);
    for (const [t, v] of l.values) y[index.get(t)] = v;
    return y;
  });
  return [xs.map((t) => t / 1000), ...ys];
}

export function Chart({ title, lines, format = (v) => String(v), testid }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fg = getComputedStyle(document.body).color;
    const width = Math.max(200, el.clientWidth);
    const data = align(lines);
    plot.current?.destroy();
    if (data[0].length === 0) {
      plot.current = null;
      return;
    }
    const axis = { stroke: fg, grid: { stroke: 'rgba(128,128,128,.2)' }, ticks: { stroke: 'rgba(128,128,128,.3)' } };
    plot.current = new uPlot(
      {
        width,
        height: 180,
        legend: { show: true },
        series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: 1.5, value: (_u, v) => (v === null ? '–' : format(v)) }))],
        axes: [axis, { ...axis, size: 88, values: (_u, vals) => vals.map(format) }],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    resize.observe(el);
    return () => resize.disconnect();
  }, [JSON.stringify(lines)]);
  useEffect(() => () => plot.current?.destroy(), []);
  const empty = lines.every((l) => l.values.length === 0);
  return html`<div class="card" data-testid=${testid}>
    <h3>${title}</h3>
    ${empty ? html`<p class="muted">no points in this range yet (the history takes one each minute)</p>` : null}
    <div class="chart" ref=${box} hidden=${empty}></div>
  </div>`;
}
