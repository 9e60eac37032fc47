// End-to-end integrity of uploads: a body damaged on the way up (the fault server
// flips one byte of the request it passes on) is caught before it is kept, as the
// retryable corrupt-data kind: a Buffer put is repeated and lands whole, a stream put
// (which cannot be repeated) fails with a CorruptDataError and leaves nothing behind.
// Azure: the MD5 of the body, or of each staged block, goes with it and the service
// refuses a mismatch. GCS: the client hashes the body on the way and compares the
// stored object's hash. S3: multipart uploads carry the whole object's CRC-32 as a
// FULL_OBJECT checksum (s3rver checks none, so that is checked on the wire).
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { CorruptDataError, createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import { digestThread } from '../../src/objectstore/digest-thread.js';
import type { SeenRequest } from '../helpers/fault-server.js';
import { body, streamOf } from './data.js';
import { CLOUDS, CONTAINER, type FaultyCloud } from './faulty-clouds.js';

const KiB = 1024;

/** The bytes of data in a view inside a SharedArrayBuffer, as an object tier's cells are. */
function inSharedMemory(data: Buffer): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(data.length + 100), 100, data.length);
  data.copy(b);
  return b;
}

/** Matches the `n`th request (from 1) that `match` matches. */
function nth(n: number, match: (r: SeenRequest) => boolean): (r: SeenRequest) => boolean {
  let seen = 0;
  return (r) => match(r) && ++seen === n;
}

