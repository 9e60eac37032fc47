// Archive states as the clouds report them: archived, being restored (with the time
// the cloud documents), restored. The test servers cannot hold an object in Glacier,
// an Intelligent-Tiering archive tier, or mid-rehydration, so the fault server adds
// the headers the clouds send for those states to the real servers' answers (and
// answers the restore requests s3rver does not know); the real SDK clients parse them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { ArchivedError, RestoringError, createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import type { SeenRequest } from '../helpers/fault-server.js';
import { infoFor, makeTier, newFileId, sourceOf } from '../tiers/object/helpers.js';
import { body } from './data.js';
import { CLOUDS, type FaultyCloud } from './faulty-clouds.js';

const isRestore = (r: SeenRequest) => r.method === 'POST' && r.query.has('restore');

describe('S3 archive states', () => {
  let cloud: FaultyCloud;
  let store: ObjectStore;

  beforeAll(async () => {
    cloud = await CLOUDS.find((c) => c.name === 's3')!.start();
    store = createObjectStore(backendConfigSchema.parse(cloud.config()));
    await store.put('a/obj', Buffer.from('cold'));
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  const headSays = (headers: Record<string, string>) => ({ match: cloud.isHead('a/obj'), fault: { kind: 'amend' as const, headers }, times: Infinity });

  it('an Intelligent-Tiering object in an archive access tier is archived, and its restore names no Days', async () => {
    cloud.fault.reset();
    cloud.fault.inject(
      headSays({ 'x-amz-storage-class': 'INTELLIGENT_TIERING', 'x-amz-archive-status': 'DEEP_ARCHIVE_ACCESS' }),
      { match: isRestore, fault: { kind: 'respond', status: 202 } },
    );
    const meta = await store.head('a/obj');
    expect(meta).toMatchObject({ storageClass: 'INTELLIGENT_TIERING', archived: true, archive: { state: 'archived' } });
    await store.restore('a/obj');
    const sent = cloud.fault.requests.filter(isRestore);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body!.toString()).not.toMatch(/<Days>/);
    expect(sent[0]!.body!.toString()).toMatch(/<Tier>Standard<\/Tier>/);
  });

  it('a Glacier object being restored: head says restoring, a get is a RestoringError, a restore asks nothing more', async () => {
    cloud.fault.reset();
    cloud.fault.inject(
      headSays({ 'x-amz-storage-class': 'GLACIER', 'x-amz-restore': 'ongoing-request="true"' }),
      { match: cloud.isGet('a/obj'), fault: { kind: 'error', status: 403, code: 'InvalidObjectState', message: 'The operation is not valid for the object\'s storage class' } },
    );
    expect((await store.head('a/obj')).archive).toEqual({ state: 'restoring' });
    const err = await store.get('a/obj').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoringError);
    expect(err).toMatchObject({ code: 'Archived', state: 'restoring' });
    await store.restore('a/obj');
    expect(cloud.fault.count(isRestore)).toBe(0);
  });

  it("a restored Glacier object is readable until its copy's expiry", async () => {
    cloud.fault.reset();
    cloud.fault.inject(headSays({ 'x-amz-storage-class': 'GLACIER', 'x-amz-restore': 'ongoing-request="false", expiry-date="Fri, 21 Dec 2029 00:00:00 GMT"' }));
    const meta = await store.head('a/obj');
    expect(meta.archived).toBe(false);
    expect(meta.archive).toEqual({ state: 'restored', until: new Date('2029-12-21T00:00:00Z') });
  });

  it('an Expedited restore without capacity falls back to Standard', async () => {
    cloud.fault.reset();
    cloud.fault.inject(
      headSays({ 'x-amz-storage-class': 'GLACIER' }),
      { match: isRestore, fault: { kind: 'error', status: 503, code: 'GlacierExpeditedRetrievalNotAvailable' } },
      { match: isRestore, fault: { kind: 'respond', status: 202 } },
    );
    await store.restore('a/obj', { priority: 'Expedited' });
    const sent = cloud.fault.requests.filter(isRestore).map((r) => /<Tier>(\w+)<\/Tier>/.exec(r.body!.toString())?.[1]);
    expect(sent).toEqual(['Expedited', 'Standard']);
    expect(cloud.fault.requests.filter(isRestore)[0]!.body!.toString()).toMatch(/<Days>7<\/Days>/);
  });
});

