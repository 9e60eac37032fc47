// The ratios of a bench's tables as an SVG chart, for docs/PERFORMANCE.md (bench/all.ts).
//
// A bench prints fixed-width (or markdown) tables whose cells may be ratios: "0.89×"
// (tierfs over a peer, or a peer over the reference row), "86.8 (1.80x)" (a figure and its
// ratio to the reference column), a number in a column headed "×peer", a percentage in one
// headed "a/b". Every such cell becomes a bar, grouped by its column, labelled by its
// row. The scale is logarithmic around 1.0×, so 0.5× and 2× lie as far from the line on
// either side; what "better" is depends on the column (more MB/s, fewer seconds), as the
// table says.
//
// Columns are found from the header line above the rows: cells are runs separated by two
// spaces or more, and a ratio belongs to the header cell whose right edge is nearest its
// own (the tables align numbers to the right).

export interface Ratio {
  /** the row's label: its leading cells that hold no figure */
  row: string;
  /** the header of the column the ratio is in */
  column: string;
  value: number;
}

interface Cell {
  text: string;
  start: number;
  end: number;
  /** a header "×peer": its figures are ratios */
  perPeer?: boolean;
}

/** A table with more bars than this is drawn as one bar per column: the median, with the least and most. */
const MAX_BARS = 120;
const RATIO = /(?:^|\()(\d+(?:\.\d+)?)(?:×|x\)?)$/;
const FIGURE = /^[-+]?[\d.,]+(?:\s*\(\d+(?:\.\d+)?x\))?[×%]?$|^[–-]$/;

