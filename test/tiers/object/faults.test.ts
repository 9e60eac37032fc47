// Lost, damaged, unreachable and archived cells: reads stay exact while a stripe has k
// good cells, fail with EIO (for that stripe only) when it has not, and scrub finds
// and rewrites what was damaged.
import { describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../../src/config/backends.js';
import { createObjectStore, FaultyStore, MemoryStore } from '../../../src/objectstore/index.js';
import type { ObjectStore } from '../../../src/objectstore/index.js';
import type { ObjectLayout } from '../../../src/tiers/object/types.js';
import { subsets } from '../../ec/random.js';
import { headerLength } from '../../../src/tiers/object/cell.js';
import { body, counting, infoFor, KiB, makeTier, memoryStores, MiB, newFileId, sourceOf, totals } from './helpers.js';

const shape = { k: 4, m: 2, chunkSize: 64 * KiB, smallFileThreshold: 16 * KiB };

async function written(stores: ObjectStore[], size = 3 * 64 * KiB + 999) {
  const data = body(size, 21);
  const layout = await makeTier(shape, stores).write(sourceOf(data), infoFor('f'), newFileId());
  return { data, layout };
}

function cellAt(layout: ObjectLayout, stripe: number, cell: number) {
  return layout.stripes[stripe]!.cells[cell]!;
}

async function saveCell(stores: ObjectStore[], layout: ObjectLayout, stripe: number, cell: number) {
  const ref = cellAt(layout, stripe, cell);
  const { data } = await stores[ref.backend]!.get(ref.key);
  return { ref, data, restore: () => stores[ref.backend]!.put(ref.key, data) };
}

describe('lost cells', () => {
  it('any m cells of a stripe may go: reads stay exact, from a cold cache each time', async () => {
    const stores = memoryStores(6);
    const { data, layout } = await written(stores);
    const stripe = 1;
    const range = { offset: 64 * KiB, length: 64 * KiB };
    const want = data.subarray(range.offset, range.offset + range.length);
    for (const lost of subsets(6, 2)) {
      const saved = await Promise.all(lost.map((c) => saveCell(stores, layout, stripe, c)));
      for (const s of saved) await stores[s.ref.backend]!.delete(s.ref.key);
      const tier = makeTier(shape, stores);
      expect((await tier.read(layout, range.offset, range.length)).equals(want), `lost ${lost}`).toBe(true);
      expect((await tier.stats()).degradedReads).toBe(lost.some((c) => c < 4) ? 1 : 0);
      await tier.close();
      for (const s of saved) await s.restore();
    }
  });

  it('m+1 lost cells: EIO for that stripe, the others still read', async () => {
    const stores = memoryStores(6);
    const { data, layout } = await written(stores);
    for (const c of [0, 2, 5]) await stores[cellAt(layout, 2, c).backend]!.delete(cellAt(layout, 2, c).key);
    const tier = makeTier(shape, stores);
    await expect(tier.read(layout, 2 * 64 * KiB + 10, 100)).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/stripe 2 .* 3 readable cells, 4 are needed/) });
    expect((await tier.read(layout, 0, 2 * 64 * KiB)).equals(data.subarray(0, 2 * 64 * KiB))).toBe(true);
    expect((await tier.read(layout, 3 * 64 * KiB, 999)).equals(data.subarray(3 * 64 * KiB))).toBe(true);
    const report = await tier.scrub(layout, true);
    expect(report).toMatchObject({ stripesLost: 1, cellsBad: 3, cellsRepaired: 0 });
    await tier.close();
  });

  it('concurrent readers of a stripe with a lost cell share one rebuild', async () => {
    const stores = memoryStores(6);
    const { data, layout } = await written(stores);
    await stores[cellAt(layout, 1, 0).backend]!.delete(cellAt(layout, 1, 0).key);
    const tier = makeTier(shape, stores);
    const base = 64 * KiB;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const off = base + ((i * 3001) % (16 * KiB)); // all inside the lost cell 0
        expect((await tier.read(layout, off, 1000)).equals(data.subarray(off, off + 1000))).toBe(true);
      }),
    );
    expect((await tier.stats()).degradedReads).toBe(1);
    await tier.close();
  });

  it('a backend that fails every call is read around', async () => {
    const inner = memoryStores(6);
    const { data, layout } = await written(inner);
    const down = new FaultyStore(inner[3]!, { seed: 1, errorRate: 1 });
    const tier = makeTier(shape, inner.map((s, i) => (i === 3 ? down : s)));
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    expect(down.injected.errors).toBeGreaterThan(0);
    await tier.close();
  });

  it('random transient faults and corrupt bodies, behind the retrying store, never reach the reader', async () => {
    const faulty: FaultyStore[] = [];
    const stores = Array.from({ length: 6 }, (_, i) =>
      createObjectStore(backendConfigSchema.parse({ type: 'memory', retry: { maxAttempts: 8, baseDelay: '1ms', maxDelay: '4ms' } }), {
        wrapAdapter: (a) => {
          const f = new FaultyStore(a, { seed: 100 + i, errorRate: 0.2, corruptRate: 0.1, truncateRate: 0.05 });
          faulty.push(f);
          return f;
        },
      }),
    );
    const { data, layout } = await written(stores, 6 * 64 * KiB + 5);
    const tier = makeTier(shape, stores, { memoryCacheBytes: 0 });
    for (let off = 0; off < data.length; off += 50_000) {
      expect((await tier.read(layout, off, 50_000)).equals(data.subarray(off, off + 50_000))).toBe(true);
    }
    const injected = faulty.reduce((n, f) => n + f.injected.errors + f.injected.corrupted + f.injected.truncated, 0);
    expect(injected).toBeGreaterThan(10);
    await tier.close();
  });
});

