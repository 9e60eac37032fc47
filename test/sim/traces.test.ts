// Each trace reader on small fixtures written here, malformed lines included: they are
// counted and shown, never thrown.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrace, TraceStats, type SimEvent, type TraceOptions } from '../../src/sim/traces/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tierfs-sim-traces-'));
async function read(name: string, text: string | Buffer, opts: TraceOptions = {}): Promise<{ events: SimEvent[]; stats: TraceStats }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const stats = new TraceStats();
  const events: SimEvent[] = [];
  for await (const e of readTrace(file, opts, stats)) events.push(e);
  return { events, stats };
}

describe('trace readers', () => {
  it('tierfs trace CSV: opens and reads as recorded, quoted paths, bad lines counted', async () => {
    const { events, stats } = await read(
      'tierfs.csv',
      'time,path,op,offset,length,size\n' +
        '2026-01-01T00:00:00.000Z,a/b.bin,open,0,0,100\n' +
        '2026-01-01T00:00:01.000Z,a/b.bin,read,0,64,100\n' +
        '2026-01-01T00:00:02.000Z,"c,d.txt",write,0,10,10\n' +
        'not a time,x,read,0,1,1\n' +
        '2026-01-01T00:00:03.000Z,x,delete,0,1,1\n' +
        'only,three,fields\n',
    );
    expect(events).toEqual([
      { timeMs: Date.UTC(2026, 0, 1), path: 'a/b.bin', size: 100, op: 'open', bytes: 0, opens: false },
      { timeMs: Date.UTC(2026, 0, 1) + 1000, path: 'a/b.bin', size: 100, op: 'read', bytes: 64, opens: false },
      { timeMs: Date.UTC(2026, 0, 1) + 2000, path: 'c,d.txt', size: 10, op: 'write', bytes: 10, opens: false },
    ]);
    expect(stats.malformed).toBe(3);
    expect(stats.examples.map((e) => e.line)).toEqual([5, 6, 7]);
  });

  it('generic CSV: optional header, seconds or ISO times, op and bytes default to a whole read', async () => {
    const { events, stats } = await read('generic.csv', 'time,path,size,op,bytes\n10,k1,500\n2026-01-01T00:00:00Z,k2,300,write,100\n11.5,k1,500,read,20\n12,k3,-5,read,1\n13,k4\n');
    expect(events.map((e) => [e.timeMs, e.path, e.size, e.op, e.bytes, e.opens])).toEqual([
      [10_000, 'k1', 500, 'read', 500, true],
      [Date.UTC(2026, 0, 1), 'k2', 300, 'write', 100, true],
      [11_500, 'k1', 500, 'read', 20, true],
    ]);
    expect(stats.malformed).toBe(2);
  });

  it('Common and Combined Log Format: path without query, response bytes read, the largest response is the size', async () => {
    const log = [
      '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
      '10.0.0.2 - - [10/Oct/2000:13:56:00 -0700] "GET /apache_pb.gif?x=1 HTTP/1.1" 206 1000 "http://ref/" "Mozilla/5.0"',
      '10.0.0.2 - - [10/Oct/2000:13:57:00 -0700] "POST /form HTTP/1.1" 200 10',
      '10.0.0.3 - - [10/Oct/2000:13:58:00 -0700] "GET /missing HTTP/1.1" 404 12',
      '10.0.0.3 - - [10/Oct/2000:13:59:00 -0700] "GET /apache_pb.gif HTTP/1.1" 304 -',
      'garbage line',
      '10.0.0.3 - - [99/Foo/2000:13:59:00 -0700] "GET /x HTTP/1.1" 200 5',
    ].join('\n');
    const { events, stats } = await read('access.log.gz', gzipSync(log));
    const t0 = Date.UTC(2000, 9, 10, 20, 55, 36);
    expect(events.map((e) => [e.timeMs - t0, e.path, e.size, e.bytes])).toEqual([
      [0, 'apache_pb.gif', 2326, 2326],
      [24_000, 'apache_pb.gif', 2326, 1000],
      [204_000, 'apache_pb.gif', 2326, 0],
    ]);
    expect(stats.malformed).toBe(2);
    expect(stats.lines).toBe(7);
  });

  it('MSR Cambridge block CSV: extents of the given size are files, an I/O across extents is one request to each', async () => {
    const ticks = (ms: number) => String((ms + 11_644_473_600_000) * 10_000);
    const t = Date.UTC(2007, 1, 22);
    const csv = [
      `${ticks(t)},usr,0,Read,4096,8192,100`,
      `${ticks(t + 5)},usr,0,Write,${(1 << 20) - 4096},8192,100`,
      `${ticks(t + 9)},usr,1,Flush,0,0,1`,
      `12x,usr,0,Read,0,1,1`,
    ].join('\n');
    const { events, stats } = await read('msr.csv', csv, { extentBytes: 1 << 20 });
    expect(events.map((e) => [e.timeMs - t, e.path, e.op, e.bytes, e.size])).toEqual([
      [0, 'usr/0/0', 'read', 8192, 1 << 20],
      [5, 'usr/0/0', 'write', 4096, 1 << 20],
      [5, 'usr/0/1', 'write', 4096, 1 << 20],
    ]);
    expect(stats.malformed).toBe(2);
  });

  it('a gzip stream without the .gz name is told by its magic number', async () => {
    const { events } = await read('plain-name.csv', gzipSync('1,a,10\n2,b,20\n'));
    expect(events.map((e) => e.path)).toEqual(['a', 'b']);
  });
});
