// A copy's life around the move protocol: a write that is verified (and refused when
// a backend stored something else), removal of a whole copy or of what an interrupted
// write left, and the manifests fsck rebuilds the catalog from.
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { configSchema, type ObjectTierConfig } from '../../../src/config/schema.js';
import { FaultyStore, MemoryStore, TransientError } from '../../../src/objectstore/index.js';
import type { ObjectStore, PutOptions } from '../../../src/objectstore/index.js';
import { openObjectTier } from '../../../src/tiers/object/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { body, counting, CountingStore, FSID, infoFor, KiB, makeTier, memoryStores, newFileId, sourceOf } from './helpers.js';

const shape = { k: 4, m: 2, chunkSize: 64 * KiB, smallFileThreshold: 16 * KiB };

async function keysOf(stores: ObjectStore[], prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for (const s of stores) for await (const e of s.list(prefix)) keys.push(e.key);
  return keys;
}

/** Stores a damaged body for one key, as a faulty disk behind a backend might. */
class LyingStore extends CountingStore {
  constructor(inner: ObjectStore, private readonly victim: RegExp) {
    super(inner);
  }
  override put(key: string, body: Buffer | Readable, opts?: PutOptions) {
    if (this.victim.test(key) && Buffer.isBuffer(body)) {
      const bad = Buffer.from(body);
      bad[bad.length - 1]! ^= 1;
      return super.put(key, bad, opts);
    }
    return super.put(key, body, opts);
  }
}

/** Acknowledges a put of a matching key and keeps nothing, or keeps it cut short. */
class ForgetfulStore extends CountingStore {
  constructor(inner: ObjectStore, private readonly victim: RegExp, private readonly keep: 'nothing' | 'half') {
    super(inner);
  }
  override async put(key: string, body: Buffer | Readable, opts?: PutOptions) {
    if (!this.victim.test(key) || !Buffer.isBuffer(body)) return super.put(key, body, opts);
    if (this.keep === 'half') await super.put(key, body.subarray(0, body.length >> 1), opts);
    return { etag: 'forgotten', size: body.length };
  }
}

describe('write', () => {
  it('with verifyWrites: read-back, reads every cell back before returning, and refuses a copy a backend stored wrong', async () => {
    const stores: ObjectStore[] = memoryStores(6);
    stores[2] = new LyingStore(stores[2]!, /\/s1\//);
    const tier = makeTier(shape, stores, { verifyWrites: 'read-back' });
    const fileId = newFileId();
    await expect(tier.write(sourceOf(body(4 * 64 * KiB, 41)), infoFor('w'), fileId)).rejects.toMatchObject({
      code: 'EIO', message: expect.stringMatching(/did not read back.*checksum/),
    });
    await tier.close();
  });

  it('by default checks each object with a HEAD, no GET, and refuses a copy whose object a backend lost or cut short', async () => {
    const good = counting(memoryStores(6));
    const tier = makeTier(shape, good);
    const data = body(5 * 64 * KiB + 123, 46);
    const layout = await tier.write(sourceOf(data), infoFor('ok'), newFileId());
    const objects = layout.stripes.reduce((n, s) => n + s.cells.length, 0) + layout.manifest.length;
    expect(good.reduce((n, s) => n + s.heads, 0)).toBe(objects);
    expect(good.reduce((n, s) => n + s.gets, 0)).toBe(0);
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    await tier.close();

    for (const [keep, message] of [['nothing', /cell 1\/\d of .* is not there after its put/], ['half', /cell 1\/\d of .* holds \d+ bytes after a put of \d+/]] as const) {
      const stores: ObjectStore[] = memoryStores(6);
      stores[3] = new ForgetfulStore(stores[3]!, /\/s1\//, keep);
      const bad = makeTier(shape, stores);
      await expect(bad.write(sourceOf(body(4 * 64 * KiB, 47)), infoFor('w'), newFileId())).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(message) });
      await bad.close();
    }
  });

  it('writes a manifest on every backend', async () => {
    const stores = memoryStores(3);
    const tier = makeTier(shape, stores);
    const layout = await tier.write(sourceOf(body(100 * KiB, 42)), infoFor('dir/file'), newFileId());
    expect(layout.manifest.map((m) => m.backend)).toEqual([0, 1, 2]);
    for (const m of layout.manifest) expect((await stores[m.backend]!.head(m.key)).size).toBeGreaterThan(0);
    await tier.close();
  });
});