describe('damaged cells', () => {
  it('a flipped byte in a data cell is caught, answered from parity, and repaired by scrub', async () => {
    const stores = counting(memoryStores(6));
    const { data, layout } = await written(stores);
    const victim = await saveCell(stores, layout, 0, 1);
    const bad = Buffer.from(victim.data);
    bad[bad.length - 10]! ^= 0xff;
    await stores[victim.ref.backend]!.put(victim.ref.key, bad);

    const tier = makeTier(shape, stores);
    expect((await tier.read(layout, 0, 64 * KiB)).equals(data.subarray(0, 64 * KiB))).toBe(true);
    expect((await tier.stats()).degradedReads).toBe(1);

    expect(await tier.scrub(layout, false)).toMatchObject({ cellsChecked: 24, cellsBad: 1, cellsRepaired: 0, stripesLost: 0 });
    const putsBefore = stores[victim.ref.backend]!.puts;
    expect(await tier.scrub(layout, true)).toMatchObject({ cellsBad: 1, cellsRepaired: 1 });
    expect(stores[victim.ref.backend]!.puts).toBe(putsBefore + 1);
    const { data: rewritten } = await stores[victim.ref.backend]!.get(victim.ref.key);
    expect(rewritten.equals(victim.data)).toBe(true);
    expect(await tier.scrub(layout, false)).toMatchObject({ cellsChecked: 24, cellsBad: 0 });
    await tier.close();
  });

  it('a flipped byte inside one block of a cell: a ranged read of that block finds it and answers from parity; a read of another block of the cell still fetches only its block', async () => {
    const stores = counting(memoryStores(6));
    const big = { k: 2, m: 1, chunkSize: 1 * MiB, smallFileThreshold: 16 * KiB }; // cells of 512 KiB: 8 blocks
    const tier = makeTier(big, stores);
    const data = body(3 * MiB, 12);
    const layout = await tier.write(sourceOf(data), infoFor('blocks'), newFileId());
    const victim = await saveCell(stores, layout, 1, 0);
    const bad = Buffer.from(victim.data);
    bad[headerLength(layout.fileId) + 7 * 64 * KiB + 777]! ^= 0xff; // in block 7
    await stores[victim.ref.backend]!.put(victim.ref.key, bad);
    stores.forEach((s) => s.reset());

    const at = MiB + 64 * KiB + 5; // stripe 1, cell 0, block 1: intact
    expect((await tier.read(layout, at, 4 * KiB)).equals(data.subarray(at, at + 4 * KiB))).toBe(true);
    expect(totals(stores)).toMatchObject({ gets: 1, getBytes: 64 * KiB });
    expect((await tier.stats()).degradedReads).toBe(0);

    const damaged = MiB + 7 * 64 * KiB + 100; // block 7 (too far on to count as sequential): its CRC fails, the whole cell's too; the stripe is rebuilt
    expect((await tier.read(layout, damaged, 4 * KiB)).equals(data.subarray(damaged, damaged + 4 * KiB))).toBe(true);
    expect(await tier.stats()).toMatchObject({ degradedReads: 1, lostCells: 1 });
    await tier.close();
  });

  it('missing parity and a cell written under another header are found by scrub and rebuilt', async () => {
    const stores = memoryStores(6);
    const { data, layout } = await written(stores);
    const parity = await saveCell(stores, layout, 3, 5);
    await stores[parity.ref.backend]!.delete(parity.ref.key);
    // A cell of stripe 1 stored where stripe 2's cell 0 belongs: right checksum, wrong place.
    const misplaced = await saveCell(stores, layout, 1, 0);
    const target = await saveCell(stores, layout, 2, 0);
    await stores[target.ref.backend]!.put(target.ref.key, misplaced.data);

    const tier = makeTier(shape, stores);
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    expect(await tier.scrub(layout, true)).toMatchObject({ cellsBad: 2, cellsRepaired: 2, stripesLost: 0 });
    expect((await stores[parity.ref.backend]!.get(parity.ref.key)).data.equals(parity.data)).toBe(true);
    expect((await stores[target.ref.backend]!.get(target.ref.key)).data.equals(target.data)).toBe(true);
    await tier.close();
  });

  it('a damaged copy of a small file is rewritten from a good one', async () => {
    const stores = memoryStores(3);
    const data = body(500, 22);
    const tier = makeTier(shape, stores);
    const layout = await tier.write(sourceOf(data), infoFor('s'), newFileId());
    const copy = await saveCell(stores, layout, 0, 1);
    await stores[copy.ref.backend]!.put(copy.ref.key, copy.data.subarray(0, 20));
    expect(await tier.scrub(layout, true)).toMatchObject({ cellsChecked: 3, cellsBad: 1, cellsRepaired: 1 });
    expect((await stores[copy.ref.backend]!.get(copy.ref.key)).data.equals(copy.data)).toBe(true);
    await tier.close();
  });
});

describe('archived cells', () => {
  it('a read starts a restore and fails with EAGAIN, and succeeds once restored', async () => {
    const stores = [new MemoryStore(), new MemoryStore(), new MemoryStore()];
    const { data, layout } = await written(stores);
    // Send every object to the archive class, as a lifecycle rule would.
    for (const s of layout.stripes) {
      for (const ref of s.cells) {
        const { data: bytes } = await stores[ref.backend]!.get(ref.key);
        await stores[ref.backend]!.put(ref.key, bytes, { storageClass: 'ARCHIVE' });
      }
    }
    const tier = makeTier(shape, stores);
    await expect(tier.read(layout, 0, 100)).rejects.toMatchObject({ code: 'EAGAIN', message: expect.stringMatching(/archived; a restore has been started/) });
    await tier.idle();
    expect((await tier.stats()).restoresStarted).toBe(1);
    // MemoryStore restores at once; data cells are readable again (parity was left archived).
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    expect(await tier.scrub(layout, false)).toMatchObject({ cellsBad: 0, cellsArchived: 8 });
    await tier.close();
  });
});