function cells(line: string): Cell[] {
  const out: Cell[] = [];
  // Markdown tables are cut at their pipes, the others at two spaces or more.
  const runs = line.trimStart().startsWith('|') ? /[^|\s](?:[^|]*[^|\s])?/g : /\S+(?: \S+)*/g;
  for (const m of line.matchAll(runs)) out.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

/**
 * The ratio a cell holds: "0.89×", "86.8 (1.80x)"; in a column headed "… ×peer", a plain
 * number; in one headed "a/b", a percentage.
 */
function ratioOf(text: string, column?: Cell): number | undefined {
  const m = RATIO.exec(text);
  if (m) return Number(m[1]);
  if (column?.perPeer && /^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  return pct && column?.text.includes('/') ? Number(pct[1]) / 100 : undefined;
}

/** Every ratio in the tables of a bench's output. */
export function ratiosIn(output: string): Ratio[] {
  const lines = output.split('\n');
  const out: Ratio[] = [];
  for (let i = 0; i < lines.length; i++) {
    // A table: a header, perhaps a line of dashes, then rows up to a blank line.
    const header = cells(lines[i]!);
    if (header.length < 2 || header.some((c) => ratioOf(c.text) !== undefined)) continue;
    // "read MB/s  ×direct  write MB/s  ×direct": each ×column is named after the figure before it.
    let figure = '';
    for (const h of header) {
      h.perPeer = h.text.startsWith('×');
      if (!h.perPeer) figure = h.text;
      else if (figure) h.text = `${figure} ${h.text}`;
    }
    let r = i + 1;
    if (/^[-\s|:]+$/.test(lines[r] ?? '') && (lines[r] ?? '').includes('-')) r++;
    const rows: Cell[][] = [];
    for (; r < lines.length && lines[r]!.trim() !== ''; r++) rows.push(cells(lines[r]!));
    const columnOf = (c: Cell) => header.reduce((best, h) => (Math.abs(h.end - c.end) < Math.abs(best.end - c.end) ? h : best));
    if (!rows.some((row) => row.some((c) => ratioOf(c.text, columnOf(c)) !== undefined))) continue;
    for (const row of rows) {
      const firstFigure = row.findIndex((c) => FIGURE.test(c.text));
      const label = row.slice(0, firstFigure < 0 ? row.length : firstFigure).map((c) => c.text).join(' ');
      const found = row.slice(Math.max(firstFigure, 1)).flatMap((c) => {
        const column = columnOf(c);
        const value = ratioOf(c.text, column);
        return value === undefined ? [] : [{ row: label, column: column.text, value }];
      });
      // The reference row itself (every ratio 1.00) says nothing.
      if (found.some((f) => f.value !== 1)) out.push(...found);
    }
    i = r;
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;

interface Bar {
  label: string;
  value: number;
  low?: number;
  high?: number;
}

/** The bars of each column, in the order the columns came; one summary bar each when there are too many. */
function groups(ratios: Ratio[]): { column: string; bars: Bar[] }[] {
  const byColumn = new Map<string, Ratio[]>();
  for (const r of ratios) byColumn.set(r.column, [...(byColumn.get(r.column) ?? []), r]);
  if (ratios.length <= MAX_BARS) return [...byColumn].map(([column, rs]) => ({ column, bars: rs.map((r) => ({ label: r.row, value: r.value })) }));
  const bars = [...byColumn].map(([column, rs]) => {
    const sorted = rs.map((r) => r.value).sort((a, b) => a - b);
    return { label: `${column} (median of ${sorted.length}, least to most)`, value: sorted[Math.floor(sorted.length / 2)]!, low: sorted[0]!, high: sorted[sorted.length - 1]! };
  });
  return [{ column: 'every row, by column', bars }];
}

/** An SVG chart of the ratios, or undefined when there are none. */
export function ratioChart(title: string, ratios: Ratio[]): string | undefined {
  if (ratios.length === 0) return undefined;
  const gs = groups(ratios);
  const [W, LABEL, ROW, HEAD, TOP] = [820, 330, 16, 24, 46];
  const span = Math.min(4, Math.max(1, ...ratios.map((r) => Math.ceil(Math.abs(Math.log2(Math.max(r.value, 1 / 16)))))));
  const plot = W - LABEL - 70;
  const x = (v: number) => LABEL + plot / 2 + (Math.max(-span, Math.min(span, Math.log2(Math.max(v, 2 ** -span)))) / span) * (plot / 2);
  const height = TOP + gs.reduce((h, g) => h + HEAD + g.bars.length * ROW, 0) + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${height}" fill="#fff"/>`,
    `<text x="8" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="8" y="34" fill="#555">ratios as the tables print them, on a log scale around 1.0× (right of the line: the first figure is larger)</text>`,
  ];
  // The axis first, under the bars: 1.0× and the powers of two either side.
  const bottom = height - 30;
  for (let p = -span; p <= span; p++) {
    const at = x(2 ** p).toFixed(1);
    out.push(`<line x1="${at}" x2="${at}" y1="${TOP}" y2="${bottom}" stroke="${p === 0 ? '#000' : '#ddd'}"${p === 0 ? '' : ' stroke-dasharray="3,3"'}/>`);
    out.push(`<text x="${at}" y="${bottom + 14}" text-anchor="middle" fill="#555">${p >= 0 ? `${2 ** p}×` : `1/${2 ** -p}×`}</text>`);
  }
  let y = TOP;
  for (const g of gs) {
    out.push(`<text x="8" y="${y + 16}" font-weight="bold">${esc(g.column)}</text>`);
    y += HEAD;
    for (const b of g.bars) {
      const [a, z] = [x(1), x(b.value)];
      const fill = b.value >= 1 ? '#3a7d44' : '#c0622b';
      out.push(`<text x="${LABEL - 6}" y="${y + 11}" text-anchor="end">${esc(b.label.length > 52 ? `${b.label.slice(0, 51)}…` : b.label)}</text>`);
      out.push(`<rect class="bar" x="${Math.min(a, z).toFixed(1)}" y="${y + 2}" width="${Math.max(1, Math.abs(z - a)).toFixed(1)}" height="${ROW - 4}" fill="${fill}"><title>${esc(`${b.label}: ${fmt(b.value)}`)}</title></rect>`);
      if (b.low !== undefined && b.high !== undefined) out.push(`<line x1="${x(b.low).toFixed(1)}" x2="${x(b.high).toFixed(1)}" y1="${y + ROW / 2}" y2="${y + ROW / 2}" stroke="#222"/>`);
      out.push(`<text x="${(Math.max(a, z, b.high !== undefined ? x(b.high) : 0) + 4).toFixed(1)}" y="${y + 11}">${fmt(b.value)}</text>`);
      y += ROW;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