describe('remove', () => {
  it('remove(layout) deletes every object of the copy and no other', async () => {
    const stores = memoryStores(6);
    const tier = makeTier(shape, stores);
    const keep = await tier.write(sourceOf(body(200 * KiB, 43)), infoFor('keep'), newFileId());
    const before = (await keysOf(stores)).length;
    const drop = await tier.write(sourceOf(body(300 * KiB, 44)), infoFor('drop'), newFileId());
    await tier.remove(drop);
    expect((await keysOf(stores)).length).toBe(before);
    expect(await keysOf(stores, `${FSID}/${drop.fileId}/`)).toEqual([]);
    await tier.remove(drop); // what is already gone is fine
    expect((await tier.read(keep, 0, 10)).length).toBe(10);
    await tier.close();
  });

  it('removePartial removes what an interrupted write left on every backend', async () => {
    const inner = memoryStores(6);
    // Puts fail now and then, sometimes after the object was stored (the reply was lost).
    const stores = inner.map((s, i) => new FaultyStore(s, { seed: 7 + i, errorRate: 0.15, ops: ['put'] }));
    const tier = makeTier(shape, stores);
    const fileId = newFileId();
    await expect(tier.write(sourceOf(body(20 * 64 * KiB, 45)), infoFor('x'), fileId)).rejects.toThrow(/injected fault/);
    expect((await keysOf(inner, `${FSID}/${fileId}/`)).length).toBeGreaterThan(0);
    await tier.removePartial(fileId);
    expect(await keysOf(inner, `${FSID}/${fileId}/`)).toEqual([]);
    await tier.close();
  });
});

/** Records the order of deletes; deletes of keys matching `failing` fail as a backend that is down would, of `hanging` never end. */
class DeleteLog extends CountingStore {
  constructor(inner: ObjectStore, private readonly order: string[], private readonly failing?: RegExp, private readonly hanging?: RegExp) {
    super(inner);
  }
  override async delete(key: string) {
    this.order.push(key);
    if (this.failing?.test(key)) throw new TransientError(`injected: cannot delete ${key}`);
    if (this.hanging?.test(key)) return new Promise<void>(() => undefined);
    return super.delete(key);
  }
}

const isManifest = (key: string) => key.endsWith('/manifest');

