// The S3 backend (AWS, MinIO, Ceph RGW, GCS's XML interoperability API, s3rver in
// tests). Retries are left to the retry wrapper: the client makes one attempt. Each
// request runs under a RequestWatch (timeouts.ts); the client's own connection and
// socket timeouts bound the requests the watch cannot time, those that carry a body.
import { deleteInRequests } from './delete-many.js';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput, StorageClass, Tier, S3Client } from '@aws-sdk/client-s3';
import { lazyModule } from './lazy-sdk.js';
import type { Readable } from 'node:stream';
import { type Fetched, fetchedBytes, fetchedStream } from './body.js';
import { digestThread } from './digest-thread.js';
import { BucketProbe, S3_ERRORS, classify, typedError, type ErrorFacts } from './cloud-errors.js';
import { ArchivedError, FatalError, NotFoundError, ObjectStoreError, archivedState } from './errors.js';
import { DEFAULT_TIMEOUTS, RequestWatch, isCallerAbort, watched, type RequestTimeouts } from './timeouts.js';
import { checkKey, checkMetadata, checkRange, clipRange } from './keys.js';
import { crc32Base64, uploadInParts } from './s3-multipart.js';
import type {
  ArchiveState, CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, PutOptions,
  PutResult, RestoreOptions, StoreLimits,
} from './types.js';

/** @aws-sdk/client-s3, loaded when the first store of this kind is made (lazy-sdk.ts). */
const s3Sdk = lazyModule<typeof S3Sdk>('@aws-sdk/client-s3');

export interface S3ClientOptions {
  region?: string;
  /** e.g. http://127.0.0.1:9000 for MinIO, https://storage.googleapis.com for GCS interoperability. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /**
   * "when_supported" (the SDK default) adds CRC checksums to every request;
   * "when_required" sends them only where S3 demands one. s3rver and GCS need the latter.
   */
  checksums?: 'when_supported' | 'when_required';
  /** Omitted: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  timeouts?: RequestTimeouts;
}

export interface S3StoreOptions extends S3ClientOptions {
  bucket: string;
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
  listPageSize: number;
}

const ARCHIVE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'];

/**
 * The region the SDK's own chain finds (AWS_REGION, the profile's), or us-east-1 when
 * it finds none; a bucket elsewhere is then found by following S3's region redirect.
 */
async function sdkRegion(): Promise<string> {
  try {
    return await new (s3Sdk().S3Client)({}).config.region();
  } catch {
    return 'us-east-1';
  }
}

/** The client the store uses; exported so a benchmark can call the SDK directly with the same settings. */
export function createS3Client(opts: S3ClientOptions): S3Client {
  const checksums = opts.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  let found: Promise<string> | undefined;
  return new (s3Sdk().S3Client)({
    // The SDK's default has no timeout at all. Its socket timeout fails a request whose
    // socket stands still that long in any phase: sending, waiting, receiving.
    requestHandler: {
      connectionTimeout: timeouts.connect,
      socketTimeout: Math.max(timeouts.firstByte, timeouts.idle),
    },
    region: opts.region ?? (opts.endpoint ? 'us-east-1' : () => (found ??= sdkRegion())),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    forcePathStyle: opts.forcePathStyle ?? false,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: 1,
    // A bucket in another region than configured answers 301 with its region: ask there.
    followRegionRedirects: true,
  });
}

export class S3Store implements ObjectStore {
  readonly backend = 's3';
  readonly limits: StoreLimits = {
    minPartSize: 5 * 2 ** 20,
    maxPartSize: 5 * 2 ** 30,
    maxParts: 10_000,
    storageClasses: ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'],
    archiveClasses: ARCHIVE_CLASSES,
    metadataAfterBody: false,
    parallelParts: true,
    keysPerDelete: 1000,
  };
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly timeouts: RequestTimeouts;
  private readonly bucketProbe: BucketProbe;

