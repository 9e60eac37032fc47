// Cloud errors classed as each cloud documents them, and retried or not accordingly.
// The tables are checked row by row for the failures no server can be made to send
// here (a Node EPIPE, an SDK's own errors); everything with an HTTP answer is checked
// on the wire: the fault server answers in the cloud's own error format, the real SDK
// client parses it, and the request count says whether the call was repeated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import {
  AZURE_ERRORS, GCS_ERRORS, S3_ERRORS, classify, type ErrorFacts, type ErrorKind, type ErrorRule,
} from '../../src/objectstore/cloud-errors.js';
import { BucketMissingError, createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import { body } from './data.js';
import { CLOUDS, CONTAINER, type FaultyCloud } from './faulty-clouds.js';

const TABLES: Record<string, readonly ErrorRule[]> = { s3: S3_ERRORS, azure: AZURE_ERRORS, gcs: GCS_ERRORS };

describe('the error tables', () => {
  const rows: [string, ErrorFacts, ErrorKind][] = [
    ['s3', { status: 400, code: 'RequestTimeout' }, 'Transient'],
    ['s3', { status: 403, code: 'RequestTimeTooSkewed' }, 'Transient'],
    ['s3', { status: 403, code: 'AccessDenied' }, 'Fatal'],
    ['s3', { status: 503, code: 'SlowDown' }, 'Throttled'],
    ['s3', { status: 500, code: 'InternalError' }, 'Transient'],
    ['s3', { status: 501, code: 'NotImplemented' }, 'Fatal'],
    ['s3', { status: 404, code: 'NoSuchKey' }, 'NotFound'],
    ['s3', { status: 404, code: 'NoSuchBucket' }, 'BucketMissing'],
    ['s3', { code: 'Error', message: 'Checksum mismatch: expected "AAAAAA==" but received "BBBBBB==" in response header "x-amz-checksum-crc32".' }, 'Corrupt'],
    ['s3', { code: 'TimeoutError' }, 'Transient'],
    ['azure', { code: 'AbortError', message: 'The operation was aborted.' }, 'Transient'],
    ['azure', { code: 'REQUEST_SEND_ERROR' }, 'Transient'],
    ['azure', { status: 503, code: 'ServerBusy' }, 'Throttled'],
    ['azure', { status: 500, code: 'OperationTimedOut' }, 'Transient'],
    ['azure', { status: 409, code: 'BlobBeingRehydrated' }, 'Restoring'],
    ['azure', { status: 409, code: 'BlobArchived' }, 'Archived'],
    ['azure', { status: 409, code: 'LeaseAlreadyPresent' }, 'Fatal'],
    ['azure', { status: 404, code: 'ContainerNotFound' }, 'BucketMissing'],
    ['azure', { code: 'Error', message: 'Data corruption failure: received less data than required and reached maxRetires limitation.' }, 'Corrupt'],
    ['gcs', { status: 410, code: 'gone' }, 'Transient'],
    ['gcs', { status: 412, code: 'conditionNotMet' }, 'Conflict'],
    ['gcs', { status: 400, code: 'invalid', message: 'Provided CRC32C "AAAAAA==" doesn\'t match calculated CRC32C "BBBBBB==".' }, 'Corrupt'],
    ['gcs', { code: 'FILE_NO_UPLOAD', message: 'The uploaded data did not match the data from the server.' }, 'Corrupt'],
    ['gcs', { status: 400, code: 'invalid', message: 'Invalid argument.' }, 'Fatal'],
    ['azure', { status: 400, code: 'Md5Mismatch' }, 'Corrupt'],
    ['azure', { status: 400, code: 'InvalidOperation', message: "Provided contentMD5 doesn't match." }, 'Corrupt'],
    ['azure', { status: 400, code: 'InvalidOperation', message: 'Something else.' }, 'Fatal'],
    ['azure', { status: 403, code: 'AuthorizationFailure' }, 'Fatal'],
    ['azure', { code: 'CredentialUnavailableError' }, 'Fatal'],
    ['s3', { status: 400, code: 'BadDigest' }, 'Corrupt'],
    ['gcs', { status: 429, code: 'rateLimitExceeded' }, 'Throttled'],
    ['gcs', { status: 404, code: 'notFound', message: 'No such object: my-bucket/k' }, 'NotFound'],
    ['gcs', { status: 501, code: 'notImplemented' }, 'Fatal'],
    ['gcs', { code: 'request-timeout', message: 'network timeout at: http://x' }, 'Transient'],
  ];
  for (const cloud of ['s3', 'azure', 'gcs']) {
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT']) rows.push([cloud, { code }, 'Transient']);
  }
  it.each(rows)('%s %j is %s', (cloud, facts, kind) => {
    expect(classify(TABLES[cloud]!, facts).kind).toBe(kind);
  });

  it('every row says why', () => {
    for (const table of Object.values(TABLES)) for (const rule of table) expect(rule.why.length).toBeGreaterThan(5);
  });
});

/** status, code (the cloud's), the error code the call ends with, whether it was repeated. */
type WireCase = [number, string, string, boolean];

const WIRE: Record<string, WireCase[]> = {
  s3: [
    [400, 'RequestTimeout', 'Transient', true],
    [403, 'RequestTimeTooSkewed', 'Transient', true],
    [503, 'SlowDown', 'Throttled', true],
    [503, 'ServiceUnavailable', 'Throttled', true],
    [500, 'InternalError', 'Transient', true],
    [501, 'NotImplemented', 'Fatal', false],
    [404, 'NoSuchKey', 'NotFound', false],
    [404, 'NoSuchBucket', 'Fatal', false],
    [403, 'AccessDenied', 'Fatal', false],
    [403, 'InvalidObjectState', 'Archived', false],
    [400, 'ExpiredToken', 'Fatal', false],
  ],
  azure: [
    [503, 'ServerBusy', 'Throttled', true],
    [500, 'InternalError', 'Transient', true],
    [500, 'OperationTimedOut', 'Transient', true],
    [501, 'NotImplemented', 'Fatal', false],
    [404, 'BlobNotFound', 'NotFound', false],
    [404, 'ContainerNotFound', 'Fatal', false],
    [409, 'BlobArchived', 'Archived', false],
    [409, 'BlobBeingRehydrated', 'Archived', false],
    [403, 'AuthenticationFailed', 'Fatal', false],
  ],
  gcs: [
    [429, 'rateLimitExceeded', 'Throttled', true],
    [410, 'gone', 'Transient', true],
    [408, 'requestTimeout', 'Transient', true],
    [500, 'backendError', 'Transient', true],
    [503, 'backendError', 'Throttled', true],
    [501, 'notImplemented', 'Fatal', false],
    [403, 'forbidden', 'Fatal', false],
  ],
};

describe.each(CLOUDS)('errors on the wire: $name', ({ name, start }) => {
  let cloud: FaultyCloud;
  let store: ObjectStore;
  const data = body(10_000, 5);

  beforeAll(async () => {
    cloud = await start();
    store = createObjectStore(backendConfigSchema.parse(cloud.config()));
    await store.put('e/obj', data);
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  it.each(WIRE[name]!)('HTTP %i %s: %s, repeated: %s', async (status, code, expected, repeated) => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isGet('e/obj'), fault: { kind: 'error', status, code } });
    if (repeated) {
      expect((await store.get('e/obj')).data.equals(data)).toBe(true);
      expect(cloud.fault.count(cloud.isGet('e/obj'))).toBe(2);
    } else {
      await expect(store.get('e/obj')).rejects.toMatchObject({ code: expected });
      expect(cloud.fault.count(cloud.isGet('e/obj'))).toBe(1);
    }
  });

  it('a connection reset before the answer is Transient and repeated', async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isGet('e/obj'), fault: { kind: 'reset' } });
    expect((await store.get('e/obj')).data.equals(data)).toBe(true);
    expect(cloud.fault.count(cloud.isGet('e/obj'))).toBe(2);
  });

  it('a throttled call gives up with Throttled once its attempts are spent', async () => {
    cloud.fault.reset();
    const busy: Record<string, [number, string]> = { s3: [503, 'SlowDown'], azure: [503, 'ServerBusy'], gcs: [429, 'rateLimitExceeded'] };
    const [status, code] = busy[name]!;
    cloud.fault.inject({ match: cloud.isGet('e/obj'), fault: { kind: 'error', status, code }, times: Infinity });
    await expect(store.get('e/obj')).rejects.toMatchObject({ code: 'Throttled' });
    expect(cloud.fault.count(cloud.isGet('e/obj'))).toBe(3); // maxAttempts of faulty-clouds' config
  });

  it('a missing key is NotFound; a missing bucket is a BucketMissingError (Fatal), on HEAD too', async () => {
    cloud.fault.reset();
    await expect(store.head('e/missing')).rejects.toMatchObject({ code: 'NotFound' });
    await expect(store.get('e/missing')).rejects.toMatchObject({ code: 'NotFound' });
    const elsewhere = createObjectStore(backendConfigSchema.parse({ ...cloud.config(), ...bucketField(name, 'no-such-bucket') }));
    const head = elsewhere.head('e/obj');
    await expect(head).rejects.toBeInstanceOf(BucketMissingError);
    await expect(head).rejects.toMatchObject({ code: 'Fatal' });
    await expect(elsewhere.get('e/obj')).rejects.toMatchObject({ code: 'Fatal' });
  });
});