describe('Azure archive states', () => {
  let cloud: FaultyCloud;
  let store: ObjectStore;
  const isSetTier = (r: SeenRequest) => r.method === 'PUT' && r.query.get('comp') === 'tier';
  const changed = new Date('2026-11-30T10:00:00Z');
  const rehydrating = {
    'x-ms-archive-status': 'rehydrate-pending-to-hot', 'x-ms-rehydrate-priority': 'High', 'x-ms-access-tier-change-time': changed.toUTCString(),
  };

  beforeAll(async () => {
    cloud = await CLOUDS.find((c) => c.name === 'azure')!.start();
    store = createObjectStore(backendConfigSchema.parse(cloud.config()));
    await store.put('a/obj', Buffer.from('cold'), { storageClass: 'Archive' });
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  it('a blob in the Archive tier is archived', async () => {
    cloud.fault.reset();
    expect(await store.head('a/obj')).toMatchObject({ archived: true, archive: { state: 'archived' } });
    const err = await store.get('a/obj').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchivedError);
    expect(err).not.toBeInstanceOf(RestoringError);
  });

  it('a blob being rehydrated is restoring, expected within the documented time of its priority', async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isHead('a/obj'), fault: { kind: 'amend', headers: rehydrating }, times: Infinity });
    const expectedBy = new Date(changed.getTime() + 3_600_000); // High priority: under an hour
    expect((await store.head('a/obj')).archive).toEqual({ state: 'restoring', expectedBy });
    // Azurite answers the read with BlobArchived; the head tells that a rehydration runs.
    await expect(store.get('a/obj')).rejects.toMatchObject({ name: 'RestoringError', state: 'restoring', expectedBy });
    // Azure's own answer for it.
    cloud.fault.inject({ match: cloud.isGet('a/obj'), fault: { kind: 'error', status: 409, code: 'BlobBeingRehydrated' } });
    await expect(store.get('a/obj')).rejects.toBeInstanceOf(RestoringError);
    await store.restore('a/obj');
    expect(cloud.fault.count(isSetTier)).toBe(0);
  });

  it('a restore passes over "already being rehydrated", but no other refusal', async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: isSetTier, fault: { kind: 'error', status: 409, code: 'BlobBeingRehydrated' } });
    await store.restore('a/obj');
    expect(cloud.fault.count(isSetTier)).toBe(1);
    cloud.fault.inject({ match: isSetTier, fault: { kind: 'error', status: 409, code: 'BlobTierInadequateForContentLength' } });
    await expect(store.restore('a/obj')).rejects.toMatchObject({ code: 'Fatal', message: expect.stringMatching(/BlobTierInadequateForContentLength/) });
  });

  it('the object tier answers EAGAIN for cells being rehydrated: no cell is taken for lost, scrub rewrites none', async () => {
    const shape = { k: 4, m: 2, chunkSize: 64 * 1024, smallFileThreshold: 16 * 1024 };
    const stores = [store, store, store];
    const data = body(3 * 64 * 1024 + 999, 8);
    const layout = await makeTier(shape, stores).write(sourceOf(data), infoFor('f'), newFileId());
    cloud.fault.reset();
    cloud.fault.inject(
      { match: (r) => r.method === 'GET' && !r.query.has('comp'), fault: { kind: 'error', status: 409, code: 'BlobBeingRehydrated' }, times: Infinity },
      { match: (r) => r.method === 'HEAD', fault: { kind: 'amend', headers: { 'x-ms-access-tier': 'Archive', ...rehydrating } }, times: Infinity },
    );
    const tier = makeTier(shape, stores);
    await expect(tier.read(layout, 0, 100)).rejects.toMatchObject({ code: 'EAGAIN' });
    await tier.idle();
    const report = await tier.scrub(layout, true);
    expect(report).toMatchObject({ cellsBad: 0, cellsRepaired: 0, stripesLost: 0 });
    expect(report.cellsArchived).toBe(layout.stripes.reduce((n, s) => n + s.cells.length, 0));
    expect((await tier.stats()).lostCells).toBe(0);
    expect(cloud.fault.count((r) => r.method === 'PUT')).toBe(0); // no rewrite, no second rehydration
    await tier.close();
  });
});
