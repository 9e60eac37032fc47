// Write, read back, byte for byte: sizes at every boundary, random ranges, both the
// memory and the filesystem backends, and what a read costs in requests.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../../src/objectstore/index.js';
import { backendConfigSchema } from '../../../src/config/backends.js';
import { rng } from '../../ec/random.js';
import { tempDir } from '../../helpers/tmp.js';
import { body, counting, infoFor, KiB, makeTier, memoryStores, MiB, newFileId, sourceOf, totals } from './helpers.js';
import type { ByteSource } from '../../../src/tiers/object/types.js';
import { digestThread } from '../../../src/objectstore/digest-thread.js';

const shape = { k: 4, m: 2, chunkSize: 64 * KiB, smallFileThreshold: 16 * KiB };
const dirs: { remove(): void }[] = [];
afterAll(() => dirs.forEach((d) => d.remove()));

function fsStores(n: number) {
  const dir = tempDir('tierfs-objtier-');
  dirs.push(dir);
  return Array.from({ length: n }, (_, i) =>
    createObjectStore(backendConfigSchema.parse({ type: 'fs', root: `${dir.path}/b${i}`, fsync: false })),
  );
}

describe.each([
  ['memory', () => memoryStores(6)],
  ['fs', () => fsStores(6)],
])('round trips on %s backends', (_name, makeStores) => {
  const sizes = [0, 1, 16 * KiB - 1, 16 * KiB, 64 * KiB, 64 * KiB + 1, 5 * 64 * KiB + 12_345];
  it.each(sizes)('%i bytes', async (size) => {
    const tier = makeTier(shape, makeStores());
    const data = body(size, size + 1);
    let progress = 0;
    const layout = await tier.write(sourceOf(data), infoFor('a/b.bin'), newFileId(), (b) => { progress = b; });
    expect(progress).toBe(size);
    expect(layout.kind).toBe(size < shape.smallFileThreshold ? 'single' : 'striped');
    expect(layout.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(layout.size).toBe(size);
    expect((await tier.read(layout, 0, size + 100)).equals(data)).toBe(true);
    expect((await tier.read(layout, size, 10)).length).toBe(0);
    // Random ranges, the cache cleared of nothing: hits and misses both.
    const next = rng(size + 7);
    for (let i = 0; i < 40 && size > 0; i++) {
      const offset = next() % size;
      const length = 1 + (next() % Math.min(size, 200 * KiB));
      expect((await tier.read(layout, offset, length)).equals(data.subarray(offset, offset + length))).toBe(true);
    }
    await tier.close();
  });
});

describe('stripes written through reused shards', () => {
  // One stripe per batch, so from the third stripe on every one is read, coded and put
  // in the shards of one whose upload has finished: whatever those held must not leak
  // into the data, its zero padding or its parity.
  it.each([
    ['reads into the shards', true],
    ['returns its own buffers', false],
  ])('a source that %s: every byte back, and every stripe rebuilt from parity alone', async (_what, into) => {
    const stores = memoryStores(6);
    const tier = makeTier(shape, stores, { batchBytes: shape.chunkSize });
    // 9 full stripes and a last one 3 bytes short: its cells are full-sized, so its shards
    // are reused ones, and the last data cell's 3 bytes of padding must be zeros again.
    const data = body(10 * shape.chunkSize - 3, 31);
    const plain = sourceOf(data);
    const src: ByteSource = into
      ? { size: data.length, read: async (offset, length, target) => (target ? target.subarray(0, data.copy(target, 0, offset, offset + length)) : plain.read(offset, length)) }
      : plain;
    const layout = await tier.write(src, infoFor('reused'), newFileId());
    expect(layout.stripes).toHaveLength(10);
    expect(layout.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    // The data cells gone from every stripe, two of them (m = 2): parity must rebuild them.
    const reader = makeTier(shape, stores);
    for (const stripe of layout.stripes) {
      for (const ref of stripe.cells.slice(0, 2)) await stores[ref.backend]!.delete(ref.key);
    }
    expect((await reader.read(layout, 0, data.length)).equals(data)).toBe(true);
    expect((await reader.stats()).degradedReads).toBe(10);
    await tier.close();
    await reader.close();
  });
});

describe("the file's SHA-256, kept on the digest thread", () => {
  it('a thread that dies during a write fails the write, never records a hash of part of the file; the next write has the right one', async () => {
    const tier = makeTier(shape, memoryStores(6), { batchBytes: shape.chunkSize });
    const data = body(8 * shape.chunkSize + 5, 41);
    const plain = sourceOf(data);
    let killed = false;
    const dying: ByteSource = {
      size: data.length,
      read: async (offset, length) => {
        // Once the first stripes' pieces have gone to the thread's running hash.
        if (!killed && offset >= 4 * shape.chunkSize) {
          killed = true;
          await digestThread.kill();
        }
        return plain.read(offset, length);
      },
    };
    await expect(tier.write(dying, infoFor('dies'), newFileId())).rejects.toThrow(/digest thread ended/);
    expect(killed).toBe(true);
    const layout = await tier.write(sourceOf(data), infoFor('again'), newFileId());
    expect(layout.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    await tier.close();
  });
});

describe('what a read fetches', () => {
  it('a 4 KiB read in the middle of a 64 MiB file fetches the one 64 KiB block that holds it; a sequential reader whole cells', async () => {
    const stores = counting(memoryStores(6));
    const tier = makeTier({ k: 4, m: 2, chunkSize: 8 * MiB, smallFileThreshold: 256 * KiB }, stores);
    const data = body(64 * MiB, 9);
    const layout = await tier.write(sourceOf(data), infoFor('big'), newFileId());
    expect(layout.stripes).toHaveLength(8);
    expect(layout.blockSize).toBe(64 * KiB);
    stores.forEach((s) => s.reset());
    const read = async (offset: number, length = 4 * KiB) => expect((await tier.read(layout, offset, length)).equals(data.subarray(offset, offset + length))).toBe(true);
    const offset = 37 * MiB + 123; // stripe 4, cell 2, 1 MiB + 123 into it: block 16
    await read(offset);
    expect(totals(stores)).toMatchObject({ gets: 1, getBytes: 64 * KiB });
    // The same block again, a little before (not sequential): from memory, nothing fetched.
    await read(offset - 100);
    expect(totals(stores).gets).toBe(1);
    // Another block of the same cell: one more ranged get of 64 KiB.
    await read(offset - 512 * KiB);
    expect(totals(stores)).toMatchObject({ gets: 2, getBytes: 128 * KiB });
    expect(await tier.stats()).toMatchObject({ rangedReads: 2, cacheMisses: 2, cacheHitsMemory: 1, degradedReads: 0 });

    // Reads that follow each other: the first one its two blocks, then whole cells (2 MiB
    // and a header each), with more ahead of them.
    stores.forEach((s) => s.reset());
    await read(10 * MiB, 128 * KiB);
    expect(totals(stores)).toMatchObject({ gets: 1, getBytes: 128 * KiB });
    await read(10 * MiB + 128 * KiB, 128 * KiB);
    await tier.idle();
    const t = totals(stores);
    expect(t.gets).toBeGreaterThan(2);
    expect(t.getBytes).toBeGreaterThan(128 * KiB + (t.gets - 1) * 2 * MiB);
    await tier.close();
  });

  it('many concurrent readers of one file share each fetch', async () => {
    const stores = counting(memoryStores(6));
    const tier = makeTier(shape, stores);
    const data = body(10 * 64 * KiB, 10);
    const layout = await tier.write(sourceOf(data), infoFor('shared'), newFileId());
    stores.forEach((s) => s.reset());
    const reads = Array.from({ length: 50 }, (_, i) => {
      const offset = (i * 12_345) % data.length;
      return tier.read(layout, offset, 64 * KiB).then((got) => expect(got.equals(data.subarray(offset, offset + 64 * KiB))).toBe(true));
    });
    await Promise.all(reads);
    await tier.idle();
    // Every data cell at most once, however many readers wanted it.
    const keys = stores.flatMap((s) => s.getKeys);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeLessThanOrEqual(10 * 4);
    await tier.close();
  });

  it('a sequential reader gets the next stripes read ahead', async () => {
    const stores = counting(memoryStores(6));
    const tier = makeTier(shape, stores, { readAheadStripes: 2 });
    const data = body(8 * 64 * KiB, 11);
    const layout = await tier.write(sourceOf(data), infoFor('seq'), newFileId());
    stores.forEach((s) => s.reset());
    await tier.read(layout, 0, 8 * KiB);
    await tier.read(layout, 8 * KiB, 8 * KiB);
    await tier.idle();
    // Rest of stripe 0 and all of stripes 1 and 2 came ahead of the reader.
    expect(totals(stores).gets).toBe(12);
    expect((await tier.stats()).readAheadCells).toBe(11);
    // Reading on through stripe 2 now fetches nothing new.
    stores.forEach((s) => s.reset());
    for (let off = 16 * KiB; off < 3 * 64 * KiB; off += 16 * KiB) {
      expect((await tier.read(layout, off, 16 * KiB)).equals(data.subarray(off, off + 16 * KiB))).toBe(true);
    }
    const keysFetched = stores.flatMap((s) => s.getKeys);
    expect(keysFetched.every((k) => /\/s[345]\//.test(k))).toBe(true);
    await tier.idle();
    await tier.close();
  });

  it('a random reader gets no read-ahead', async () => {
    const stores = counting(memoryStores(6));
    const tier = makeTier(shape, stores);
    const data = body(8 * 64 * KiB, 12);
    const layout = await tier.write(sourceOf(data), infoFor('rand'), newFileId());
    stores.forEach((s) => s.reset());
    for (const off of [5 * 64 * KiB, 1 * 64 * KiB, 7 * 64 * KiB, 3 * 64 * KiB]) await tier.read(layout, off, 4 * KiB);
    await tier.idle();
    expect(totals(stores).gets).toBe(4);
    await tier.close();
  });
});

describe('small files', () => {
  it('are one object, copied to m+1 backends, read from any surviving copy', async () => {
    const stores = memoryStores(3);
    const tier = makeTier(shape, stores, { memoryCacheBytes: 0 });
    const data = body(1000, 13);
    const layout = await tier.write(sourceOf(data), infoFor('small'), newFileId());
    expect(layout.kind).toBe('single');
    expect(layout.stripes[0]!.cells.map((c) => c.backend).sort()).toEqual([0, 1, 2]);
    for (const cell of layout.stripes[0]!.cells.slice(0, 2)) await stores[cell.backend]!.delete(cell.key);
    expect((await tier.read(layout, 10, 100)).equals(data.subarray(10, 110))).toBe(true);
    expect((await tier.stats()).degradedReads).toBe(1);
    await tier.close();
  });
});

describe('schemes', () => {
  it('(8,3) and (12,4) tiers give identical bytes back for the same source', async () => {
    const data = body(3 * MiB + 777, 14);
    const a = makeTier({ k: 8, m: 3, chunkSize: MiB, smallFileThreshold: 64 * KiB }, memoryStores(11), { name: 'cold' });
    const b = makeTier({ k: 12, m: 4, chunkSize: MiB, smallFileThreshold: 64 * KiB }, memoryStores(16), { name: 'archive' });
    const la = await a.write(sourceOf(data), infoFor('x'), newFileId());
    // Copy cold → archive the way the mover does: the archive tier reads from the cold one.
    const lb = await b.write({ size: la.size, read: (o, l) => a.read(la, o, l) }, infoFor('x'), newFileId());
    expect(lb.sha256).toBe(la.sha256);
    expect([la.k, la.m, lb.k, lb.m]).toEqual([8, 3, 12, 4]);
    expect((await b.read(lb, 0, data.length)).equals(data)).toBe(true);
    expect(a.survivableBackendLosses).toBe(3);
    expect(b.survivableBackendLosses).toBe(4);
    await a.close();
    await b.close();
  });
});
