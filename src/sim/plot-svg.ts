// Line charts as plain SVG text: axes, ticks, a legend, one polyline per series. Enough
// for hit ratio over time, tier use over time and hit ratio against hot capacity; no
// plotting library.

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** how tick values read */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  yMin?: number;
  yMax?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const [W, H, L, R, T, B] = [720, 400, 70, 150, 40, 50];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineChart(c: Chart): string {
  const pts = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [c.yMin ?? Math.min(0, ...ys), c.yMax ?? Math.max(...ys)];
  if (!pts.length) [x0, x1, y0, y1] = [0, 1, 0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const fx = c.xFormat ?? ((v: number) => v.toPrecision(3));
  const fy = c.yFormat ?? ((v: number) => v.toPrecision(3));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(c.title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)}</text>`,
    `<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">${esc(c.yLabel)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const [xv, yv] = [x0 + ((x1 - x0) * i) / 5, y0 + ((y1 - y0) * i) / 5];
    out.push(`<line x1="${px(xv)}" y1="${H - B}" x2="${px(xv)}" y2="${H - B + 4}" stroke="black"/>`);
    out.push(`<text x="${px(xv)}" y="${H - B + 16}" text-anchor="middle">${esc(fx(xv))}</text>`);
    out.push(`<line x1="${L - 4}" y1="${py(yv)}" x2="${W - R}" y2="${py(yv)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${py(yv) + 4}" text-anchor="end">${esc(fy(yv))}</text>`);
  }
  c.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const line = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    if (line.length === 1) out.push(`<circle cx="${line[0]!.split(',')[0]}" cy="${line[0]!.split(',')[1]}" r="3" fill="${color}"/>`);
    else if (line.length) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${line.join(' ')}"/>`);
    out.push(`<rect x="${W - R + 10}" y="${T + i * 18}" width="12" height="3" fill="${color}"/>`);
    out.push(`<text x="${W - R + 26}" y="${T + i * 18 + 5}">${esc(s.name)}</text>`);
  });
  out.push('</svg>\n');
  return out.join('\n');
}
