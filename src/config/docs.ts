// The key reference of tierfs.yaml (`tierfs config docs`), read from the schema itself:
// one entry per key with its type, its default written the way a person writes it in
// the file ("30d", "8MiB", "90%", never milliseconds or bytes), the syntax its unit
// accepts and what it means. Walks Zod's own definitions: the JSON Schema loses the
// defaults of fields that transform their input (sizes, durations, ratios).
import { changesLive } from './live-changes.js';
import type { z } from 'zod';
import { unitKindOf, type UnitKind } from './fields.js';

export interface KeyDoc {
  /** dotted path; `[]` for array elements, `[kind=object]` for one branch of a tagged union */
  key: string;
  /** "size", "duration", "ratio", "integer", "string", "boolean", `"a" | "b"`, "list", "map", ... */
  type: string;
  /** the default as it would be written in tierfs.yaml; undefined: none (required or optional) */
  default?: string;
  /** what a value may look like (units) */
  syntax?: string;
  meaning?: string;
}

export const UNIT_SYNTAX: Record<UnitKind, string> = {
  size: 'bytes, or a number with B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024): 4096, 500MB, 8MiB, 1.5TiB',
  duration: 'seconds, or numbers with ms, s, m, h, d, w: 90, 250ms, 30s, 12h, 7d, 1h30m',
  ratio: 'a percentage or a fraction of 1: 80%, 0.8',
};

/** Binary units first: sizes in tierfs are mostly powers of two. */
const SIZE_UNITS: [string, number][] = [
  ['PiB', 2 ** 50], ['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10],
  ['PB', 1e15], ['TB', 1e12], ['GB', 1e9], ['MB', 1e6], ['KB', 1e3],
];
// Days at most: "7d" reads more plainly than "1w".
const DURATION_UNITS: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];

/** 8388608 → "8MiB", 1000000 → "1MB", 4097 → "4097": the largest unit that divides evenly. */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [name, n] of SIZE_UNITS) if (bytes % n === 0) return `${bytes / n}${name}`;
  return String(bytes);
}

/** 2592000000 → "30d", 90000 → "90s", 5400000 → "90m", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [name, n] of DURATION_UNITS) if (ms % n === 0) return `${ms / n}${name}`;
  return `${ms}ms`;
}

export function formatRatio(r: number): string {
  return `${Math.round(r * 10_000) / 100}%`;
}

function formatUnit(kind: UnitKind, value: number): string {
  return kind === 'size' ? formatSize(value) : kind === 'duration' ? formatDuration(value) : formatRatio(value);
}

/** The descriptions fields.ts (and backends.ts) give the unit fields themselves. */
const UNIT_DESCRIPTION = /^a (size|duration|ratio):/;

type Schema = z.ZodType;
interface Def {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
  in?: Schema;
  out?: Schema;
  values?: unknown[];
  entries?: Record<string, unknown>;
  defaultValue?: unknown;
  valueType?: Schema;
  checks?: { _zod: { def: { check: string; format?: string } } }[];
}
const defOf = (s: Schema) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The unit a schema parses (looking through wrappers), if it is a unit field. */
function unitOf(s: Schema): UnitKind | undefined {
  for (let cur: Schema | undefined = s; cur; cur = defOf(cur).innerType) {
    const kind = unitKindOf(cur);
    if (kind) return kind;
  }
  return undefined;
}

interface Peeled {
  core: Schema;
  hasDefault: boolean;
  /** the default, as the parsed value (bytes, milliseconds, ...) */
  defaultOut?: unknown;
  /** a default given as input (a prefault such as "30s"): shown as written */
  defaultAsWritten?: string | number | boolean;
  description?: string;
}

/** Wrappers (default, optional, ...) peeled off, with the default and description they carry. */
function peel(s: Schema): Peeled {
  let description: string | undefined;
  let hasDefault = false;
  let defaultOut: unknown;
  let defaultAsWritten: string | number | boolean | undefined;
  let cur = s;
  for (;;) {
    description ??= cur.description;
    const d = defOf(cur);
    if (!hasDefault && d.type === 'default') {
      hasDefault = true;
      defaultOut = d.defaultValue;
    } else if (!hasDefault && d.type === 'prefault') {
      // A prefault is an input: parse it to the value it stands for.
      hasDefault = true;
      defaultOut = cur.parse(undefined);
      const input = d.defaultValue;
      if (['string', 'number', 'boolean'].includes(typeof input)) defaultAsWritten = input as string | number | boolean;
    }
    if (!['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch'].includes(d.type) || !d.innerType) break;
    cur = d.innerType;
  }
  return { core: cur, defaultOut, defaultAsWritten, hasDefault, description };
}

function typeName(core: Schema): string {
  const unit = unitOf(core);
  if (unit) return unit;
  const d = defOf(core);
  switch (d.type) {
    case 'number':
      return d.checks?.some((c) => c._zod.def.format === 'safeint' || c._zod.def.check === 'number_format') ? 'integer' : 'number';
    case 'literal':
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(' | ');
    case 'enum':
      return Object.values(d.entries ?? {}).map((v) => JSON.stringify(v)).join(' | ');
    case 'array':
      return 'list';
    case 'record':
      return 'map';
    case 'union':
      return (d.options ?? []).map((o) => typeName(peel(o).core)).filter((t, i, all) => all.indexOf(t) === i).join(' | ');
    case 'pipe':
      return typeName(d.in!);
    default:
      return d.type;
  }
}

