// Multipart uploads that fail must not keep costing: the other parts stop, the upload
// is aborted (the abort retried until it goes through), and part sizes grow so that
// a long stream never runs into S3's 10,000-part limit. Checked on the wire: the S3
// adapter through the fault server in front of s3rver, whose ledger of multipart
// uploads says whether one was left open; Azure through the fault server in front
// of Azurite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { collect, growingPartSize, parts } from '../../src/objectstore/body.js';
import { createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import { ABORT_ATTEMPTS } from '../../src/objectstore/s3-multipart.js';
import type { SeenRequest } from '../helpers/fault-server.js';
import { body, streamOf } from './data.js';
import { CLOUDS, type FaultyCloud } from './faulty-clouds.js';

const MiB = 2 ** 20;
const TiB = 2 ** 40;
const sizes = { partSize: '5MiB', multipartThreshold: '8MiB', partConcurrency: 2, retry: { maxAttempts: 1 } };

describe('growingPartSize', () => {
  const s3 = { maxParts: 10_000, maxPartSize: 5 * 2 ** 30 };

  it('keeps the configured size for the first sixteenth of the part limit, then doubles, never past the largest part', () => {
    const size = growingPartSize(5 * MiB, s3);
    expect(size(0)).toBe(5 * MiB);
    expect(size(624)).toBe(5 * MiB);
    expect(size(625)).toBe(10 * MiB);
    expect(size(9_999)).toBe(s3.maxPartSize);
    let largest = 0;
    for (let i = 0; i < s3.maxParts; i++) largest = Math.max(largest, size(i));
    expect(largest).toBeLessThanOrEqual(s3.maxPartSize);
  });

  it("fits S3's largest object (5 TiB) in 10,000 parts even from its smallest part size", () => {
    const size = growingPartSize(5 * MiB, s3);
    let total = 0;
    for (let i = 0; i < s3.maxParts; i++) total += size(i);
    expect(total).toBeGreaterThan(5 * TiB);
    // A fixed part size, as before, held 10,000 x 5 MiB: under 49 GiB.
    expect(s3.maxParts * 5 * MiB).toBeLessThan(49 * 2 ** 30);
  });

  it('cuts Buffers and streams alike along the growing sizes', async () => {
    const size = (i: number) => 1000 * (i + 1);
    const data = body(10_000, 3);
    const fromBuffer = [];
    for await (const p of parts(data, size)) fromBuffer.push(p.length);
    const fromStream = [];
    for await (const p of parts(streamOf(data, 777), size)) fromStream.push(p.length);
    expect(fromBuffer).toEqual([1000, 2000, 3000, 4000]);
    expect(fromStream).toEqual(fromBuffer);
  });
});

const isPart = (n?: number) => (r: SeenRequest) => r.method === 'PUT' && r.query.has('uploadId') && (n === undefined || r.query.get('partNumber') === String(n));
const isAbort = (r: SeenRequest) => r.method === 'DELETE' && r.query.has('uploadId');

describe('S3 multipart uploads that fail', () => {
  let cloud: FaultyCloud;
  let store: ObjectStore;
  const data = body(40 * MiB, 9); // 8 parts of 5 MiB

  beforeAll(async () => {
    cloud = await CLOUDS.find((c) => c.name === 's3')!.start();
    store = createObjectStore(backendConfigSchema.parse(cloud.config(sizes)));
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  it('a round trip in parts still works', { timeout: 30_000 }, async () => {
    cloud.fault.reset();
    await store.put('mp/ok', streamOf(data));
    expect(cloud.fault.count(isPart())).toBe(8);
    expect((await store.get('mp/ok')).data.equals(data)).toBe(true);
    expect(cloud.fault.openUploads.size).toBe(0);
  });

  it('a failed part stops the other parts and the upload is aborted: none is left open', { timeout: 30_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: isPart(3), fault: { kind: 'error', status: 500, code: 'InternalError' } });
    await expect(store.put('mp/fail', data)).rejects.toMatchObject({ code: 'Transient' });
    const requests = cloud.fault.requests;
    const partsSent = requests.filter(isPart()).length;
    // Parts 1 to 3 and at most the ones in flight when 3 failed (2 at a time), never all 8.
    expect(partsSent).toBeLessThanOrEqual(5);
    const abortAt = requests.findIndex(isAbort);
    expect(abortAt).toBeGreaterThan(0);
    expect(requests.slice(abortAt).some(isPart())).toBe(false);
    expect(cloud.fault.count(isAbort)).toBe(1);
    expect(cloud.fault.openUploads.size).toBe(0);
  });

  it('the abort of a failed upload is retried until it goes through', { timeout: 30_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject(
      { match: isPart(2), fault: { kind: 'error', status: 500, code: 'InternalError' } },
      { match: isAbort, fault: { kind: 'error', status: 503, code: 'SlowDown' } },
      { match: isAbort, fault: { kind: 'reset' } },
    );
    await expect(store.put('mp/abort-retried', data)).rejects.toMatchObject({ code: 'Transient' });
    expect(cloud.fault.count(isAbort)).toBe(3);
    expect(cloud.fault.openUploads.size).toBe(0);
  });

  it('an abort that keeps failing gives up after a few tries; the put reports the part that failed', { timeout: 30_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject(
      { match: isPart(2), fault: { kind: 'error', status: 400, code: 'IncompleteBody' } },
      { match: isAbort, fault: { kind: 'error', status: 500, code: 'InternalError' }, times: Infinity },
    );
    await expect(store.put('mp/abort-fails', data)).rejects.toThrow(/IncompleteBody/);
    expect(cloud.fault.count(isAbort)).toBe(ABORT_ATTEMPTS);
    expect(cloud.fault.openUploads.size).toBe(1); // left for the bucket's lifecycle rule
    cloud.fault.openUploads.clear();
  });

  it("the caller's signal ends the upload at once; the upload is still aborted behind it", { timeout: 30_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: isPart(3), fault: { kind: 'hang' } });
    const controller = new AbortController();
    const put = store.put('mp/interrupted', streamOf(data), { signal: controller.signal });
    while (cloud.fault.count(isPart(3)) === 0) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    controller.abort();
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1000);
    for (let i = 0; i < 100 && cloud.fault.openUploads.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(cloud.fault.openUploads.size).toBe(0);
  });
});