function bucketField(cloud: string, bucket: string): Record<string, string> {
  return cloud === 'azure' ? { container: bucket } : { bucket };
}

describe('cloud-specific errors on the wire', () => {
  it('S3: a download whose checksum does not match is corrupt data, read again', async () => {
    const s3 = await CLOUDS[0]!.start();
    try {
      const store = createObjectStore(backendConfigSchema.parse(s3.config({ checksums: 'when_supported' })), { bodyChecksums: false });
      await store.put('c/obj', Buffer.from('hello'));
      s3.fault.reset();
      s3.fault.inject({
        match: s3.isGet('c/obj'),
        fault: {
          kind: 'respond', status: 200, body: 'hellp',
          headers: {
            'Content-Length': '5', ETag: '"0"', 'Last-Modified': new Date().toUTCString(),
            'x-amz-checksum-crc32': 'NhCmhg==', // the CRC-32 of "hello"
          },
        },
      });
      expect((await store.get('c/obj')).data.toString()).toBe('hello');
      expect(s3.fault.count(s3.isGet('c/obj'))).toBe(2);
    } finally {
      await s3.stop();
    }
  });

  it('S3: a bucket in another region than configured is followed there', async () => {
    const s3 = await CLOUDS[0]!.start();
    try {
      const store = createObjectStore(backendConfigSchema.parse(s3.config({ region: 'us-west-2' })));
      await store.put('r/obj', Buffer.from('far'));
      s3.fault.reset();
      s3.fault.inject({
        match: s3.isGet('r/obj'),
        fault: { kind: 'error', status: 301, code: 'PermanentRedirect', headers: { 'x-amz-bucket-region': 'eu-west-1' } },
      });
      expect((await store.get('r/obj')).data.toString()).toBe('far');
      const gets = s3.fault.requests.filter(s3.isGet('r/obj'));
      expect(gets).toHaveLength(2);
      expect(String(gets[1]!.headers.authorization)).toMatch(/\/eu-west-1\/s3\//);
    } finally {
      await s3.stop();
    }
  });

  it('GCS: a 404 whose message names a bucket is still a missing object; 410 on an upload repeats the put', async () => {
    const gcs = await CLOUDS[2]!.start();
    try {
      const store = createObjectStore(backendConfigSchema.parse(gcs.config()));
      gcs.fault.inject({
        match: gcs.isHead('k'),
        fault: { kind: 'error', status: 404, code: 'notFound', message: 'No such object: my-bucket-of-things/k' },
      });
      await expect(store.head('k')).rejects.toMatchObject({ code: 'NotFound' });

      gcs.fault.reset();
      const isUpload = (r: { method: string; path: string }) => r.method === 'POST' && r.path === `/upload/storage/v1/b/${CONTAINER}/o`;
      gcs.fault.inject({ match: isUpload, fault: { kind: 'error', status: 410, code: 'gone' } });
      await store.put('g/obj', Buffer.from('again'));
      expect(gcs.fault.count(isUpload)).toBe(2);
      expect((await store.get('g/obj')).data.toString()).toBe('again');
    } finally {
      await gcs.stop();
    }
  });

  it('Azure: an expired or wrong credential is reported as such', async () => {
    const azure = await CLOUDS[1]!.start();
    try {
      const store = createObjectStore(backendConfigSchema.parse(azure.config()));
      azure.fault.inject({
        match: azure.isHead('k'),
        fault: { kind: 'error', status: 403, code: 'AuthenticationFailed', message: 'Signature not valid in the specified time frame' },
      });
      await expect(store.head('k')).rejects.toMatchObject({ code: 'Fatal', message: expect.stringMatching(/AuthenticationFailed.*expired/) });
    } finally {
      await azure.stop();
    }
  });
});