describe('remove: manifests before cells', () => {
  it('deletes every manifest before the first cell', async () => {
    const order: string[] = [];
    const stores = memoryStores(3).map((s) => new DeleteLog(s, order));
    const tier = makeTier(shape, stores);
    const layout = await tier.write(sourceOf(body(300 * KiB, 60)), infoFor('f'), newFileId());
    await tier.remove(layout);
    const firstCell = order.findIndex((k) => !isManifest(k));
    expect(order.slice(0, firstCell).filter(isManifest)).toHaveLength(3);
    expect(order.slice(firstCell).some(isManifest)).toBe(false);
    await tier.close();
  });

  it('cut short while deleting cells (the daemon dies), leaves no manifest whose cells are gone', async () => {
    const inner = memoryStores(3);
    const stores = inner.map((s) => new DeleteLog(s, [], undefined, /\/s[1-9]\//));
    const tier = makeTier(shape, stores);
    const layout = await tier.write(sourceOf(body(300 * KiB, 61)), infoFor('f'), newFileId());
    void tier.remove(layout); // never finishes: deletes past stripe 0 hang, as if the process had died there
    await new Promise((r) => setTimeout(r, 100));
    const left = await keysOf(inner, `${FSID}/${layout.fileId}/`);
    expect(left.some((k) => k.includes('/s0/'))).toBe(false); // some cells are gone…
    expect(left.filter(isManifest)).toEqual([]); // …so no manifest may remain
    const found = [];
    for await (const m of tier.manifests()) found.push(m);
    expect(found).toEqual([]);
  });

  it('keeps every cell while a manifest cannot be deleted', async () => {
    const inner = memoryStores(3);
    const stores = inner.map((s, i) => new DeleteLog(s, [], i === 1 ? /manifest$/ : undefined));
    const tier = makeTier(shape, stores);
    const data = body(300 * KiB, 62);
    const layout = await tier.write(sourceOf(data), infoFor('f'), newFileId());
    const cells = layout.stripes.flatMap((s) => s.cells).length;
    await expect(tier.remove(layout)).rejects.toThrow(/could not delete/);
    expect((await keysOf(inner, `${FSID}/${layout.fileId}/`)).filter((k) => !isManifest(k))).toHaveLength(cells);
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
    await tier.close();
  });

  it('removePartial deletes the manifest before the cells too', async () => {
    const order: string[] = [];
    const stores = memoryStores(3).map((s) => new DeleteLog(s, order));
    const tier = makeTier(shape, stores);
    const layout = await tier.write(sourceOf(body(300 * KiB, 63)), infoFor('f'), newFileId());
    await tier.removePartial(layout.fileId);
    const firstCell = order.findIndex((k) => !isManifest(k));
    expect(firstCell).toBeGreaterThanOrEqual(3);
    expect(order.slice(firstCell).some(isManifest)).toBe(false);
    expect(await keysOf(stores, `${FSID}/${layout.fileId}/`)).toEqual([]);
    await tier.close();
  });
});

describe('what a rebuild asks of a copy', () => {
  it('stamps each manifest with a write sequence that grows, unless the caller gives one', async () => {
    const tier = makeTier(shape, memoryStores(3));
    const first = await tier.write(sourceOf(body(10 * KiB, 70)), infoFor('a'), newFileId());
    const second = await tier.write(sourceOf(body(10 * KiB, 71)), infoFor('a'), newFileId());
    const given = await tier.write(sourceOf(body(10 * KiB, 72)), { ...infoFor('b'), writeSequence: 7 }, newFileId());
    const seq = new Map<string, number | undefined>();
    for await (const m of tier.manifests()) seq.set(m.layout.fileId, m.info.writeSequence);
    expect(seq.get(first.fileId)).toBeGreaterThan(Date.now() * 1000 - 60e9);
    expect(seq.get(second.fileId)).toBeGreaterThan(seq.get(first.fileId)!);
    expect(seq.get(given.fileId)).toBe(7);
    await tier.close();
  });

  it('finds the first stripe with fewer than k cells listed', async () => {
    const stores = memoryStores(6);
    const tier = makeTier(shape, stores);
    const layout = await tier.write(sourceOf(body(3 * 64 * KiB, 73)), infoFor('f'), newFileId());
    expect(await tier.incompleteStripe(layout)).toBeNull();
    // m = 2 cells of stripe 1 gone: still k left, still restorable.
    const drop = async (stripe: number, cells: number[]) => {
      for (const c of cells) {
        const ref = layout.stripes[stripe]!.cells[c]!;
        await stores[ref.backend]!.delete(ref.key);
      }
    };
    await drop(1, [0, 5]);
    expect(await tier.incompleteStripe(layout)).toBeNull();
    await drop(1, [2]);
    expect(await tier.incompleteStripe(layout)).toEqual({ stripe: 1, present: 3, needed: 4 });
    await tier.close();
  });
});

describe('manifests', () => {
  it('lists every written file once, with its attributes and layout, even when some copies are gone', async () => {
    const stores = memoryStores(3);
    const tier = makeTier(shape, stores);
    const layouts = [];
    for (const [i, size] of [0, 5 * KiB, 200 * KiB].entries()) {
      layouts.push(await tier.write(sourceOf(body(size, 50 + i)), infoFor(`d/f${i}`, 100 + i), newFileId()));
    }
    // One manifest gone on backend 0, another damaged on backend 1: the other backends have them.
    await stores[0]!.delete(layouts[0]!.manifest[0]!.key);
    await stores[1]!.put(layouts[1]!.manifest[1]!.key, Buffer.from('{"format":"tierfs-manifest", trunc'));
    // Objects of another filesystem sharing the bucket are not ours.
    await stores[0]!.put('00000000-0000-0000-0000-000000000000/other/manifest', Buffer.from('{}'));

    const found = [];
    for await (const m of tier.manifests()) found.push(m);
    expect(found.map((m) => m.info.path).sort()).toEqual(['d/f0', 'd/f1', 'd/f2']);
    for (const m of found) expect(m.layout).toEqual(layouts.find((l) => l.fileId === m.layout.fileId));
    expect(found.find((m) => m.info.path === 'd/f2')!.info.ino).toBe(102);

    await tier.remove(layouts[2]!);
    const after = [];
    for await (const m of tier.manifests()) after.push(m.info.path);
    expect(after.sort()).toEqual(['d/f0', 'd/f1']);
    await tier.close();
  });
});

describe('openObjectTier', () => {
  it('builds the stores from the configuration', async () => {
    const dir = tempDir();
    try {
      const cfg = configSchema.parse({
        dataDir: dir.path,
        tiers: [
          { name: 'hot', kind: 'local', volumes: [{ path: `${dir.path}/hot` }] },
          { name: 'cold', kind: 'object', backends: [{ type: 'fs', root: `${dir.path}/b0`, fsync: false }, { type: 'fs', root: `${dir.path}/b1`, fsync: false }, { type: 'memory' }], scheme: { k: 2, m: 1 }, chunkSize: '64KiB', smallFileThreshold: '1KiB' },
        ],
      });
      const tier = await openObjectTier(cfg.tiers[1] as ObjectTierConfig, FSID, `${dir.path}/cache/cold`);
      expect(tier.survivableBackendLosses).toBe(1);
      const data = body(150 * KiB, 60);
      const layout = await tier.write(sourceOf(data), infoFor('o'), newFileId());
      expect(new Set(layout.stripes.flatMap((s) => s.cells.map((c) => c.backend)))).toEqual(new Set([0, 1, 2]));
      expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);
      await tier.close();
    } finally {
      dir.remove();
    }
  });

  it('refuses a fsid that is not a UUID', () => {
    expect(() => makeTier(shape, [new MemoryStore()], { fsid: 'nope' })).toThrow(/not a UUID/);
  });
});