describe('Azure block uploads that fail', () => {
  let cloud: FaultyCloud;
  const data = body(40 * MiB, 4);

  beforeAll(async () => {
    cloud = await CLOUDS.find((c) => c.name === 'azure')!.start();
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  it('a failed block stops the other blocks and nothing is committed', { timeout: 30_000 }, async () => {
    const store = createObjectStore(backendConfigSchema.parse(cloud.config(sizes)));
    const isBlock = (r: SeenRequest) => r.method === 'PUT' && r.query.get('comp') === 'block';
    const isCommit = (r: SeenRequest) => r.method === 'PUT' && r.query.get('comp') === 'blocklist';
    let blocks = 0;
    cloud.fault.inject({ match: (r) => isBlock(r) && ++blocks === 3, fault: { kind: 'error', status: 500, code: 'InternalError' } });
    await expect(store.put('mp/fail', streamOf(data))).rejects.toMatchObject({ code: 'Transient' });
    expect(cloud.fault.count(isBlock)).toBeLessThanOrEqual(5);
    expect(cloud.fault.count(isCommit)).toBe(0);
    await expect(store.head('mp/fail')).rejects.toMatchObject({ code: 'NotFound' });

    cloud.fault.reset();
    await store.put('mp/ok', streamOf(data));
    expect(cloud.fault.count(isBlock)).toBe(8);
    expect((await collect((await store.getStream('mp/ok')).stream)).equals(data)).toBe(true);
  });
});
