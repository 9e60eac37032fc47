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

/**
 * The differences between two YAML texts as written (neither is validated here), as
 * people read them — in the log, the CLI and the dashboard: secrets not shown.
 */
export function diffTexts(before: string, after: string): Change[] {
  return diffValues(parseDocument(before).toJS() ?? {}, parseDocument(after).toJS() ?? {}).map(withoutSecrets);
}

/** Keys whose values are credentials (backends', the listener's token), by their last name. */
const SECRET_KEYS = /(^|\.)(secretAccessKey|sessionToken|connectionString|accountKey|token|scrapeToken)$/;
/** Webhook headers carry credentials (Authorization). */
const WEBHOOK_SECRET = /^alerts\.webhooks\[\d+\]\.headers(\.|\[|$)/;
/** URLs whose path or query may be a credential: a webhook's (a Slack hook's path), Azure's accountUrl (a SAS). */
const SECRET_URL = /^alerts\.webhooks\[\d+\]\.url$|(^|\.)accountUrl$/;

/** value, to be given at key (formatKey's form), with the credentials in it hidden as a change's are. */
export function withoutSecretsAt(key: string, value: unknown): unknown {
  return withoutSecrets({ key, to: value }).to;
}

function withoutSecrets(c: Change): Change {
  const hide = (v: unknown): unknown => {
    if (v === undefined) return v;
    if (SECRET_KEYS.test(c.key) || WEBHOOK_SECRET.test(c.key)) return '(secret)';
    if (SECRET_URL.test(c.key)) return typeof v === 'string' && URL.canParse(v) ? `${new URL(v).origin}/… (the rest not shown)` : '(not shown)';
    // A whole object or list that appeared or went: its secrets within it.
    const within = (k: string | number, x: unknown) => withoutSecrets({ key: `${c.key}${typeof k === 'number' ? `[${k}]` : `.${k}`}`, to: x }).to;
    if (Array.isArray(v)) return v.map((x, k) => within(k, x));
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, within(k, x)]));
    return v;
  };
  const out: Change = { key: c.key };
  if (c.from !== undefined) out.from = hide(c.from);
  if (c.to !== undefined) out.to = hide(c.to);
  return out;
}

const show = (v: unknown) => (v === undefined ? '(not set)' : typeof v === 'string' ? v : JSON.stringify(v));

export function formatChange(c: Change): string {
  return `${c.key}: ${show(c.from)} → ${show(c.to)}`;
}