describe('Azure: a body damaged on the way up', () => {
  let azure: FaultyCloud;
  let store: ObjectStore;
  const isPutBlob = (key: string) => (r: SeenRequest) => r.method === 'PUT' && r.path === `/devstoreaccount1/${CONTAINER}/${key}` && !r.query.has('comp');
  const isStageBlock = (key: string) => (r: SeenRequest) =>
    r.method === 'PUT' && r.path === `/devstoreaccount1/${CONTAINER}/${key}` && r.query.get('comp') === 'block';

  beforeAll(async () => {
    azure = await CLOUDS[1]!.start();
    store = createObjectStore(backendConfigSchema.parse(azure.config({ partSize: 64 * KiB, multipartThreshold: 64 * KiB })));
  }, 60_000);

  afterAll(async () => {
    await azure?.stop();
  });

  it.each([false, true])('in one request: refused as corrupt, and the put repeated whole (the body in shared memory, as a cell is: %s)', async (shared) => {
    const data = body(10_000, 1);
    const key = `d/whole-${shared}`;
    azure.fault.reset();
    azure.fault.inject({ match: isPutBlob(key), fault: { kind: 'corrupt', at: 5_000 } });
    const before = digestThread.counts.threaded;
    await store.put(key, shared ? inSharedMemory(data) : data);
    // A cell's MD5 is computed off the event loop, twice: the put is repeated whole.
    expect(digestThread.counts.threaded - before).toBe(shared ? 2 : 0);
    expect(azure.fault.count(isPutBlob(key))).toBe(2);
    const [damaged] = azure.fault.requests.filter(isPutBlob(key));
    expect(damaged!.status).toBe(400);
    // Transactional: the request's Content-MD5, which Azure checks (a blob's stored Content-MD5 it does not).
    expect(damaged!.headers['content-md5']).toBe(createHash('md5').update(data).digest('base64'));
    expect((await store.get(key)).data.equals(data)).toBe(true);
  });

  it('in one staged block of a stream: the put fails as corrupt and nothing is committed', async () => {
    const data = body(200 * KiB, 2);
    azure.fault.reset();
    azure.fault.inject({ match: nth(2, isStageBlock('d/stream')), fault: { kind: 'corrupt', at: 1_000 } });
    const put = store.put('d/stream', streamOf(data, 16 * KiB));
    await expect(put).rejects.toBeInstanceOf(CorruptDataError);
    await expect(put).rejects.toMatchObject({ code: 'Transient' });
    await expect(store.head('d/stream')).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('GCS: a body damaged on the way up', () => {
  let gcs: FaultyCloud;
  let store: ObjectStore;
  const isUpload = (r: SeenRequest) => r.path === `/upload/storage/v1/b/${CONTAINER}/o` && (r.method === 'POST' || r.method === 'PUT');

  beforeAll(async () => {
    gcs = await CLOUDS[2]!.start();
    store = createObjectStore(backendConfigSchema.parse(gcs.config({ partSize: 256 * KiB, multipartThreshold: 256 * KiB })));
  }, 60_000);

  afterAll(async () => {
    await gcs?.stop();
  });

  it('in one request: caught by the hash check, and the put repeated whole', async () => {
    const data = body(10_000, 3);
    gcs.fault.reset();
    // Past the multipart request's JSON part: in the media.
    gcs.fault.inject({ match: isUpload, fault: { kind: 'corrupt', at: 8_000 } });
    await store.put('d/whole', data);
    expect(gcs.fault.count((r) => isUpload(r) && r.query.get('uploadType') === 'multipart')).toBe(2);
    expect((await store.get('d/whole')).data.equals(data)).toBe(true);
  });

  it('in one chunk of a resumable stream upload: the put fails as corrupt and the damaged object is gone', async () => {
    const data = body(600 * KiB, 4);
    gcs.fault.reset();
    gcs.fault.inject({ match: nth(2, (r) => isUpload(r) && r.query.has('upload_id')), fault: { kind: 'corrupt', at: 1_000 } });
    const put = store.put('d/stream', streamOf(data, 64 * KiB));
    await expect(put).rejects.toBeInstanceOf(CorruptDataError);
    await expect(store.head('d/stream')).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('S3', () => {
  // One s3rver behind the fault server for both parts below.
  let s3: FaultyCloud;

  beforeAll(async () => {
    s3 = await CLOUDS[0]!.start();
  }, 60_000);

  afterAll(async () => {
    await s3?.stop();
  });

  describe("a body in shared memory (an object tier's cell), its digests computed off the event loop", () => {
    const isPut = (key: string) => (r: SeenRequest) => r.method === 'PUT' && r.path === `/${CONTAINER}/${key}`;

    it("when_required: the MD5 it carries and the signed SHA-256 are the body's", async () => {
      // What S3 checks the body against (s3rver checks neither: it is checked on the wire).
      const store = createObjectStore(backendConfigSchema.parse(s3.config({ checksums: 'when_required' })));
      const data = body(300 * KiB, 6);
      s3.fault.reset();
      // The same digests for a body in memory of its own, digested on the event loop.
      for (const [key, b] of [['d/cell', inSharedMemory(data)], ['d/plain', data]] as const) {
        const before = { ...digestThread.counts };
        await store.put(key, b);
        expect(digestThread.counts.threaded - before.threaded).toBe(b === data ? 0 : 1);
        const [put] = s3.fault.requests.filter(isPut(key));
        expect(put!.headers['content-md5']).toBe(createHash('md5').update(data).digest('base64'));
        expect(put!.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(data).digest('hex'));
        expect((await store.get(key)).data.equals(data)).toBe(true);
      }
    });

    it("when_supported: the CRC-32 it carries and the signed SHA-256 are the body's", async () => {
      const store = createObjectStore(backendConfigSchema.parse(s3.config({ checksums: 'when_supported' })));
      const data = body(300 * KiB, 7);
      s3.fault.reset();
      await store.put('d/cell2', inSharedMemory(data));
      const [put] = s3.fault.requests.filter(isPut('d/cell2'));
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(data));
      expect(put!.headers['x-amz-checksum-crc32']).toBe(crc.toString('base64'));
      expect(put!.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(data).digest('hex'));
      expect((await store.get('d/cell2')).data.equals(data)).toBe(true);
    });
  });

  describe('a multipart upload', () => {

    it("carries the whole object's CRC-32 as a FULL_OBJECT checksum (S3 checks it against the parts it assembles; a GET returns it for the client to verify)", async () => {
      const store = createObjectStore(backendConfigSchema.parse(s3.config({ checksums: 'when_supported', partSize: '5MiB', multipartThreshold: '5MiB' })));
      const data = body(11 * 2 ** 20, 5);
      s3.fault.reset();
      await store.put('d/big', streamOf(data, 256 * KiB));
      const create = s3.fault.requests.find((r) => r.method === 'POST' && r.query.has('uploads'))!;
      expect(create.headers['x-amz-checksum-algorithm']).toBe('CRC32');
      expect(create.headers['x-amz-checksum-type']).toBe('FULL_OBJECT');
      const complete = s3.fault.requests.find((r) => r.method === 'POST' && r.query.has('uploadId'))!;
      const whole = Buffer.alloc(4);
      whole.writeUInt32BE(crc32(data));
      expect(complete.headers['x-amz-checksum-crc32']).toBe(whole.toString('base64'));
      expect(complete.headers['x-amz-checksum-type']).toBe('FULL_OBJECT');
      expect(s3.fault.openUploads.size).toBe(0);
      expect((await store.get('d/big')).data.equals(data)).toBe(true);

      // S3 returns that checksum with the object (s3rver keeps none: the fault server
      // adds the one the upload sent), and the client checks the whole body against it:
      // a byte damaged on the way down is corrupt data, and the read is repeated.
      s3.fault.reset();
      s3.fault.inject({
        match: s3.isGet('d/big'),
        fault: {
          kind: 'corrupt', side: 'response', at: 7 * 2 ** 20,
          headers: { 'x-amz-checksum-crc32': whole.toString('base64'), 'x-amz-checksum-type': 'FULL_OBJECT' },
        },
      });
      expect((await store.get('d/big')).data.equals(data)).toBe(true);
      expect(s3.fault.count(s3.isGet('d/big'))).toBe(2);
    });
  });
});