  constructor(private readonly opts: S3StoreOptions) {
    this.client = createS3Client(opts);
    this.bucket = opts.bucket;
    this.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
    this.bucketProbe = new BucketProbe(async () => {
      try {
        await watched(this.timeouts, `head bucket ${this.bucket}`, undefined, (abortSignal) =>
          this.client.send(new (s3Sdk().HeadBucketCommand)({ Bucket: this.bucket }), { abortSignal }));
        return true;
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw err;
      }
    });
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    checkMetadata(opts.metadata);
    this.checkClass(opts.storageClass);
    const params = {
      Bucket: this.bucket,
      Key: key,
      Metadata: opts.metadata,
      ...(opts.storageClass ? { StorageClass: opts.storageClass as StorageClass } : {}),
      ...(opts.contentType ? { ContentType: opts.contentType } : {}),
    };
    try {
      if (Buffer.isBuffer(body) && body.length <= this.opts.multipartThreshold) {
        // Without the client's CRC, the body's MD5: S3 refuses (BadDigest) a body damaged on
        // the way. Both, and the signature's SHA-256, are computed off the event loop for a
        // body in shared memory (digest-thread.ts) and given to the client, which then
        // computes none of them.
        const whenRequired = this.opts.checksums === 'when_required';
        const sums = await digestThread.digests(body, whenRequired ? ['md5', 'sha256'] : ['crc32', 'sha256']);
        const digest = whenRequired ? { ContentMD5: sums.md5! } : { ChecksumCRC32: crc32Base64(sums.crc32!) };
        const out = await watched(
          this.timeouts, `put ${key}`, opts.signal,
          (abortSignal) => {
            const put = new (s3Sdk().PutObjectCommand)({ ...params, ...digest, Body: body, ContentLength: body.length });
            // Set before signing: SigV4 then signs the hash as given instead of hashing the body again.
            put.middlewareStack.add((next) => (args) => {
              (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = sums.sha256!;
              return next(args);
            }, { step: 'build', name: 'tierfsPayloadHash' });
            return this.client.send(put, { abortSignal });
          },
          { upload: 'unreported' }, // the client's socket timeout bounds a stall
        );
        return { etag: out.ETag ?? '', size: body.length };
      }
      return await uploadInParts({
        client: this.client,
        params,
        partSize: this.opts.partSize,
        partConcurrency: this.opts.partConcurrency,
        limits: this.limits,
        checksums: this.opts.checksums !== 'when_required',
        timeouts: this.timeouts,
        ...(opts.signal ? { signal: opts.signal } : {}),
        mapError: (err, what) => this.error(err, what, key),
      }, body);
    } catch (err) {
      throw this.error(err, `put ${key}`, key);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    return fetchedBytes(await this.fetch(key, opts), (err) => this.error(err, `get ${key}`, key));
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    return fetchedStream(await this.fetch(key, opts), (err) => this.error(err, `get ${key}`, key));
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectMeta> {
    checkKey(key);
    try {
      const out = await watched(this.timeouts, `head ${key}`, opts.signal, (abortSignal) =>
        this.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: this.bucket, Key: key }), { abortSignal }));
      const storageClass = out.StorageClass ?? 'STANDARD';
      const archive = s3ArchiveState(storageClass, out.ArchiveStatus, out.Restore);
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: out.ETag ?? '',
        lastModified: out.LastModified ?? new Date(0),
        storageClass,
        archived: archive !== undefined && archive.state !== 'restored',
        ...(archive ? { archive } : {}),
        metadata: out.Metadata ?? {},
      };
    } catch (err) {
      const e = this.error(err, `head ${key}`, key);
      // A HEAD answer has no body: its 404 does not say whether the key or the bucket is missing.
      throw e instanceof NotFoundError ? await this.bucketProbe.notFound(e, this.bucket) : e;
    }
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    checkKey(key);
    try {
      await watched(this.timeouts, `delete ${key}`, opts.signal, (abortSignal) =>
        this.client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: key }), { abortSignal }));
    } catch (err) {
      const e = this.error(err, `delete ${key}`, key);
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  deleteMany(keys: readonly string[], opts: CallOptions = {}): Promise<void> {
    return deleteInRequests(this, keys, opts, (batch) => this.deleteObjects(batch, opts));
  }

  /** One DeleteObjects request (quiet: only failures are answered). */
  private async deleteObjects(batch: readonly string[], opts: CallOptions): Promise<void> {
    batch.forEach(checkKey);
    const what = `delete ${batch[0]}${batch.length > 1 ? ` and ${batch.length - 1} more` : ''}`;
    let out;
    try {
      out = await watched(this.timeouts, what, opts.signal, (abortSignal) =>
        this.client.send(new (s3Sdk().DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }));
    } catch (err) {
      throw this.error(err, what, batch[0]!);
    }
    // A 200 answer can still name keys it could not remove.
    const failed = (out.Errors ?? []).find((e) => e.Code !== 'NoSuchKey');
    if (failed) {
      const facts: ErrorFacts = { code: failed.Code, message: failed.Message };
      throw typedError(classify(S3_ERRORS, facts), facts, `delete ${failed.Key}`, failed.Key ?? '', this.bucket, failed);
    }
  }

  async *list(prefix = '', opts: ListOptions = {}): AsyncIterable<ListEntry> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await watched(this.timeouts, `list ${prefix}`, opts.signal, (abortSignal) =>
          this.client.send(
            new (s3Sdk().ListObjectsV2Command)({
              Bucket: this.bucket, Prefix: prefix, MaxKeys: opts.pageSize ?? this.opts.listPageSize, ContinuationToken: token,
            }),
            { abortSignal },
          ));
      } catch (err) {
        throw this.error(err, `list ${prefix}`, prefix);
      }
      for (const o of out.Contents ?? []) {
        yield { key: o.Key!, size: o.Size ?? 0, etag: o.ETag, lastModified: o.LastModified ?? new Date(0) };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Starts the restore of an archived object; nothing to do for one that is readable
   * or being restored. Objects in Intelligent-Tiering's archive access tiers take no
   * `Days` (S3 refuses a restore that names them: they return to the frequent access
   * tier for good). An Expedited restore that S3 has no capacity for falls back to
   * Standard.
   */
  async restore(key: string, opts: RestoreOptions = {}): Promise<void> {
    const meta = await this.head(key, opts);
    if (meta.archive?.state !== 'archived') return;
    const intelligentTiering = meta.storageClass === 'INTELLIGENT_TIERING';
    const send = (tier: string) =>
      watched(this.timeouts, `restore ${key}`, opts.signal, (abortSignal) =>
        this.client.send(
          new (s3Sdk().RestoreObjectCommand)({
            Bucket: this.bucket,
            Key: key,
            RestoreRequest: {
              ...(intelligentTiering ? {} : { Days: opts.days ?? 7 }),
              GlacierJobParameters: { Tier: tier as Tier },
            },
          }),
          { abortSignal },
        ));
    const tier = opts.priority ?? 'Standard';
    try {
      try {
        await send(tier);
      } catch (err) {
        if (tier !== 'Expedited' || (err as { name?: string }).name !== 'GlacierExpeditedRetrievalNotAvailable') throw err;
        await send('Standard');
      }
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'RestoreAlreadyInProgress') return;
      // Restored (or moved out of the archive) since the head: readable already.
      if (name === 'InvalidObjectState') return;
      throw this.error(err, `restore ${key}`, key);
    }
  }

  private async fetch(key: string, opts: GetOptions): Promise<Fetched> {
    const asked = opts.range;
    checkKey(key);
    checkRange(asked);
    // S3 cannot express an empty range; the answer only needs the object's metadata.
    if (asked && asked.length === 0) {
      const meta = await this.head(key, opts);
      return { meta, range: clipRange(asked, meta.size) };
    }
    const watch = new RequestWatch(this.timeouts, `get ${key}`, opts.signal);
    let out: GetObjectCommandOutput;
    try {
      out = await watch.response((abortSignal) =>
        this.client.send(
          new (s3Sdk().GetObjectCommand)({
            Bucket: this.bucket,
            Key: key,
            ...(asked ? { Range: `bytes=${asked.offset}-${asked.offset + asked.length - 1}` } : {}),
          }),
          { abortSignal },
        ));
    } catch (err) {
      watch.done();
      const e = this.error(err, `get ${key}`, key);
      // A range that starts at or past the end: S3 answers 416, object_store answers with nothing.
      if ((err as { name?: string }).name === 'InvalidRange') {
        const meta = await this.head(key, opts);
        return { meta, range: clipRange(asked, meta.size) };
      }
      // InvalidObjectState does not say whether a restore is under way; the head does.
      if (e instanceof ArchivedError) throw await archivedState(e, key, () => this.head(key, opts));
      throw e;
    }
    const total = out.ContentRange ? Number(out.ContentRange.split('/')[1]) : (out.ContentLength ?? 0);
    const meta: ObjectMeta = {
      key,
      size: total,
      etag: out.ETag ?? '',
      lastModified: out.LastModified ?? new Date(0),
      storageClass: out.StorageClass ?? 'STANDARD',
      metadata: out.Metadata ?? {},
    };
    const body = out.Body ? watch.body(out.Body as Readable) : undefined;
    if (!body) watch.done();
    return { ...(body ? { body } : {}), meta, range: clipRange(asked, total) };
  }

  private checkClass(storageClass: string | undefined): void {
    if (storageClass !== undefined && !this.limits.storageClasses.includes(storageClass)) {
      throw new FatalError(`S3 has no storage class ${storageClass}`);
    }
  }

  private error(err: unknown, what: string, key: string): Error {
    if (err instanceof ObjectStoreError || isCallerAbort(err)) return err as Error;
    const facts = s3Facts(err);
    return typedError(classify(S3_ERRORS, facts), facts, what, key, this.bucket, err);
  }
}

