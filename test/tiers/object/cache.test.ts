// The recall cache: byte budgets that hold under a workload larger than them, a disk
// cache that outlives the tier and keeps its LRU order, and damaged entries refused.
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskCache } from '../../../src/tiers/object/disk-cache.js';
import { rng } from '../../ec/random.js';
import { tempDir } from '../../helpers/tmp.js';
import { body, counting, infoFor, KiB, makeTier, memoryStores, MiB, newFileId, sourceOf, totals } from './helpers.js';

const shape = { k: 4, m: 2, chunkSize: 64 * KiB, smallFileThreshold: 16 * KiB }; // cells of 16 KiB
let dir: ReturnType<typeof tempDir>;
afterEach(() => dir?.remove());

function bytesOnDisk(path: string): number {
  return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0);
}

describe('byte budgets', () => {
  it('the memory cache stays within its budget under random reads of a larger file', async () => {
    const tier = makeTier(shape, memoryStores(6), { memoryCacheBytes: 200 * KiB });
    const data = body(2 * MiB, 31);
    const layout = await tier.write(sourceOf(data), infoFor('m'), newFileId());
    const next = rng(5);
    for (let i = 0; i < 200; i++) {
      const off = next() % data.length;
      expect((await tier.read(layout, off, 20 * KiB)).equals(data.subarray(off, off + 20 * KiB))).toBe(true);
      expect((await tier.stats()).memoryCacheBytes).toBeLessThanOrEqual(200 * KiB);
    }
    expect((await tier.stats()).memoryCacheBytes).toBeGreaterThan(150 * KiB);
    await tier.close();
  });

  it('the disk cache stays within its budget, on disk too', async () => {
    dir = tempDir();
    const tier = makeTier(shape, memoryStores(6), { memoryCacheBytes: 0, cacheDir: dir.path, diskCacheBytes: 300 * KiB });
    const data = body(2 * MiB, 32);
    const layout = await tier.write(sourceOf(data), infoFor('d'), newFileId());
    for (let off = 0; off < data.length; off += 48 * KiB) {
      expect((await tier.read(layout, off, 48 * KiB)).equals(data.subarray(off, off + 48 * KiB))).toBe(true);
      expect((await tier.stats()).diskCacheBytes).toBeLessThanOrEqual(300 * KiB);
    }
    await tier.idle();
    expect(bytesOnDisk(dir.path)).toBeLessThanOrEqual(300 * KiB);
    expect(bytesOnDisk(dir.path)).toBeGreaterThan(250 * KiB);
    await tier.close();
  });
});

describe('the disk cache across restarts', () => {
  it('serves a reopened tier without going to the backends', async () => {
    dir = tempDir();
    const stores = counting(memoryStores(6));
    const data = body(256 * KiB, 33);
    const first = makeTier(shape, stores, { memoryCacheBytes: 0, cacheDir: dir.path, diskCacheBytes: 10 * MiB });
    const layout = await first.write(sourceOf(data), infoFor('r'), newFileId());
    await first.read(layout, 0, data.length);
    await first.close();

    stores.forEach((s) => s.reset());
    const second = makeTier(shape, stores, { cacheDir: dir.path, diskCacheBytes: 10 * MiB });
    expect((await second.read(layout, 1000, 200 * KiB)).equals(data.subarray(1000, 1000 + 200 * KiB))).toBe(true);
    expect(totals(stores).gets).toBe(0);
    expect((await second.stats()).diskHits).toBeGreaterThan(0);
    await second.close();
  });

  it('a damaged cache file is refused and the cell fetched again', async () => {
    dir = tempDir();
    const stores = counting(memoryStores(6));
    const data = body(64 * KiB, 34);
    const first = makeTier(shape, stores, { memoryCacheBytes: 0, cacheDir: dir.path, diskCacheBytes: MiB });
    const layout = await first.write(sourceOf(data), infoFor('c'), newFileId());
    await first.read(layout, 0, 10);
    await first.close();
    const [name] = readdirSync(dir.path);
    writeFileSync(join(dir.path, name!), Buffer.alloc(16 * KiB, 7));

    stores.forEach((s) => s.reset());
    const second = makeTier(shape, stores, { memoryCacheBytes: 0, cacheDir: dir.path, diskCacheBytes: MiB });
    expect((await second.read(layout, 0, 100)).equals(data.subarray(0, 100))).toBe(true);
    expect((await second.stats()).diskRejected).toBe(1);
    expect(totals(stores).gets).toBe(1);
    await second.close();
  });

  it('keeps the order of writes and hits made within one clock tick across a restart', async () => {
    // No pauses: the file times the kernel would give these writes are equal (coarse),
    // so only the cache's own stamps can tell their order.
    dir = tempDir();
    const a = await DiskCache.open(dir.path, 1000);
    for (const name of ['e', 'd', 'c', 'b', 'a']) a.put(name, Buffer.alloc(100, name));
    await a.idle();
    await a.get('d');
    await a.idle();
    const b = await DiskCache.open(dir.path, 200); // keeps the two most recent
    await b.idle();
    expect(readdirSync(dir.path).sort()).toEqual(['a', 'd']);
  });

  it('keeps least-recently-used order and drops temporary files when reopened', async () => {
    dir = tempDir();
    const a = await DiskCache.open(dir.path, 300);
    for (const name of ['a', 'b', 'c']) {
      a.put(name, Buffer.alloc(100, name));
      await a.idle();
      await sleep(15);
    }
    expect((await a.get('a'))?.toString()).toBe('a'.repeat(100)); // a is now the most recent
    await a.idle();
    writeFileSync(join(dir.path, 'x.tmp-1234'), 'half written');

    const b = await DiskCache.open(dir.path, 300);
    expect(b.entries).toBe(3);
    b.put('d', Buffer.alloc(100, 'd'));
    await b.idle();
    expect(readdirSync(dir.path).sort()).toEqual(['a', 'c', 'd']);
    // A smaller budget at restart evicts down to it, oldest first.
    const c = await DiskCache.open(dir.path, 150);
    await c.idle();
    expect(readdirSync(dir.path)).toEqual(['d']);
  });
});

