// A strict reader of the Prometheus text exposition format (version 0.0.4), so tests
// check /metrics without promtool: every line must be a HELP or TYPE comment or a
// sample `name{label="value",…} number`, and no series may appear twice.

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: ParsedSample[];
  /** metric family → its TYPE */
  types: Map<string, string>;
  help: Map<string, string>;
  /** the value of one series, undefined if absent; labels must match exactly */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** every series of a name */
  series(name: string): ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string, line: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  // Prometheus reads NaN in any case (Go's ParseFloat); prom-client writes "Nan" for a gauge with no sample yet.
  if (s.toLowerCase() === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`not a number: ${s} in ${JSON.stringify(line)}`);
  return Number(s);
}

/** Labels from `{a="x",b="y\"z"}`, checking escapes. */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in ${JSON.stringify(line)}`);
    if (name in labels) throw new Error(`label ${name} twice in ${JSON.stringify(line)}`);
    if (text[eq + 1] !== '"') throw new Error(`unquoted label value in ${JSON.stringify(line)}`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const e = text[++j];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`bad escape in ${JSON.stringify(line)}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (i < text.length) throw new Error(`expected , between labels in ${JSON.stringify(line)}`);
  }
  return labels;
}

const key = (name: string, labels: Record<string, string>) => `${name}${JSON.stringify(Object.entries(labels).sort())}`;

export function parseExposition(text: string): Exposition {
  const samples: ParsedSample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) throw new Error(`bad comment line: ${JSON.stringify(line)}`);
      if (!NAME.test(m[2]!)) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) throw new Error(`bad type in ${JSON.stringify(line)}`);
        if (types.has(m[2]!)) throw new Error(`TYPE of ${m[2]} twice`);
        types.set(m[2]!, m[3]!);
      } else {
        if (help.has(m[2]!)) throw new Error(`HELP of ${m[2]} twice`);
        help.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels = m[2] ? parseLabels(m[2], line) : {};
    const sample = { name: m[1]!, labels, value: parseValue(m[3]!, line) };
    const k = key(sample.name, labels);
    if (seen.has(k)) throw new Error(`series twice: ${line}`);
    seen.add(k);
    samples.push(sample);
  }
  // Each sample belongs to a declared family (histograms: NAME_bucket, _sum, _count).
  for (const s of samples) {
    const family = types.has(s.name) ? s.name : s.name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`sample of an undeclared metric: ${s.name}`);
  }
  return {
    samples,
    types,
    help,
    value: (name, labels = {}) => samples.find((s) => key(s.name, s.labels) === key(name, labels))?.value,
    series: (name) => samples.filter((s) => s.name === name),
  };
}
