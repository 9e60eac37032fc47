// One conformance suite, run against all five backends (memory, fs, s3 on s3rver,
// azure on Azurite, gcs on our JSON-API server): what the object tier may rely on
// whichever backend it talks to.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { backendConfigSchema } from '../../src/config/backends.js';
import {
  CorruptDataError, FaultyStore, createObjectStore, type FaultOptions, type ObjectStore, type ObjectStoreError,
} from '../../src/objectstore/index.js';
import { collect } from '../../src/objectstore/body.js';
import { BACKENDS, PAGE_SIZE, PART_SIZE, type RunningBackend } from './backends.js';
import { body, generatedStream, memorySampler, streamOf } from './data.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

async function listKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of store.list(prefix)) keys.push(e.key);
  return keys;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as ObjectStoreError).code ?? String(err);
  }
}

describe.each(BACKENDS)('ObjectStore conformance: $name', (backend) => {
  let running: RunningBackend;
  let store: ObjectStore;
  let registry: Registry;
  /** The same backend behind a fault injector, with fast retries. */
  const faulty = (faults: FaultOptions, maxAttempts = 25) => {
    const wrapped: FaultyStore[] = [];
    const s = createObjectStore(
      backendConfigSchema.parse({ ...running.config, retry: { maxAttempts, baseDelay: '1ms', maxDelay: '20ms', deadline: 60 } }),
      {
        registry,
        wrapAdapter: (inner) => {
          const f = new FaultyStore(running.adapter ?? inner, faults);
          wrapped.push(f);
          return f;
        },
      },
    );
    return { store: s, injected: wrapped[0]!.injected };
  };

  beforeAll(async () => {
    running = await backend.start();
    registry = new Registry();
    store = createObjectStore(backendConfigSchema.parse(running.config), { registry, wrapAdapter: (a) => running.adapter ?? a });
  });

  afterAll(async () => {
    await running?.stop();
  });

  // First in the suite, so earlier tests' buffers do not hide its memory.
  it.runIf(backend.huge)('streams 1 GiB up and down in under 256 MiB of memory', { timeout: 180_000 }, async () => {
    const source = generatedStream(GiB);
    const upload = memorySampler();
    const put = await store.put('huge/1GiB', source.stream);
    const upGrowth = upload.stop();
    expect(put.size).toBe(GiB);
    const download = memorySampler();
    const { stream } = await store.getStream('huge/1GiB');
    let crc = 0;
    let n = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      crc = crc32(chunk, crc);
      n += chunk.length;
    }
    const downGrowth = download.stop();
    await store.delete('huge/1GiB');
    expect(n).toBe(GiB);
    expect(crc).toBe(source.crc());
    const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
    console.info(
      `[${backend.name}] 1 GiB streamed: peak growth up RSS ${mib(upGrowth.rss)}, buffers ${mib(upGrowth.buffers)}; ` +
        `down RSS ${mib(downGrowth.rss)}, buffers ${mib(downGrowth.buffers)}`,
    );
    for (const growth of [upGrowth, downGrowth]) {
      expect(growth.rss).toBeLessThan(256 * MiB);
      expect(growth.buffers).toBeLessThan(256 * MiB);
    }
  });

  describe('round trips', () => {
    const sizes = [0, 1, PART_SIZE - 1, PART_SIZE, PART_SIZE + 1];
    it.each(sizes)('%i bytes as a Buffer and as a stream', async (size) => {
      const data = body(size, size + 1);
      await store.put(`rt/buf-${size}`, data);
      await store.put(`rt/stream-${size}`, streamOf(data));
      for (const key of [`rt/buf-${size}`, `rt/stream-${size}`]) {
        const got = await store.get(key);
        expect(got.data.equals(data)).toBe(true);
        expect(got.meta.size).toBe(size);
        expect((await store.head(key)).size).toBe(size);
        const { stream } = await store.getStream(key);
        expect((await collect(stream)).equals(data)).toBe(true);
      }
    });

    it.each([
      [1000, false], [PART_SIZE + 1, false], [1000, true], [PART_SIZE + 1, true],
    ])('%i bytes in a Buffer that is a view inside a larger one (an erasure-coded cell is; in shared memory: %s)', async (size, shared) => {
      const slab = body(size + 300, size);
      const memory = shared ? Buffer.from(new SharedArrayBuffer(slab.length)) : slab;
      if (shared) slab.copy(memory);
      const view = memory.subarray(123, 123 + size);
      const key = `rt/view-${size}-${shared}`;
      await store.put(key, view);
      expect((await store.get(key)).data.equals(view)).toBe(true);
      expect((await store.head(key)).size).toBe(size);
    });

    it('100 MiB in parts', { timeout: 120_000 }, async () => {
      const data = body(100 * MiB, 7);
      const put = await store.put('rt/100MiB', data);
      expect(put.size).toBe(100 * MiB);
      const got = await store.get('rt/100MiB');
      expect(got.data.length).toBe(data.length);
      expect(got.data.equals(data)).toBe(true);
      if (running.gcs) expect(running.gcs.requests.get('PUT resumable-chunk') ?? 0).toBeGreaterThanOrEqual(20);
      await store.delete('rt/100MiB');
    });

    it('keeps user metadata and reports it from head', async () => {
      await store.put('meta/one', Buffer.from('x'), { metadata: { owner: 'tier7', stripe: '42' } });
      const meta = await store.head('meta/one');
      expect(meta.metadata).toMatchObject({ owner: 'tier7', stripe: '42' });
      expect(meta.lastModified.getTime()).toBeGreaterThan(Date.now() - 600_000);
    });
  });

  describe('ranges', () => {
    const data = body(1000, 3);
    beforeAll(async () => {
      await store.put('range/obj', data);
    });
    const cases: [string, number, number, number, number][] = [
      // name, offset, length, expected offset, expected length
      ['start', 0, 10, 0, 10],
      ['middle', 500, 100, 500, 100],
      ['end', 990, 10, 990, 10],
      ['across the end', 995, 10, 995, 5],
      ['at the end', 1000, 10, 1000, 0],
      ['past the end', 5000, 10, 1000, 0],
      ['empty', 10, 0, 10, 0],
    ];
    it.each(cases)('%s', async (_name, offset, length, wantOffset, wantLength) => {
      const want = data.subarray(wantOffset, wantOffset + wantLength);
      const got = await store.get('range/obj', { range: { offset, length } });
      expect(got.data.equals(want)).toBe(true);
      expect(got.range).toEqual({ offset: wantOffset, length: wantLength });
      expect(got.meta.size).toBe(1000);
      const streamed = await store.getStream('range/obj', { range: { offset, length } });
      expect((await collect(streamed.stream)).equals(want)).toBe(true);
    });

    it.skipIf(backend.serverQuirks?.noEmptyObjectRange)('a range of an empty object is empty', async () => {
      await store.put('range/empty', Buffer.alloc(0));
      expect((await store.get('range/empty', { range: { offset: 0, length: 10 } })).data.length).toBe(0);
    });

    it('a range of a missing object is NotFound', async () => {
      expect(await codeOf(store.get('range/missing', { range: { offset: 0, length: 10 } }))).toBe('NotFound');
      expect(await codeOf(store.getStream('range/missing'))).toBe('NotFound');
    });

    it('a negative range is refused before any request', async () => {
      expect(await codeOf(store.get('range/obj', { range: { offset: -1, length: 10 } }))).toBe('Fatal');
    });
  });

  describe('listing', () => {
    it(`pages through more entries than a page (${PAGE_SIZE}) in byte order, prefix only`, async () => {
      const keys = Array.from({ length: 3 * PAGE_SIZE + 2 }, (_, i) => `list/k${String(i).padStart(3, '0')}`);
      const alsoPrefix = backend.serverQuirks?.noKeyThatIsAlsoAPrefix ? [] : ['list'];
      await Promise.all([...keys, ...alsoPrefix, 'lisx', 'list0/other', 'lis/t'].map((k) => store.put(k, Buffer.from(k))));
      const entries = [];
      for await (const e of store.list('list/')) entries.push(e);
      expect(entries.map((e) => e.key)).toEqual(keys);
      expect(entries.every((e) => e.size === e.key.length)).toBe(true);
      expect(await listKeys(store, 'list')).toEqual([...alsoPrefix, ...keys, 'list0/other']);
      expect(await listKeys(store, 'nothing-here/')).toEqual([]);
    });

    it('lists a prefix that ends mid-segment', async () => {
      await Promise.all(['pm/apple', 'pm/apricot', 'pm/banana', 'pm/ap/inner'].map((k) => store.put(k, Buffer.from('x'))));
      expect(await listKeys(store, 'pm/ap')).toEqual(['pm/ap/inner', 'pm/apple', 'pm/apricot']);
    });
  });

  describe('writes and deletes', () => {
    it('overwrite replaces the body, the size and the etag', async () => {
      const first = await store.put('ow/key', body(100, 1));
      const second = await store.put('ow/key', body(50, 2));
      expect(second.etag).not.toBe(first.etag);
      expect((await store.get('ow/key')).data.equals(body(50, 2))).toBe(true);
      const meta = await store.head('ow/key');
      expect(meta.size).toBe(50);
      expect(meta.etag).toBe(second.etag);
    });

    it('delete of a missing key is not an error; a deleted key is NotFound', async () => {
      await store.delete('del/never-existed');
      await store.put('del/key', Buffer.from('x'));
      await store.delete('del/key');
      await store.delete('del/key');
      expect(await codeOf(store.get('del/key'))).toBe('NotFound');
      expect(await codeOf(store.head('del/key'))).toBe('NotFound');
      expect(await listKeys(store, 'del/')).toEqual([]);
    });

    it('deleteMany removes every key named, missing ones and more than a request takes included', { timeout: 120_000 }, async () => {
      const keys = Array.from({ length: 1203 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < keys.length; i += 8) await store.put(keys[i]!, Buffer.from([i & 255]));
      }));
      await store.put('many-kept/k', Buffer.from('k'));
      const deletes = async () => {
        const all = await registry.getSingleMetric('tierfs_objectstore_requests_total')!.get();
        return all.values.filter((v) => v.labels.op === 'delete').reduce((n, v) => n + v.value, 0);
      };
      const before = await deletes();
      await store.deleteMany([...keys.filter((_, i) => i !== 7), 'many/never-existed']);
      // S3 names a thousand keys a request; the others take a request per key
      expect((await deletes()) - before).toBe(store.limits.keysPerDelete > 1 ? 2 : 1203);
      expect(await listKeys(store, 'many/')).toEqual([keys[7]!]);
      expect((await store.head('many-kept/k')).size).toBe(1);
      await store.deleteMany([]);
      await store.deleteMany([keys[7]!, 'many-kept/k']);
      expect(await listKeys(store, 'many')).toEqual([]);
    });

    it('32 concurrent puts all land', async () => {
      const keys = Array.from({ length: 32 }, (_, i) => `conc/${i}`);
      await Promise.all(keys.map((k, i) => store.put(k, body(64 * 1024, i))));
      const got = await Promise.all(keys.map((k) => store.get(k)));
      got.forEach((g, i) => expect(g.data.equals(body(64 * 1024, i))).toBe(true));
      expect((await listKeys(store, 'conc/')).length).toBe(32);
    });
  });

  describe('keys', () => {
    const keys = [
      'with space/file name.txt',
      'unicode/grüße/日本語/🎉.bin',
      'deep/a/b/c/d/e/f',
      'odd/per%cent~tilde#hash?q=1&x',
    ];
    it('round-trips spaces, unicode and slashes', async () => {
      await Promise.all(keys.map((k, i) => store.put(k, body(10 + i, i))));
      for (const [i, k] of keys.entries()) expect((await store.get(k)).data.equals(body(10 + i, i))).toBe(true);
      const listed = await listKeys(store, '');
      for (const k of keys) expect(listed).toContain(k);
    });

    it.skipIf(backend.serverQuirks?.noKeyThatIsAlsoAPrefix)('holds a key that is also a prefix, a trailing slash, an empty segment', async () => {
      const odd = ['nest/a', 'nest/a/b', 'nest/trailing/', 'nest/double//slash'];
      await Promise.all(odd.map((k, i) => store.put(k, body(5 + i, i))));
      for (const [i, k] of odd.entries()) expect((await store.get(k)).data.equals(body(5 + i, i))).toBe(true);
      expect(await listKeys(store, 'nest/')).toEqual(['nest/a', 'nest/a/b', 'nest/double//slash', 'nest/trailing/']);
      await store.delete('nest/a/b');
      expect((await store.get('nest/a')).data.equals(body(5, 0))).toBe(true);
      expect(await listKeys(store, 'nest/')).toEqual(['nest/a', 'nest/double//slash', 'nest/trailing/']);
    });

    it.each(['', '/abs', '../escape', 'a/../../b', 'a/./b', 'nul\0byte'])('refuses the key %j', async (key) => {
      expect(await codeOf(store.put(key, Buffer.from('x')))).toBe('Fatal');
      expect(await codeOf(store.get(key))).toBe('Fatal');
    });
  });

  describe('faults', () => {
    it('retries under injected errors, throttling and damaged bodies, and succeeds', { timeout: 60_000 }, async () => {
      const { store: s, injected } = faulty({
        seed: 42, errorRate: 0.25, throttleRate: 0.1, truncateRate: 0.1, corruptRate: 0.1, latencyMs: [0, 2],
      });
      // A flipped byte in a range cannot be seen at this layer (only its length is
      // checked; cells carry their own checksums), so ranges meet truncation only.
      const { store: ranged, injected: rangeFaults } = faulty({ seed: 7, errorRate: 0.25, truncateRate: 0.2 });
      for (let i = 0; i < 24; i++) {
        const data = body(2000 + i, i);
        await s.put(`faults/${i}`, data);
        expect((await s.get(`faults/${i}`)).data.equals(data)).toBe(true);
        expect((await ranged.get(`faults/${i}`, { range: { offset: 100, length: 300 } })).data.equals(data.subarray(100, 400))).toBe(true);
        expect((await s.head(`faults/${i}`)).size).toBe(data.length);
      }
      expect(rangeFaults.truncated).toBeGreaterThan(0);
      expect(await listKeys(s, 'faults/')).toHaveLength(24);
      await s.delete('faults/0');
      expect(injected.errors).toBeGreaterThan(0);
      expect(injected.throttles).toBeGreaterThan(0);
      expect(injected.truncated + injected.corrupted).toBeGreaterThan(0);
      const retries = await registry.getSingleMetric('tierfs_objectstore_retries_total')!.get();
      expect(retries.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0);
    });

    it('does not retry a put of a stream that failed midway', async () => {
      const { store: s, injected } = faulty({ seed: 1, failAfterBytes: 1000, ops: ['put'] });
      expect(await codeOf(s.put('faults/stream', streamOf(body(5000), 500)))).toBe('Transient');
      expect(injected.streamFailures).toBe(1);
      expect(await codeOf(store.head('faults/stream'))).toBe('NotFound');
    });

    it('reports a streamed get that fails midway as a stream error', async () => {
      await store.put('faults/read', body(300_000, 9));
      const { store: s } = faulty({ seed: 1, failAfterBytes: 100_000, ops: ['get'] });
      const { stream } = await s.getStream('faults/read');
      await expect(collect(stream)).rejects.toMatchObject({ code: 'Transient' });
    });
  });

  describe('corrupt bodies are detected, never returned as data', () => {
    const data = body(100_000, 11);
    beforeAll(async () => {
      await store.put('corrupt/obj', data);
      await store.put('corrupt/streamed', streamOf(data));
    });
    it.each([
      ['one flipped byte', { seed: 3, corruptRate: 1 }],
      ['a truncated body', { seed: 3, truncateRate: 1 }],
    ] as [string, FaultOptions][])('%s', async (_name, faults) => {
      const { store: s } = faulty(faults, 3);
      await expect(s.get('corrupt/obj')).rejects.toBeInstanceOf(CorruptDataError);
      const { stream } = await s.getStream('corrupt/obj');
      await expect(collect(stream)).rejects.toBeInstanceOf(CorruptDataError);
      if (faults.truncateRate) {
        await expect(s.get('corrupt/obj', { range: { offset: 10, length: 5000 } })).rejects.toBeInstanceOf(CorruptDataError);
      }
      // A stream put carries the CRC where the backend takes metadata after the body.
      if (store.limits.metadataAfterBody || faults.truncateRate) {
        await expect(s.get('corrupt/streamed')).rejects.toBeInstanceOf(CorruptDataError);
      }
    });
  });

  if (backend.archiveClass) {
    it(`an object in ${backend.archiveClass} is Archived until restored`, async () => {
      await store.put('archive/obj', Buffer.from('cold'), { storageClass: backend.archiveClass });
      const meta = await store.head('archive/obj');
      expect(meta.archived).toBe(true);
      expect(await codeOf(store.get('archive/obj'))).toBe('Archived');
      await store.restore('archive/obj');
      await store.restore('archive/obj'); // asking twice is fine
      // Both test servers finish a restore at once (Azurite moves the blob out of
      // Archive as the tier is set): readable again, with its bytes, no longer archived.
      expect(await store.head('archive/obj')).toMatchObject({ archived: false, size: 4 });
      expect((await store.get('archive/obj')).data.toString()).toBe('cold');
      await store.restore('archive/obj'); // a restore of a readable object changes nothing
      expect((await store.get('archive/obj')).data.toString()).toBe('cold');
    });
  }

});