describe('cells served from their disk cache file', () => {
  // Cells of 256 KiB: four checksummed blocks each.
  const big = { k: 4, m: 2, chunkSize: MiB, smallFileThreshold: 16 * KiB };
  const cacheFiles = () => readdirSync(dir.path).filter((n) => !n.includes('.tmp-'));

  it('reads that cross blocks, cells and stripes are exact; each cell is fetched once, into a file, not into memory', async () => {
    dir = tempDir();
    const stores = counting(memoryStores(6));
    const tier = makeTier(big, stores, { memoryCacheBytes: 64 * MiB, cacheDir: dir.path, diskCacheBytes: 64 * MiB });
    const data = body(3 * MiB - 1000, 41);
    const layout = await tier.write(sourceOf(data), infoFor('f'), newFileId());
    stores.forEach((s) => s.reset());
    for (let off = 0; off < data.length; off += 100 * KiB) {
      const length = Math.min(100 * KiB, data.length - off);
      expect((await tier.read(layout, off, length)).equals(data.subarray(off, off + length))).toBe(true);
    }
    await tier.idle();
    expect(totals(stores).gets).toBe(12); // 3 stripes × 4 data cells
    expect(cacheFiles()).toHaveLength(12);
    expect((await tier.stats()).memoryCacheBytes).toBe(0);
    const next = rng(9);
    for (let i = 0; i < 100; i++) {
      const off = next() % data.length;
      const length = 1 + (next() % (600 * KiB));
      const want = data.subarray(off, off + length);
      expect((await tier.read(layout, off, length)).equals(want)).toBe(true);
    }
    expect(totals(stores).gets).toBe(12);
    expect((await tier.stats()).diskHits).toBeGreaterThan(100);
    await tier.close();
  });

  it('a cached cell changed on disk while the tier is open is detected, not served, and fetched again', async () => {
    dir = tempDir();
    const stores = counting(memoryStores(6));
    const tier = makeTier(big, stores, { memoryCacheBytes: 64 * MiB, cacheDir: dir.path, diskCacheBytes: 64 * MiB });
    const data = body(MiB, 42);
    const layout = await tier.write(sourceOf(data), infoFor('g'), newFileId());
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    await tier.idle();
    // In place (same inode), as rot or a stray writer would: the tier keeps the file open.
    const name = cacheFiles().find((n) => n.endsWith('.s0.c1'))!;
    const fd = openSync(join(dir.path, name), 'r+');
    writeSync(fd, Buffer.from('rot'), 0, 3, 70 * KiB);
    closeSync(fd);
    stores.forEach((s) => s.reset());
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    expect((await tier.stats()).diskRejected).toBe(1);
    expect(totals(stores).gets).toBe(1);
    await tier.close();
  });

  it('a cell that arrives damaged is never kept: the read is answered from parity, the cache holds only good bytes', async () => {
    dir = tempDir();
    const stores = counting(memoryStores(6));
    const tier = makeTier(big, stores, { memoryCacheBytes: 0, cacheDir: dir.path, diskCacheBytes: 64 * MiB });
    const data = body(MiB, 43);
    const layout = await tier.write(sourceOf(data), infoFor('h'), newFileId());
    const ref = layout.stripes[0]!.cells[2]!;
    const { data: cell } = await stores[ref.backend]!.get(ref.key);
    cell[cell.length - 5]! ^= 0xff;
    await stores[ref.backend]!.put(ref.key, cell);

    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    // Caught as it arrived (not stored, then refused by a read of the file: diskRejected would count that).
    expect(await tier.stats()).toMatchObject({ degradedReads: 1, diskRejected: 0 });
    await tier.idle();
    const file = cacheFiles().find((n) => n.endsWith('.s0.c2'));
    if (file) expect(readFileSync(join(dir.path, file)).equals(data.subarray(2 * 256 * KiB, 3 * 256 * KiB))).toBe(true);
    await tier.close();
  });
});

