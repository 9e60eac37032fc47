// Key-by-key differences between two configurations, as an operator reads them:
// `policy.rules[2].match.idleAbove: 30d → 14d`. Two views: of the YAML as written
// (units kept as typed, for people) and of the parsed configuration (defaults filled
// in and units resolved, to decide what may change while mounted).
import { parseDocument } from 'yaml';
import { formatKey } from './load.js';

export interface Change {
  /** dotted key path, e.g. policy.rules[2].match.idleAbove */
  key: string;
  /** undefined: the key was not set */
  from?: unknown;
  to?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every leaf that differs; a key present on one side only is one change with its whole value. */
export function diffValues(a: unknown, b: unknown, path: (string | number)[] = []): Change[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => diffValues(a[k], b[k], [...path, k]));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => diffValues(a[i], b[i], [...path, i])).flat();
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const change: Change = { key: formatKey(path) };
  if (a !== undefined) change.from = a;
  if (b !== undefined) change.to = b;
  return [change];
}

/** The differences between two YAML texts as written (neither is validated here). */
export function diffTexts(before: string, after: string): Change[] {
  return diffValues(parseDocument(before).toJS() ?? {}, parseDocument(after).toJS() ?? {});
}

const show = (v: unknown) => (v === undefined ? '(not set)' : typeof v === 'string' ? v : JSON.stringify(v));

export function formatChange(c: Change): string {
  return `${c.key}: ${show(c.from)} → ${show(c.to)}`;
}
