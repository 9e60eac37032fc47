// GCS records a streamed body's checksum with a metadata patch after the upload. That
// patch is conditional on the generation (and metageneration) the upload created, so
// a writer that replaces the object in between keeps its own bytes and metadata: the
// put fails with a ConcurrentChangeError (Transient) instead of stamping this body's
// CRC onto the other writer's bytes, which every later read would call corrupt.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { ConcurrentChangeError, createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import { createGcsClient } from '../../src/objectstore/gcs.js';
import { startGcsServer, type GcsServer } from '../helpers/gcs-server.js';

describe('GCS metadata patch after a streamed put', () => {
  let gcs: GcsServer;
  let store: ObjectStore;
  let other: ObjectStore;

  beforeAll(async () => {
    gcs = await startGcsServer({ buckets: ['tierfs-test'] });
    const config = () => backendConfigSchema.parse({
      type: 'gcs', bucket: 'tierfs-test', endpoint: gcs.endpoint, projectId: 'test', retry: { maxAttempts: 3, baseDelay: '1ms', maxDelay: '5ms' },
    });
    store = createObjectStore(config());
    other = createObjectStore(config());
  });

  afterAll(async () => {
    await gcs?.stop();
  });

  it('refuses to patch an object another writer replaced after the upload', async () => {
    gcs.beforeNext('PATCH metadata', async () => {
      await other.put('race/obj', Buffer.from('the other writer'));
    });
    const put = store.put('race/obj', Readable.from([Buffer.from('this writer, streamed')]));
    await expect(put).rejects.toBeInstanceOf(ConcurrentChangeError);
    await expect(put).rejects.toMatchObject({ code: 'Transient', message: expect.stringMatching(/412.*another writer/) });
    // The other writer's object is whole: its bytes and its own checksum, readable.
    expect((await store.get('race/obj')).data.toString()).toBe('the other writer');
  });

  it('refuses to patch an object whose metadata another writer changed after the upload', async () => {
    gcs.beforeNext('PATCH metadata', async () => {
      const client = createGcsClient({ endpoint: gcs.endpoint, projectId: 'test' });
      await client.bucket('tierfs-test').file('race/meta').setMetadata({ metadata: { owner: 'someone else' } });
    });
    await expect(store.put('race/meta', Readable.from([Buffer.from('this writer')]))).rejects.toBeInstanceOf(ConcurrentChangeError);
    expect((await store.head('race/meta')).metadata).toEqual({ owner: 'someone else' });
  });

  it('patches as before when nobody else wrote', async () => {
    await store.put('calm/obj', Readable.from([Buffer.from('alone')]));
    const got = await store.get('calm/obj');
    expect(got.data.toString()).toBe('alone');
    expect(got.meta.metadata.tierfscrc32).toMatch(/^[0-9a-f]{8}$/);
  });
});
