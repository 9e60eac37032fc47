// The Google Cloud Storage backend, through the JSON API. Small bodies go up in one
// multipart request, large ones as a resumable upload in chunks (GCS takes the chunks
// of one session in order, so parts do not travel in parallel). Retries are left to
// the retry wrapper: the client's own are off. Each request runs under a RequestWatch
// (timeouts.ts); the client takes no abort signal for its JSON calls, so the watch's
// race is what ends those, and the client's own timeout (connect + firstByte) closes
// their sockets soon after.
import { deleteEach } from './delete-many.js';
import type * as GcsSdk from '@google-cloud/storage';
import type { File, FileMetadata, Storage } from '@google-cloud/storage';
import { lazyModule } from './lazy-sdk.js';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { collect, emptyStream, mapStreamErrors, tap, through } from './body.js';
import { BucketProbe, GCS_ERRORS, classify, typedError, type ErrorFacts } from './cloud-errors.js';
import { FatalError, NotFoundError, ObjectStoreError } from './errors.js';
import { DEFAULT_TIMEOUTS, RequestWatch, isCallerAbort, watched, type RequestTimeouts } from './timeouts.js';
import { checkKey, checkMetadata, checkRange, clipRange } from './keys.js';
import type {
  ByteRange, CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, PutOptions,
  PutResult, StoreLimits,
} from './types.js';

/** @google-cloud/storage, loaded when the first store of this kind is made (lazy-sdk.ts). */
const gcsSdk = lazyModule<typeof GcsSdk>('@google-cloud/storage');

export interface GcsClientOptions {
  /** e.g. http://127.0.0.1:4443 for a test server; default: Google's. */
  endpoint?: string;
  projectId?: string;
  /** A service-account key file; omitted: Application Default Credentials. */
  keyFilename?: string;
  timeouts?: RequestTimeouts;
}

export interface GcsStoreOptions extends GcsClientOptions {
  bucket: string;
  multipartThreshold: number;
  /** Bytes per request of a resumable upload; GCS wants a multiple of 256 KiB. */
  partSize: number;
  listPageSize: number;
}

/** The client the store uses; exported so a benchmark can call the SDK directly with the same settings. */
export function createGcsClient(opts: GcsClientOptions): Storage {
  return new (gcsSdk().Storage)({
    ...(opts.endpoint ? { apiEndpoint: opts.endpoint } : {}),
    ...(opts.projectId ? { projectId: opts.projectId } : {}),
    ...(opts.keyFilename ? { keyFilename: opts.keyFilename } : {}),
    retryOptions: { autoRetry: false },
    // Per request, until its answer starts (the client's default is 60 s).
    timeout: (opts.timeouts ?? DEFAULT_TIMEOUTS).connect + (opts.timeouts ?? DEFAULT_TIMEOUTS).firstByte,
  });
}

export class GcsStore implements ObjectStore {
  readonly backend = 'gcs';
  readonly limits: StoreLimits = {
    minPartSize: 256 * 2 ** 10,
    maxPartSize: 5 * 2 ** 40,
    maxParts: Number.MAX_SAFE_INTEGER,
    storageClasses: ['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE'],
    // GCS's ARCHIVE class is read directly, without a restore.
    archiveClasses: [],
    // Recorded with a metadata patch after the upload (not atomic with it: a crash in
    // between leaves an object without that metadata, never wrong metadata).
    metadataAfterBody: true,
    parallelParts: false,
    keysPerDelete: 1,
  };
  readonly storage: Storage;
  private readonly bucketName: string;
  private readonly timeouts: RequestTimeouts;
  private readonly bucketProbe: BucketProbe;

