// Web server access logs, Common or Combined Log Format:
//   host ident user [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 ["ref" "agent"]
// The path (without its query) is the file; the response bytes are what was read; the
// largest response seen for a path is its size. Only GET and HEAD that succeeded (2xx,
// 304) are reads; other requests are skipped (counted as lines, not as malformed).
import type { SimEvent, TraceStats } from './types.js';

const LINE = /^\S+ \S+ .*?\[([^\]]+)\] "(\S+) (\S+)(?: [^"]*)?" (\d{3}) (\d+|-)/;
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const STAMP = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

export function isClfLine(line: string): boolean {
  return LINE.test(line);
}

function clfTime(s: string): number {
  const m = STAMP.exec(s);
  if (!m || MONTHS[m[2]!] === undefined) return NaN;
  const utc = Date.UTC(Number(m[3]), MONTHS[m[2]!]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '-' ? -1 : 1);
  return utc - offset;
}

/** Reads one log; sizes: the largest response seen per path so far (kept by the caller, per trace). */
export function parseClfLine(line: string, n: number, stats: TraceStats, sizes: Map<string, number>): SimEvent | null {
  const m = LINE.exec(line);
  if (!m) return stats.bad(n, line, 'not Common/Combined Log Format'), null;
  const timeMs = clfTime(m[1]!);
  if (!Number.isFinite(timeMs)) return stats.bad(n, line, 'bad time stamp'), null;
  const [method, status] = [m[2]!, Number(m[4])];
  if ((method !== 'GET' && method !== 'HEAD') || !((status >= 200 && status < 300) || status === 304)) return null;
  const path = m[3]!.split('?')[0]!.replace(/^\/+/, '') || 'index';
  const bytes = m[5] === '-' ? 0 : Number(m[5]);
  const size = Math.max(sizes.get(path) ?? 0, status === 200 ? bytes : 0);
  sizes.set(path, size);
  return { timeMs, path, size, op: 'read', bytes, opens: true };
}