/** What an S3 client error says: service errors carry the status and S3's code, socket errors a Node code. */
function s3Facts(err: unknown): ErrorFacts {
  const e = err as { name?: string; Code?: string; code?: unknown; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const code = status !== undefined ? (e.Code ?? e.name) : typeof e.code === 'string' ? e.code : e.name;
  return { ...(status !== undefined ? { status } : {}), ...(code ? { code } : {}), message: e.message?.split('\n')[0] ?? String(err) };
}

/**
 * The archive state S3's head reports: Glacier and Deep Archive objects by their class
 * and x-amz-restore (a restore's copy is readable until its expiry date);
 * Intelligent-Tiering objects by x-amz-archive-status, set while they sit in an
 * archive access tier. Undefined for an object that needs no restore.
 */
export function s3ArchiveState(storageClass: string, archiveStatus: string | undefined, restore: string | undefined): ArchiveState | undefined {
  const inArchive = ARCHIVE_CLASSES.includes(storageClass) || (storageClass === 'INTELLIGENT_TIERING' && archiveStatus !== undefined);
  if (restore?.includes('ongoing-request="true"')) return { state: 'restoring' };
  if (restore?.includes('ongoing-request="false"')) {
    const expiry = /expiry-date="([^"]+)"/.exec(restore)?.[1];
    const until = expiry ? new Date(expiry) : undefined;
    return { state: 'restored', ...(until && !Number.isNaN(until.getTime()) ? { until } : {}) };
  }
  return inArchive ? { state: 'archived' } : undefined;
}
