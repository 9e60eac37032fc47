// One tier over a real S3 protocol (s3rver) beside a memory backend: cells, manifests,
// degraded reads and listing go through the S3 adapter as they will in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../../src/config/backends.js';
import { createObjectStore, MemoryStore, type ObjectStore } from '../../../src/objectstore/index.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { body, infoFor, KiB, makeTier, newFileId, sourceOf } from './helpers.js';

let server: S3Server;
let s3: ObjectStore;

beforeAll(async () => {
  server = await startS3Server();
  const { credentials, ...client } = server.clientOptions;
  s3 = createObjectStore(backendConfigSchema.parse({ type: 's3', bucket: server.bucket, ...client, ...credentials }));
});
afterAll(() => server?.stop());

describe('object tier on s3rver', () => {
  it('writes, reads, rebuilds and lists through the S3 adapter', async () => {
    const stores = [s3, new MemoryStore(), new MemoryStore()];
    const tier = makeTier({ k: 2, m: 1, chunkSize: 256 * KiB, smallFileThreshold: 8 * KiB }, stores);
    const data = body(700 * KiB + 3, 70);
    const layout = await tier.write(sourceOf(data), infoFor('s3/file'), newFileId());
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);

    // Lose a memory backend: the cells on s3 and on the other memory store carry every stripe.
    const fresh = makeTier({ k: 2, m: 1, chunkSize: 256 * KiB, smallFileThreshold: 8 * KiB }, [s3, new MemoryStore(), stores[2]!]);
    expect((await fresh.read(layout, 100 * KiB, 500 * KiB)).equals(data.subarray(100 * KiB, 600 * KiB))).toBe(true);
    expect((await fresh.stats()).degradedReads).toBeGreaterThan(0);

    const listed = [];
    for await (const m of tier.manifests()) listed.push(m.layout.fileId);
    expect(listed).toContain(layout.fileId);
    await tier.remove(layout);
    const left = [];
    for await (const e of s3.list(`${layout.manifest[0]!.key.split('/')[0]}/${layout.fileId}/`)) left.push(e.key);
    expect(left).toEqual([]);
    await tier.close();
    await fresh.close();
  });
});
