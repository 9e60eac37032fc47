// The backend part of the configuration: units, defaults, and the mistakes it refuses.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { createObjectStore } from '../../src/objectstore/index.js';
import { createS3Client } from '../../src/objectstore/s3.js';

describe('backendConfigSchema', () => {
  it('reads sizes and durations in human units and fills defaults', () => {
    const c = backendConfigSchema.parse({
      type: 's3', bucket: 'b', partSize: '16MiB', multipartThreshold: '32 MB', retry: { baseDelay: '250ms', deadline: '2m' },
    });
    expect(c).toMatchObject({
      type: 's3', forcePathStyle: false, checksums: 'when_supported',
      partSize: 16 * 2 ** 20, multipartThreshold: 32e6, partConcurrency: 4, listPageSize: 1000,
      retry: { maxAttempts: 5, baseDelay: 250, maxDelay: 5000, deadline: 120_000 },
      timeouts: { connect: 10_000, firstByte: 30_000, idle: 30_000 },
    });
    const azure = backendConfigSchema.parse({
      type: 'azure', container: 'tierfs', connectionString: 'UseDevelopmentStorage=true', timeouts: { firstByte: '2m', idle: 5 },
    });
    expect(azure).toMatchObject({ timeouts: { connect: 10_000, firstByte: 120_000, idle: 5000 } });
  });

  it.each([
    ['an unknown type', { type: 'ftp', root: '/x' }, /type/],
    ['S3 parts below 5MiB', { type: 's3', bucket: 'b', partSize: '1MiB' }, /5MiB/],
    ['a key without a secret', { type: 's3', bucket: 'b', accessKeyId: 'AKIA' }, /together/],
    ['GCS chunks off the 256KiB grid', { type: 'gcs', bucket: 'b', partSize: 5_000_000 }, /256KiB/],
    ['Azure without credentials', { type: 'azure', container: 'tierfs' }, /connectionString/],
    ['an unknown option', { type: 'fs', root: '/x', fsnyc: false }, /fsnyc/],
    ['a size without a unit it knows', { type: 'memory', partSize: '8 MiBs' }, /size/],
    ['request timeouts on a local backend', { type: 'fs', root: '/x', timeouts: { idle: '1s' } }, /timeouts/],
  ])('refuses %s', (_what, input, message) => {
    const result = backendConfigSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });
});

describe('the S3 region', () => {
  it("is the configured one, else the SDK's chain (AWS_REGION, the profile), else us-east-1; with an endpoint, us-east-1", async () => {
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'ap-southeast-2';
    try {
      expect(await createS3Client({ region: 'eu-central-1' }).config.region()).toBe('eu-central-1');
      expect(await createS3Client({}).config.region()).toBe('ap-southeast-2');
      expect(await createS3Client({ endpoint: 'http://127.0.0.1:9000' }).config.region()).toBe('us-east-1');
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });
});

describe('createObjectStore', () => {
  it('builds every backend from its config, and meters it under its name', async () => {
    const registry = new Registry();
    const configs = [
      { type: 'memory', name: 'scratch' },
      { type: 'fs', root: '/tmp/never-written' },
      { type: 's3', bucket: 'b', endpoint: 'http://127.0.0.1:1', forcePathStyle: true },
      { type: 'azure', container: 'tierfs', connectionString: 'UseDevelopmentStorage=true' },
      { type: 'gcs', bucket: 'b', endpoint: 'http://127.0.0.1:1' },
    ];
    const backends = configs.map((c) => createObjectStore(backendConfigSchema.parse(c), { registry }).backend);
    expect(backends).toEqual(['memory', 'fs', 's3', 'azure', 'gcs']);

    const store = createObjectStore(backendConfigSchema.parse({ type: 'memory', name: 'scratch' }), { registry });
    await store.put('k', Buffer.alloc(1000));
    await store.get('k');
    await expect(store.head('missing')).rejects.toMatchObject({ code: 'NotFound' });
    const text = await registry.metrics();
    expect(text).toContain('tierfs_objectstore_requests_total{backend="scratch",op="put"} 1');
    expect(text).toContain('tierfs_objectstore_bytes_total{backend="scratch",op="get"} 1000');
    expect(text).toContain('tierfs_objectstore_errors_total{backend="scratch",op="head",code="NotFound"} 1');
    expect(text).toMatch(/tierfs_objectstore_request_duration_seconds_count\{backend="scratch",op="get"\} 1/);
  });

  it('reports an unreachable server as Transient, retried and then passed up', async () => {
    const registry = new Registry();
    const store = createObjectStore(
      backendConfigSchema.parse({
        type: 's3', name: 'down', bucket: 'b', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, checksums: 'when_required',
        accessKeyId: 'k', secretAccessKey: 's', retry: { maxAttempts: 3, baseDelay: '1ms', maxDelay: '2ms' },
      }),
      { registry },
    );
    await expect(store.get('k')).rejects.toMatchObject({ code: 'Transient' });
    // Three attempts: two retries counted, each for the error that caused it.
    const text = await registry.metrics();
    expect(text).toMatch(/tierfs_objectstore_retries_total\{[^}]*backend="down",op="get",code="Transient"\} 2\n/);
    expect(text).toMatch(/tierfs_objectstore_errors_total\{[^}]*backend="down",op="get",code="Transient"\} 3\n/);
  });
});