function formatDefault(core: Schema, value: unknown): string | undefined {
  const unit = unitOf(core);
  if (unit && typeof value === 'number') return formatUnit(unit, value);
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null) {
    // Objects are documented key by key; an empty list is worth saying.
    return Array.isArray(value) && value.length === 0 ? '[]' : undefined;
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A tagged union's branches: objects with one literal key (kind, type) that tells them apart. */
function taggedBranches(core: Schema): { tag: string; branch: Schema }[] | undefined {
  const d = defOf(core);
  if (d.type !== 'union') return undefined;
  const objects = (d.options ?? []).map((o) => peel(o).core).filter((o) => defOf(o).type === 'object');
  if (objects.length < 2) return undefined;
  return objects.map((branch) => {
    const tagged = Object.entries(defOf(branch).shape ?? {}).find(([, v]) => defOf(peel(v).core).type === 'literal');
    const value = tagged ? (defOf(peel(tagged[1]).core).values ?? [])[0] : undefined;
    return { tag: tagged ? `${tagged[0]}=${String(value)}` : '', branch };
  });
}

/** Every key of the schema, in the order of the file, parents before their children. */
export function describeKeys(schema: Schema): KeyDoc[] {
  const out: KeyDoc[] = [];
  /** inherited: this key's value in its parent's default ({k: 4, m: 2} gives k its 4) */
  const visit = (s: Schema, key: string, inherited?: unknown) => {
    const p = peel(s);
    const { core } = p;
    const d = defOf(core);
    const value = p.hasDefault ? p.defaultOut : inherited;
    if (key) {
      const unit = unitOf(core);
      // A unit field's own description says its syntax, not what the key is for.
      const meaning = p.description && !UNIT_DESCRIPTION.test(p.description) ? p.description : undefined;
      const shown = p.defaultAsWritten !== undefined ? (unit ? String(p.defaultAsWritten) : JSON.stringify(p.defaultAsWritten)) : formatDefault(core, value);
      out.push({
        key,
        type: taggedBranches(core) ? 'object' : typeName(core),
        ...(shown !== undefined ? { default: shown } : {}),
        ...(unit ? { syntax: UNIT_SYNTAX[unit] } : {}),
        ...(meaning ? { meaning } : {}),
      });
    }
    const join = (k: string) => (key ? `${key}.${k}` : k);
    const child = (k: string) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[k] : undefined);
    if (d.type === 'object') for (const [k, v] of Object.entries(d.shape ?? {})) visit(v, join(k), child(k));
    else if (d.type === 'array') {
      const el = peel(d.element!).core;
      const branches = taggedBranches(el);
      if (branches) for (const b of branches) visitBranch(b.branch, `${key}[${b.tag}]`);
      else if (defOf(el).type === 'object') visitBranch(el, `${key}[]`);
      else if (defOf(el).type === 'union') {
        // A list of strings or objects (volumes): document the object's keys.
        for (const o of defOf(el).options ?? []) if (defOf(peel(o).core).type === 'object') visitBranch(peel(o).core, `${key}[]`);
      }
    } else if (d.type === 'record') {
      const v = peel(d.valueType!).core;
      if (defOf(v).type === 'object') visitBranch(v, `${key}.NAME`);
    } else if (d.type === 'union') {
      const branches = taggedBranches(core);
      if (branches) for (const b of branches) visitBranch(b.branch, `${key}[${b.tag}]`);
    }
  };
  const visitBranch = (branch: Schema, prefix: string) => {
    for (const [k, v] of Object.entries(defOf(branch).shape ?? {})) visit(v, `${prefix}.${k}`);
  };
  visit(schema, '');
  return out;
}

/** Plain text: one line per key. */
export function renderKeyDocsText(keys: KeyDoc[]): string {
  const lines = [
    'tierfs.yaml keys: KEY  TYPE  [= DEFAULT]  — MEANING',
    '',
    'units:',
    ...Object.entries(UNIT_SYNTAX).map(([k, v]) => `  ${k}: ${v}`),
    '',
  ];
  for (const k of keys) {
    lines.push(`${k.key}  ${k.type}${k.default !== undefined ? ` = ${k.default}` : ''}${k.syntax ? ` (${shortSyntax(k.type)})` : ''}${k.meaning ? `  — ${k.meaning}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The examples of a unit, short enough for the end of a line. */
function shortSyntax(type: string): string {
  return type === 'size' ? 'B KB MB GB TB, KiB MiB GiB TiB; a bare number is bytes' : type === 'duration' ? 'ms s m h d w, e.g. 1h30m; a bare number is seconds' : 'e.g. 80% or 0.8';
}

/** Markdown: the units, then one table row per key. */
export function renderKeyDocsMarkdown(keys: KeyDoc[]): string {
  const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|');
  const lines = [
    '# tierfs.yaml keys',
    '',
    '## Units',
    '',
    ...Object.entries(UNIT_SYNTAX).map(([k, v]) => `- **${k}**: ${v}`),
    '',
    '## Keys',
    '',
    'Live: changes on a mounted tierfs with `tierfs config apply` (or `config set`); the rest is read at mount. ' +
      "A backend's connection changes live once a test object has been written, read back and removed through the new one, and cells that this backend holds of the tier's last 8 copies and of 8 others found there. " +
      'A new tier can be added live after the last one; removing or reordering tiers needs a remount (`tierfs tier drain` first for a tier that holds files).',
    '',
    '| key | type | default | live | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...keys.map(
      (k) => `| \`${cell(k.key)}\` | ${cell(k.type)} | ${k.default !== undefined ? `\`${cell(k.default)}\`` : ''} | ${changesLive(k.key) ? 'yes' : ''} | ${cell(k.meaning)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
