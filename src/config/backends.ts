// The configuration of one object-store backend: a union on `type` (s3 | azure | gcs |
// fs | memory), each with its own options plus the ones every backend shares (part
// sizes, listing page size, retries). src/objectstore/index.ts builds a store from it.
// Secrets may be given here, but the SDKs' own credential chains are the better home.
import { z } from 'zod';
import { bytes, duration } from './fields.js';

const size = () => bytes().describe('a size: a number of bytes or "8MiB", "100MB"');

const MiB = 2 ** 20;

// Durations default through prefault, in words, so the generated docs show them.
const retry = z
  .strictObject({
    maxAttempts: z.number().int().min(1).max(100).default(5).describe('attempts in all, the first included'),
    baseDelay: duration().prefault('100ms').describe('first backoff cap; doubles with each retry, with random jitter'),
    maxDelay: duration().prefault('5s').describe('largest wait between attempts'),
    deadline: duration().prefault('60s').describe('no retry starts this long after the first attempt'),
  })
  .prefault({})
  .describe('retries of Transient and Throttled failures; the SDKs’ own retries are off');

const timeouts = z
  .strictObject({
    connect: duration().prefault('10s').describe('a connection (TCP and TLS) must open within this'),
    firstByte: duration()
      .prefault('30s')
      .describe('after a request is sent (and its connection opened) its answer must start within this'),
    idle: duration().prefault('30s').describe('a body, going up or coming down, may not stand still longer than this'),
  })
  .prefault({})
  .describe('per-request timeouts: a request that passes one fails as Transient and is retried; a stalled connection never hangs a read');

const common = {
  name: z.string().min(1).optional().describe('a name for logs and metrics; default: the type'),
  // Above the default layout's cells (chunkSize/k = 8 MiB, and a header): a cell in parts
  // costs at least three requests more than one in a single put, and the store joins them.
  multipartThreshold: size()
    .default(64 * MiB)
    .describe('bodies above this size are uploaded in parts; a cell (chunkSize/k plus a small header) at or below it goes up in one request'),
  partSize: size()
    .default(8 * MiB)
    .describe('bytes per part of a multipart upload, doubled every 1/16 of the store’s part limit so long uploads fit (S3: at least 5MiB; GCS: a multiple of 256KiB, fixed)'),
  partConcurrency: z.number().int().min(1).max(64).default(4).describe('parts of one upload in flight at once (S3, Azure)'),
  listPageSize: z.number().int().min(1).max(1000).default(1000).describe('entries per listing request'),
  retry,
};

/** What only the network backends have. */
const network = { ...common, timeouts };

const s3 = z
  .strictObject({
    type: z.literal('s3'),
    bucket: z.string().min(1),
    region: z
      .string()
      .min(1)
      .optional()
      .describe('omit to take the AWS SDK’s (AWS_REGION, the profile), else us-east-1; with an endpoint, us-east-1'),
    endpoint: z.url().optional().describe('for MinIO, Ceph, GCS interoperability (https://storage.googleapis.com), tests'),
    forcePathStyle: z.boolean().default(false).describe('http://host/bucket/key instead of http://bucket.host/key (MinIO, Ceph, s3rver)'),
    checksums: z
      .enum(['when_supported', 'when_required'])
      .default('when_supported')
      .describe('"when_required" for stores that reject the SDK’s CRC headers (GCS interoperability, s3rver)'),
    accessKeyId: z.string().min(1).optional().describe('omit to use the AWS SDK’s default credential chain'),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    ...network,
  })
  .refine((c) => (c.accessKeyId === undefined) === (c.secretAccessKey === undefined), {
    message: 'give accessKeyId and secretAccessKey together, or neither',
  })
  .refine((c) => c.partSize >= 5 * MiB, { message: 'S3 parts must be at least 5MiB', path: ['partSize'] });

const azure = z
  .strictObject({
    type: z.literal('azure'),
    container: z.string().min(3),
    connectionString: z.string().min(1).optional().describe('e.g. "UseDevelopmentStorage=true" or one with AccountKey/SharedAccessSignature'),
    accountUrl: z.url().optional().describe('https://ACCOUNT.blob.core.windows.net, with a SAS query or with accountName + accountKey'),
    accountName: z.string().min(1).optional(),
    accountKey: z.string().min(1).optional(),
    auth: z
      .enum(['default'])
      .optional()
      .describe('"default": Microsoft Entra ID through DefaultAzureCredential (environment, workload or managed identity, Azure CLI), with a plain accountUrl; omit for the key or SAS given'),
    ...network,
  })
  .refine((c) => c.connectionString !== undefined || c.accountUrl !== undefined, {
    message: 'azure needs connectionString or accountUrl',
  })
  .refine((c) => c.auth !== 'default' || (c.accountUrl !== undefined && c.connectionString === undefined && c.accountKey === undefined), {
    message: 'auth "default" takes accountUrl alone (no connectionString, no accountKey)',
    path: ['auth'],
  });

const gcs = z
  .strictObject({
    type: z.literal('gcs'),
    bucket: z.string().min(1),
    projectId: z.string().min(1).optional(),
    endpoint: z.url().optional().describe('a JSON-API endpoint other than Google’s, e.g. a test server'),
    keyFilename: z.string().min(1).optional().describe('service-account key file; omit for Application Default Credentials'),
    ...network,
  })
  .refine((c) => c.partSize % (256 * 2 ** 10) === 0, { message: 'GCS upload chunks must be a multiple of 256KiB', path: ['partSize'] });

const fs = z.strictObject({
  type: z.literal('fs'),
  root: z.string().min(1).describe('directory holding one file per object; relative paths are relative to the config file'),
  fsync: z.boolean().default(true).describe('fsync each object and its directory before a put returns'),
  ...common,
});

const memory = z.strictObject({
  type: z.literal('memory'),
  ...common,
});

export const backendConfigSchema = z
  .discriminatedUnion('type', [s3, azure, gcs, fs, memory])
  .describe('an object store: s3, azure, gcs, fs (a local directory) or memory (tests)');

export type BackendConfig = z.output<typeof backendConfigSchema>;
export type BackendConfigInput = z.input<typeof backendConfigSchema>;
export type BackendType = BackendConfig['type'];
