// The recall cache: byte budgets that hold under a workload larger than them, a disk
// cache that outlives the tier and keeps its LRU order, and damaged entries refused.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
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