describe('entries stored from a stream', () => {
  async function* slowly(parts: Buffer[], pause: Promise<void>): AsyncIterable<Uint8Array> {
    yield parts[0]!;
    await pause;
    for (const p of parts.slice(1)) yield p;
  }

  it('an entry whose copy is dropped while it arrives is not kept', async () => {
    dir = tempDir();
    const cache = await DiskCache.open(dir.path, 1 * MiB);
    let go!: () => void;
    const stored = cache.store('f1.s0.c0', 200, slowly([Buffer.alloc(100, 1), Buffer.alloc(100, 2)], new Promise<void>((r) => (go = r))));
    cache.dropPrefix('f1.');
    go();
    await stored;
    await cache.idle();
    expect(cache.has('f1.s0.c0')).toBe(false);
    expect(cache.usedBytes).toBe(0);
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it('remembers the inode and ctime of a file it wrote whole, carries them over its own touches, and forgets them on a change', async () => {
    dir = tempDir();
    const cache = await DiskCache.open(dir.path, 1 * MiB);
    await cache.store('a', 100, slowly([Buffer.alloc(100, 7)], Promise.resolve()));
    const path = cache.pathOf('a');
    const as = () => {
      const st = statSync(path, { bigint: true });
      return { ino: st.ino, ctimeNs: st.ctimeNs };
    };
    expect(cache.checkedAs('a')).toEqual(as());
    await sleep(20);
    expect((await cache.read('a', 0, 10))?.length).toBe(10); // opens the file: a touch of its mtime
    await cache.idle();
    expect(cache.checkedAs('a')).toEqual(as());
    // Written behind the cache's back: the next touch finds another ctime and forgets it.
    await sleep(20);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from('x'), 0, 1, 5);
    closeSync(fd);
    await cache.close(); // the open file goes, so that the next read opens (and touches) it again
    expect((await cache.read('a', 0, 10))?.length).toBe(10);
    await cache.idle();
    expect(cache.checkedAs('a')).toBeUndefined();
  });
});

describe('a copy read front to back for a move to a local tier', () => {
  const big = { k: 4, m: 2, chunkSize: MiB, smallFileThreshold: 16 * KiB }; // cells of 256 KiB

  it('is exact, fetches each data cell once and keeps none in the recall cache; a lost one is rebuilt', async () => {
    dir = tempDir();
    const stores = counting(memoryStores(6));
    const tier = makeTier(big, stores, { memoryCacheBytes: 64 * MiB, cacheDir: dir.path, diskCacheBytes: 64 * MiB });
    const data = body(3 * MiB - 1000, 43);
    const layout = await tier.write(sourceOf(data), infoFor('f'), newFileId());
    const copy = async () => {
      const src = tier.copySource(layout);
      const pieces: Buffer[] = [];
      for (let off = 0; off < data.length; off += MiB) pieces.push(Buffer.from(await src.read(off, Math.min(MiB, data.length - off))));
      await tier.idle();
      return Buffer.concat(pieces);
    };
    stores.forEach((s) => s.reset());
    expect((await copy()).equals(data)).toBe(true);
    expect(totals(stores).gets).toBe(12); // 3 stripes × 4 data cells, each once
    expect(readdirSync(dir.path)).toEqual([]);
    // One data cell of the middle stripe is gone: that stripe is rebuilt from the others.
    const lost = layout.stripes[1]!.cells[2]!;
    await stores[lost.backend]!.delete(lost.key);
    expect((await copy()).equals(data)).toBe(true);
    expect((await tier.stats()).degradedReads).toBe(1);
    // Only the cell rebuilt from parity is kept, as every rebuild keeps what it rebuilt.
    expect(readdirSync(dir.path)).toHaveLength(1);
    await tier.close();
  });
});
