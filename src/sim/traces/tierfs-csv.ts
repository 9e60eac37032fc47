// `tierfs trace` CSV: time (ISO), path, op (open|read|write), offset, length, size.
// Opens are recorded as such, so a read does not count as one.
import { parseTime, splitCsv } from './lines.js';
import type { SimEvent, TraceStats } from './types.js';

export const TIERFS_HEADER = 'time,path,op,offset,length,size';

export function parseTierfsLine(line: string, n: number, stats: TraceStats): SimEvent | null {
  const f = splitCsv(line);
  if (f.length !== 6) return stats.bad(n, line, `${f.length} fields, want 6`), null;
  const [time, written, op, , length, size] = f as [string, string, string, string, string, string];
  // A path that a spreadsheet would take for a formula is written after a quote (admin/api.ts inertPath).
  const path = written.startsWith("'") ? written.slice(1) : written;
  const timeMs = parseTime(time);
  const [bytes, sz] = [Number(length), Number(size)];
  if (!Number.isFinite(timeMs)) return stats.bad(n, line, 'not a time'), null;
  if (op !== 'open' && op !== 'read' && op !== 'write') return stats.bad(n, line, `op ${op}`), null;
  if (!path || !Number.isFinite(bytes) || !Number.isFinite(sz) || bytes < 0 || sz < 0) return stats.bad(n, line, 'bad path, length or size'), null;
  return { timeMs, path, size: sz, op, bytes: op === 'open' ? 0 : bytes, opens: false };
}
