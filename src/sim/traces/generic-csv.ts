// The generic CSV: time, path (or any key), size, op, bytes — a header line is optional.
// time is ISO 8601 or seconds since the epoch; op is read (default), write or open;
// bytes defaults to the size. Each read or write is one request: it counts as an open.
import { parseTime, splitCsv } from './lines.js';
import type { SimEvent, TraceStats } from './types.js';

export const GENERIC_HEADER = 'time,path,size,op,bytes';

export function isGenericHeader(line: string): boolean {
  return /^\s*time\s*,\s*(path|key)\s*,\s*size/i.test(line);
}

export function parseGenericLine(line: string, n: number, stats: TraceStats): SimEvent | null {
  const f = splitCsv(line);
  if (f.length < 3 || f.length > 5) return stats.bad(n, line, `${f.length} fields, want 3 to 5`), null;
  const timeMs = parseTime(f[0]!);
  const path = f[1]!;
  const size = Number(f[2]);
  const op = (f[3] || 'read').trim().toLowerCase();
  const bytes = f[4] === undefined || f[4] === '' ? size : Number(f[4]);
  if (!Number.isFinite(timeMs)) return stats.bad(n, line, 'not a time'), null;
  if (!path) return stats.bad(n, line, 'empty path'), null;
  if (!Number.isFinite(size) || size < 0 || !Number.isFinite(bytes) || bytes < 0) return stats.bad(n, line, 'bad size or bytes'), null;
  if (op !== 'open' && op !== 'read' && op !== 'write') return stats.bad(n, line, `op ${op}`), null;
  return { timeMs, path, size, op, bytes: op === 'open' ? 0 : bytes, opens: op !== 'open' };
}
