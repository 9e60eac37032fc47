// The native fast path: reads and writes of handles opened with a backing fd
// are served by the binding itself, byte-exact, and counted to accessBatch.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, serveMount, stopAllMounts, tempDir, type ServedMount } from '../helpers/mount.js';

const SERVER = new URL('./fixtures/serve-memfs.ts', import.meta.url).pathname;

interface Stats { jsReads: number; jsWrites: number; lateBatches: number; openHandles: number }
interface Totals { reads: number; readBytes: number; writes: number; writeBytes: number }
interface Batches { batches: number; totals: Record<string, Totals> }

async function serveBacked(mount: Record<string, unknown>): Promise<{ m: ServedMount; backing: string }> {
  const backing = tempDir('tierfs-backing');
  const m = await serveMount(SERVER, { args: [JSON.stringify({ memfs: { backingDir: backing }, mount })] });
  return { m, backing };
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** Stats once every handle is released (close(2) returns before the kernel sends release). */
async function settledStats(m: ServedMount): Promise<Stats> {
  let s = await m.command<Stats>('stats');
  for (const deadline = Date.now() + 5000; s.openHandles > 0 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
    s = await m.command<Stats>('stats');
  }
  expect(s.openHandles).toBe(0);
  expect(s.lateBatches).toBe(0);
  return s;
}

afterAll(async () => {
  await stopAllMounts();
});

/**
 * Records the splice(2) calls of every thread of a running process (strace -f -y:
 * each fd shown with what it is) until stop().
 */
async function traceSplices(pid: number): Promise<{ stop(): Promise<string[]> }> {
  const out = join(tempDir('tierfs-strace'), 'trace');
  const child = spawn('strace', ['-f', '-y', '-e', 'trace=splice', '-e', 'signal=none', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // strace says so on stderr once it has attached to each thread.
  for (const end = Date.now() + 10_000; !/attached/.test(stderr) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  expect(stderr).toMatch(/attached/);
  await new Promise((r) => setTimeout(r, 200)); // the last threads' attach lines follow the first
  return {
    stop: async () => {
      const exited = new Promise((r) => child.on('close', r));
      child.kill('SIGINT');
      await exited;
      return readFileSync(out, 'utf8').split('\n').filter((l) => /splice\(/.test(l));
    },
  };
}

describe('fast path with direct I/O (every byte reaches the binding)', () => {
  it('writes and reads at random offsets byte-exact, and accessBatch counts exactly the bytes moved', async () => {
    const { m, backing } = await serveBacked({ pageCache: 'none' });
    const file = join(m.mountpoint, 'data.bin');
    const SIZE = 4 << 20;
    const model = Buffer.alloc(SIZE);
    const rand = rng(42);
    const fh = await fs.open(file, 'w+');
    let written = 0;
    let writes = 0;
    for (let i = 0; i < 60; i++) {
      const len = 1 + rand(300 << 10);
      const off = rand(SIZE - len);
      const chunk = randomBytes(len);
      chunk.copy(model, off);
      expect((await fh.write(chunk, 0, len, off)).bytesWritten).toBe(len);
      written += len;
      writes++;
    }
    // The end of the model is where the file ends.
    const size = (await fh.stat()).size;
    let readBytes = 0;
    let reads = 0;
    for (let i = 0; i < 60; i++) {
      const len = 1 + rand(300 << 10);
      const off = rand(size);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, off);
      expect(bytesRead).toBe(Math.min(len, size - off));
      expect(buf.subarray(0, bytesRead).equals(model.subarray(off, off + bytesRead))).toBe(true);
      readBytes += bytesRead;
      reads++;
    }
    await fh.close();
    // The backing file holds exactly what went through the mount.
    expect(readFileSync(join(backing, String((await fs.stat(file)).ino))).equals(model.subarray(0, size))).toBe(true);

    const stats = await settledStats(m);
    expect(stats.jsReads).toBe(0);
    expect(stats.jsWrites).toBe(0);
    const { totals } = await m.command<Batches>('batches');
    const t = totals[String((await fs.stat(file)).ino)]!;
    expect(t).toEqual({ reads, readBytes, writes, writeBytes: written });
    await m.stop();
  });

  it('reports counts every ~200 ms while a handle stays open, and copies natively with copy_file_range', async () => {
    const { m } = await serveBacked({ pageCache: 'none' });
    const fh = await fs.open(join(m.mountpoint, 'open.bin'), 'w+');
    await fh.write(Buffer.alloc(100_000, 7), 0, 100_000, 0);
    // Reported while the handle stays open (polled: no release flushes it here).
    const openTotals = async () => Object.values((await m.command<Batches>('batches')).totals);
    let during = await openTotals();
    for (const end = Date.now() + 5000; during.length === 0 && Date.now() < end; during = await openTotals()) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(during).toEqual([{ reads: 0, readBytes: 0, writes: 1, writeBytes: 100_000 }]);
    // Sampled over a second of steady writes: a batch each ~200 ms, so about five —
    // not one per write (50), nor one at the end. Rewrites of byte 0 keep the bytes.
    const before = (await m.command<Batches>('batches')).batches;
    const t0 = Date.now();
    let rewrites = 0;
    while (Date.now() - t0 < 1000) {
      await fh.write(Buffer.alloc(1, 7), 0, 1, 0);
      rewrites++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = Date.now() - t0;
    const batches = (await m.command<Batches>('batches')).batches - before;
    expect(rewrites).toBeGreaterThan(20);
    expect(batches).toBeGreaterThanOrEqual(Math.floor(elapsed / 200) - 2);
    expect(batches).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 1);
    await fh.close();

    const copied = await run('/usr/bin/python3', [
      '-c',
      `import os,sys
i = os.open(sys.argv[1], os.O_RDONLY); o = os.open(sys.argv[2], os.O_CREAT | os.O_WRONLY, 0o644)
print(os.copy_file_range(i, o, 100000, 0, 0))`,
      join(m.mountpoint, 'open.bin'),
      join(m.mountpoint, 'copy.bin'),
    ]);
    expect(copied.stdout.trim()).toBe('100000');
    expect((await fs.readFile(join(m.mountpoint, 'copy.bin'))).equals(Buffer.alloc(100_000, 7))).toBe(true);
    await settledStats(m);
    const inoIn = (await fs.stat(join(m.mountpoint, 'open.bin'))).ino;
    const inoOut = (await fs.stat(join(m.mountpoint, 'copy.bin'))).ino;
    const { totals } = await m.command<Batches>('batches');
    expect(totals[String(inoIn)]!.readBytes).toBe(100_000);
    expect(totals[String(inoOut)]!.writeBytes).toBe(100_000);
    expect((await m.command<Stats>('stats')).jsReads).toBe(0);
    await m.stop();
  });
});

describe('fast path through the page cache, spliced both ways', () => {
  it('serves cached reads and writes byte-exact, moving the data by splice(2) both ways', async () => {
    // maxWrite 128 KiB: libfuse receives by splice only when a pipe holds a whole
    // request, and a pipe grows to /proc/sys/fs/pipe-max-size (1 MiB) at most, less
    // than a request of the default 1 MiB maxWrite plus its header.
    const { m } = await serveBacked({ pageCache: 'auto', splice: true, spliceRequests: true, maxWrite: 128 << 10 });
    const file = join(m.mountpoint, 'cached.bin');
    const data = randomBytes(16 << 20);
    const traced = await traceSplices(m.child.pid!);
    await fs.writeFile(file, data);
    expect((await fs.readFile(file)).equals(data)).toBe(true);
    // drop the mount's pages so that reads go through the binding again
    await fs.writeFile('/proc/sys/vm/drop_caches', '1');
    const rand = rng(7);
    const fh = await fs.open(file, 'r');
    for (let i = 0; i < 40; i++) {
      const len = 1 + rand(1 << 20);
      const off = rand(data.length - len);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, off);
      expect(buf.equals(data.subarray(off, off + len))).toBe(true);
    }
    await fh.close();
    const splices = await traced.stop();
    // Requests come in by splice and write payloads go on to the backing file from
    // the pipe; read data goes from the backing file into a pipe and on to /dev/fuse.
    const count = (re: RegExp) => splices.filter((l) => re.test(l)).length;
    const FILE = `</.*tierfs-backing-[^>]*>`;
    expect({
      requestsIn: count(/splice\(\d+<\/dev\/fuse>, NULL, \d+<pipe:/) > 0,
      writesToFile: count(new RegExp(`splice\\(\\d+<pipe:[^>]*>, NULL, \\d+${FILE}`)) > 0,
      readsFromFile: count(new RegExp(`splice\\(\\d+${FILE}, \\[\\d+\\], \\d+<pipe:`)) > 0,
      repliesOut: count(/splice\(\d+<pipe:[^>]*>, NULL, \d+<\/dev\/fuse>/) > 0,
    }).toEqual({ requestsIn: true, writesToFile: true, readsFromFile: true, repliesOut: true });
    const stats = await settledStats(m);
    expect([stats.jsReads, stats.jsWrites]).toEqual([0, 0]);
    const { totals } = await m.command<Batches>('batches');
    const t = totals[String((await fs.stat(file)).ino)]!;
    expect(t.writeBytes).toBe(data.length);
    expect(t.readBytes).toBeGreaterThan(0);
    await m.stop();
  });
});

describe('fast path with the writeback cache', () => {
  it('keeps unaligned small writes byte-exact (the kernel reads pages to fill them)', async () => {
    const { m } = await serveBacked({ writebackCache: true });
    const file = join(m.mountpoint, 'wb.bin');
    const model = Buffer.alloc(1 << 20);
    const rand = rng(3);
    const fh = await fs.open(file, 'w');
    for (let i = 0; i < 200; i++) {
      const len = 1 + rand(9000);
      const off = rand(model.length - len);
      const chunk = randomBytes(len);
      chunk.copy(model, off);
      await fh.write(chunk, 0, len, off);
    }
    await fh.close();
    const size = (await fs.stat(file)).size;
    await fs.writeFile('/proc/sys/vm/drop_caches', '1');
    expect((await fs.readFile(file)).equals(model.subarray(0, size))).toBe(true);
    await settledStats(m);
    await m.stop();
  });
});

describe('fast path switched off', () => {
  it('sends reads and writes of fd handles to JavaScript, with the same bytes', async () => {
    const { m } = await serveBacked({ fastPath: false, pageCache: 'none' });
    const file = join(m.mountpoint, 'slow.bin');
    const data = randomBytes(3 << 20);
    await fs.writeFile(file, data);
    expect((await fs.readFile(file)).equals(data)).toBe(true);
    const stats = await m.command<Stats>('stats');
    expect(stats.jsWrites).toBeGreaterThan(0);
    expect(stats.jsReads).toBeGreaterThan(0);
    expect((await m.command<Batches>('batches')).batches).toBe(0);
    await m.stop();
  });
});
