// Block traces in the MSR Cambridge format:
//   Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
// Timestamp in Windows ticks (100 ns since 1601), Type Read or Write. Each volume is
// cut into extents of a fixed size and each extent is a file (host/disk/extent); an
// I/O that spans extents is one request to each.
import { splitCsv } from './lines.js';
import type { SimEvent, TraceStats } from './types.js';

const EPOCH_DIFF_MS = 11_644_473_600_000;

export function isMsrLine(line: string): boolean {
  const f = line.split(',');
  return f.length === 7 && /^\d{15,}$/.test(f[0]!) && /^(read|write)$/i.test(f[3]!);
}

export function parseMsrLine(line: string, n: number, stats: TraceStats, extentBytes: number): SimEvent[] {
  const f = splitCsv(line);
  if (f.length !== 7) return stats.bad(n, line, `${f.length} fields, want 7`), [];
  const [ticks, host, disk, type, off, len] = f as [string, string, string, string, string, string];
  const timeMs = Number(ticks) / 10_000 - EPOCH_DIFF_MS;
  const [offset, size] = [Number(off), Number(len)];
  const op = type.toLowerCase();
  if (!/^\d+$/.test(ticks) || !Number.isFinite(timeMs)) return stats.bad(n, line, 'bad timestamp'), [];
  if (op !== 'read' && op !== 'write') return stats.bad(n, line, `type ${type}`), [];
  if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0) return stats.bad(n, line, 'bad offset or size'), [];
  const out: SimEvent[] = [];
  const last = Math.max(offset, offset + size - 1);
  for (let e = Math.floor(offset / extentBytes); e <= Math.floor(last / extentBytes); e++) {
    const from = Math.max(offset, e * extentBytes);
    const to = Math.min(offset + size, (e + 1) * extentBytes);
    out.push({ timeMs, path: `${host}/${disk}/${e}`, size: extentBytes, op, bytes: Math.max(0, to - from), opens: true });
  }
  return out;
}