  constructor(private readonly opts: GcsStoreOptions) {
    this.storage = createGcsClient(opts);
    this.bucketName = opts.bucket;
    this.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
    this.bucketProbe = new BucketProbe(async () => {
      const [exists] = await watched(this.timeouts, `head bucket ${this.bucketName}`, undefined, () =>
        this.storage.bucket(this.bucketName).exists());
      return exists;
    });
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    checkMetadata(opts.metadata);
    if (opts.storageClass !== undefined && !this.limits.storageClasses.includes(opts.storageClass)) {
      throw new FatalError(`GCS has no storage class ${opts.storageClass}`);
    }
    const file = this.file(key);
    const metadata = {
      metadata: opts.metadata ?? {},
      ...(opts.storageClass ? { storageClass: opts.storageClass } : {}),
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    };
    const resumable = !Buffer.isBuffer(body) || body.length > this.opts.multipartThreshold;
    let size = Buffer.isBuffer(body) ? body.length : 0;
    try {
      const source = Buffer.isBuffer(body) ? body : through(body, tap((chunk) => { size += chunk.length; }));
      // validation "md5": the client hashes the body on the way and compares the stored
      // object's md5Hash once the upload ends; a body damaged on the way is deleted and
      // the put fails as Corrupt. MD5 and not CRC32C: the client's CRC32C is plain
      // JavaScript, about 50 MB/s here against MD5's 450, and would cap every upload.
      const sink = file.createWriteStream({
        resumable, metadata, validation: 'md5', ...(resumable ? { chunkSize: this.opts.partSize } : {}),
      });
      // The client reports its upload, so a stall is timed like a missing answer; the
      // pipeline's signal destroys the upload when the watch gives up on it.
      const watch = new RequestWatch(this.timeouts, `put ${key}`, opts.signal);
      sink.on('progress', () => watch.progress());
      try {
        await watch.response(
          (signal) => pipeline(Buffer.isBuffer(source) ? [source] : source, sink, { signal }),
          { upload: 'reported' },
        );
      } finally {
        watch.done();
      }
      const after = opts.metadataAfterBody?.();
      if (after && Object.keys(after).length > 0) {
        checkMetadata(after);
        // Only onto the bytes this upload wrote: another writer's object that replaced
        // them meanwhile (or patched their metadata) must not get this body's checksum.
        // GCS then answers 412, a ConcurrentChangeError, and changes nothing.
        const written = { ifGenerationMatch: file.metadata.generation, ifMetagenerationMatch: file.metadata.metageneration };
        await watched(this.timeouts, `put ${key} metadata`, opts.signal, () =>
          file.setMetadata({ metadata: { ...opts.metadata, ...after } }, written));
      }
      return { etag: String(file.metadata.generation ?? ''), size };
    } catch (err) {
      throw this.error(err, `put ${key}`, key);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    checkKey(key);
    checkRange(opts.range);
    // The JSON API's media response does not carry user metadata (our checksum), so the
    // metadata and the bytes are two requests; they run side by side, and the media
    // response's generation must match the metadata's, else an overwrite came between.
    for (let attempt = 1; ; attempt++) {
      const metaRequest = this.head(key, opts);
      if (opts.range?.length === 0) {
        const meta = await metaRequest;
        return { data: Buffer.alloc(0), meta, range: clipRange(opts.range, meta.size) };
      }
      let generation: string | undefined;
      const media = this.file(key).createReadStream({
        validation: false,
        decompress: false,
        ...(opts.range ? { start: opts.range.offset, end: opts.range.offset + opts.range.length - 1 } : {}),
      }) as Readable;
      media.once('response', (res: { headers?: Record<string, string> }) => { generation = res.headers?.['x-goog-generation']; });
      const body = new RequestWatch(this.timeouts, `get ${key}`, opts.signal).body(media, { awaitingAnswer: true });
      const [metaResult, dataResult] = await Promise.allSettled([metaRequest, collect(body)]);
      if (metaResult.status === 'rejected') throw metaResult.reason;
      const meta = metaResult.value;
      const range = clipRange(opts.range, meta.size);
      if (dataResult.status === 'rejected') {
        const status = (dataResult.reason as { code?: unknown }).code;
        // A range that starts at or past the end: GCS answers 416, object_store answers with nothing.
        if (status === 416 && range.length === 0) return { data: Buffer.alloc(0), meta, range };
        if (attempt < 3 && (status === 416 || status === 404)) continue; // the object changed between the two requests
        throw this.error(dataResult.reason, `get ${key}`, key);
      }
      if (generation !== meta.etag && attempt < 3) continue;
      return { data: dataResult.value, meta, range };
    }
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    const { read, meta, range } = await this.open(key, opts);
    if (!read) return { stream: emptyStream(), meta, range };
    const body = new RequestWatch(this.timeouts, `get ${key}`, opts.signal).body(read(), { awaitingAnswer: true });
    return { stream: mapStreamErrors(body, (err) => this.error(err, `get ${key}`, key)), meta, range };
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectMeta> {
    checkKey(key);
    try {
      const [md] = await watched(this.timeouts, `head ${key}`, opts.signal, () => this.file(key).getMetadata());
      return toMeta(key, md);
    } catch (err) {
      const e = this.error(err, `head ${key}`, key);
      // GCS answers "notFound" for a missing object and a missing bucket alike.
      throw e instanceof NotFoundError ? await this.bucketProbe.notFound(e, this.bucketName) : e;
    }
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    checkKey(key);
    try {
      await watched(this.timeouts, `delete ${key}`, opts.signal, () => this.file(key).delete({ ignoreNotFound: true }));
    } catch (err) {
      throw this.error(err, `delete ${key}`, key);
    }
  }

  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void> {
    return deleteEach(this, keys, opts);
  }

  async *list(prefix = '', opts: ListOptions = {}): AsyncIterable<ListEntry> {
    let pageToken: string | undefined;
    do {
      let response: { items?: FileMetadata[]; nextPageToken?: string };
      try {
        const [, , raw] = await watched(this.timeouts, `list ${prefix}`, opts.signal, () =>
          this.storage.bucket(this.bucketName).getFiles({
            prefix, maxResults: opts.pageSize ?? this.opts.listPageSize, autoPaginate: false, ...(pageToken ? { pageToken } : {}),
          }));
        response = (raw ?? {}) as typeof response;
      } catch (err) {
        throw this.error(err, `list ${prefix}`, prefix);
      }
      for (const item of response.items ?? []) {
        yield { key: item.name!, size: Number(item.size ?? 0), etag: item.etag, lastModified: new Date(item.updated ?? 0) };
      }
      pageToken = response.nextPageToken;
    } while (pageToken);
  }

  async restore(key: string, opts: CallOptions = {}): Promise<void> {
    await this.head(key, opts); // every GCS class is readable at once; only the existence check remains
  }

  /** For streams: metadata first (size, generation, our metadata); the media read is pinned to that generation. */
  private async open(key: string, opts: GetOptions) {
    const asked: ByteRange | undefined = opts.range;
    checkRange(asked);
    const meta = await this.head(key, opts);
    const range = clipRange(asked, meta.size);
    if (range.length === 0) return { meta, range };
    const file = this.storage.bucket(this.bucketName).file(key, { generation: meta.etag });
    const whole = range.offset === 0 && range.length === meta.size;
    const read = () =>
      file.createReadStream({
        validation: false,
        decompress: false,
        ...(whole ? {} : { start: range.offset, end: range.offset + range.length - 1 }),
      }) as Readable;
    return { read, meta, range };
  }

  private file(key: string): File {
    return this.storage.bucket(this.bucketName).file(key);
  }

  private error(err: unknown, what: string, key: string): Error {
    if (err instanceof ObjectStoreError || isCallerAbort(err)) return err as Error;
    const facts = gcsFacts(err);
    return typedError(classify(GCS_ERRORS, facts), facts, what, key, this.bucketName, err);
  }

}

function toMeta(key: string, md: FileMetadata): ObjectMeta {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.metadata ?? {})) if (v !== null && v !== undefined) metadata[k] = String(v);
  return {
    key,
    size: Number(md.size ?? 0),
    // generation/metageneration would change on a metadata patch; the generation
    // alone names the bytes, and pins the media read in open().
    etag: String(md.generation ?? ''),
    lastModified: new Date(md.updated ?? 0),
    storageClass: md.storageClass,
    archived: false,
    metadata,
  };
}

/**
 * What a GCS client error says: JSON calls fail with an ApiError (code: the HTTP
 * status, errors[0].reason), resumable uploads with a GaxiosError (status), node-fetch
 * with a FetchError (type, and a Node code for socket errors).
 */
function gcsFacts(err: unknown): ErrorFacts {
  const e = err as {
    code?: unknown; status?: unknown; response?: { status?: number }; errors?: { reason?: string }[]; type?: string;
    name?: string; message?: string;
  };
  const status = typeof e.code === 'number' ? e.code : typeof e.status === 'number' ? e.status : e.response?.status;
  const code =
    e.errors?.[0]?.reason ??
    (typeof e.code === 'string' && !/^\d+$/.test(e.code) ? e.code : undefined) ??
    (e.type === 'request-timeout' ? e.type : undefined) ??
    e.name;
  return { ...(status !== undefined ? { status } : {}), ...(code ? { code } : {}), message: (e.message ?? String(err)).split('\n')[0]! };
}
