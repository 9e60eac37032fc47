// The Azure Blob backend (block blobs). Large bodies are staged as blocks, several in
// flight, and committed with one block list, which also carries metadata known only
// after a streamed body. Retries are left to the retry wrapper: the client tries once,
// and a download that breaks off is not resumed behind our back. Each request runs
// under a RequestWatch (timeouts.ts): the SDK has no timeouts of its own.
import { deleteEach } from './delete-many.js';
import type * as AzureSdk from '@azure/storage-blob';
import type { BlobDownloadResponseParsed, BlobHTTPHeaders, BlockBlobClient, ContainerClient, BlobServiceClient, RestError } from '@azure/storage-blob';
import { lazyModule } from './lazy-sdk.js';
import type { Readable } from 'node:stream';
import { DefaultCredential, describeCredential } from './azure-credentials.js';
import { type Fetched, fetchedBytes, fetchedStream, forEachBounded, growingPartSize, md5, parts } from './body.js';
import { digestThread } from './digest-thread.js';
import { AZURE_ERRORS, classify, typedError, type ErrorFacts } from './cloud-errors.js';
import { ArchivedError, FatalError, ObjectStoreError, RestoringError, archivedState } from './errors.js';
import { DEFAULT_TIMEOUTS, RequestWatch, forwardAbort, isCallerAbort, watched, type RequestTimeouts } from './timeouts.js';
import { checkKey, checkMetadata, checkRange, clipRange } from './keys.js';
import type {
  ArchiveState, CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, PutOptions,
  PutResult, RestoreOptions, StoreLimits,
} from './types.js';

/** @azure/storage-blob, loaded when the first store of this kind is made (lazy-sdk.ts). */
const azureSdk = lazyModule<typeof AzureSdk>('@azure/storage-blob');

export interface AzureClientOptions {
  container: string;
  /** A full connection string (includes the key or a SAS); or accountUrl with accountName + accountKey; or a SAS URL as accountUrl. */
  connectionString?: string;
  accountUrl?: string;
  accountName?: string;
  accountKey?: string;
  /** "default": Microsoft Entra ID through DefaultAzureCredential, with a plain accountUrl. */
  auth?: 'default';
}

export interface AzureStoreOptions extends AzureClientOptions {
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
  listPageSize: number;
  timeouts?: RequestTimeouts;
}

const ARCHIVE = 'Archive';

/** The container client the store uses; exported so a benchmark can call the SDK directly with the same settings. */
export function createAzureContainerClient(opts: AzureClientOptions): ContainerClient {
  const clientOptions = { retryOptions: { maxTries: 1 } };
  let service: BlobServiceClient;
  if (opts.auth === 'default') {
    if (!opts.accountUrl) throw new FatalError('azure auth "default" needs accountUrl (https://ACCOUNT.blob.core.windows.net)');
    service = new (azureSdk().BlobServiceClient)(opts.accountUrl, new DefaultCredential(), clientOptions);
  } else if (opts.connectionString) {
    service = azureSdk().BlobServiceClient.fromConnectionString(opts.connectionString, clientOptions);
  } else if (opts.accountUrl && opts.accountName && opts.accountKey) {
    service = new (azureSdk().BlobServiceClient)(
      opts.accountUrl, new (azureSdk().StorageSharedKeyCredential)(opts.accountName, opts.accountKey), clientOptions,
    );
  } else if (opts.accountUrl) {
    service = new (azureSdk().BlobServiceClient)(opts.accountUrl, undefined, clientOptions); // SAS in the URL
  } else {
    throw new FatalError('azure backend needs connectionString, or accountUrl (with accountName and accountKey, or a SAS)');
  }
  return service.getContainerClient(opts.container);
}

export class AzureStore implements ObjectStore {
  readonly backend = 'azure';
  readonly limits: StoreLimits = {
    minPartSize: 1,
    maxPartSize: 4000 * 2 ** 20,
    maxParts: 50_000,
    storageClasses: ['Hot', 'Cool', 'Cold', ARCHIVE],
    archiveClasses: [ARCHIVE],
    metadataAfterBody: true,
    parallelParts: true,
    keysPerDelete: 1,
  };
  readonly container: ContainerClient;
  private readonly timeouts: RequestTimeouts;

  constructor(private readonly opts: AzureStoreOptions) {
    this.container = createAzureContainerClient(opts);
    this.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    checkMetadata(opts.metadata);
    if (opts.storageClass !== undefined && !this.limits.storageClasses.includes(opts.storageClass)) {
      throw new FatalError(`Azure has no access tier ${opts.storageClass}`);
    }
    const blob = this.container.getBlockBlobClient(key);
    const common = {
      ...(opts.storageClass ? { tier: opts.storageClass } : {}),
      ...(opts.contentType ? { blobHTTPHeaders: { blobContentType: opts.contentType } } : {}),
    };
    const metadata = () => ({ ...opts.metadata, ...opts.metadataAfterBody?.() });
    try {
      if (Buffer.isBuffer(body) && body.length <= this.opts.multipartThreshold) {
        return await this.uploadWhole(blob, body, { ...common, metadata: metadata() }, opts.signal);
      }
      return await this.putBlocks(blob, body, common, metadata, opts.signal);
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
      const p = await watched(this.timeouts, `head ${key}`, opts.signal, (abortSignal) =>
        this.container.getBlockBlobClient(key).getProperties({ abortSignal }));
      const archive = azureArchiveState(p);
      return {
        key,
        size: p.contentLength ?? 0,
        etag: p.etag ?? '',
        lastModified: p.lastModified ?? new Date(0),
        storageClass: p.accessTier,
        archived: archive !== undefined,
        ...(archive ? { archive } : {}),
        metadata: p.metadata ?? {},
      };
    } catch (err) {
      throw this.error(err, `head ${key}`, key);
    }
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    checkKey(key);
    try {
      await watched(this.timeouts, `delete ${key}`, opts.signal, (abortSignal) =>
        this.container.getBlockBlobClient(key).deleteIfExists({ abortSignal }));
    } catch (err) {
      throw this.error(err, `delete ${key}`, key);
    }
  }

  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void> {
    return deleteEach(this, keys, opts);
  }

  async *list(prefix = '', opts: ListOptions = {}): AsyncIterable<ListEntry> {
    // The pager takes one signal for all its requests; each page's watch aborts it.
    const listing = new AbortController();
    const pages = this.container
      .listBlobsFlat({ prefix, abortSignal: listing.signal })
      .byPage({ maxPageSize: opts.pageSize ?? this.opts.listPageSize });
    for (;;) {
      let page;
      try {
        page = await watched(this.timeouts, `list ${prefix}`, opts.signal, (signal) => forwardAbort(signal, listing, () => pages.next()));
      } catch (err) {
        throw this.error(err, `list ${prefix}`, prefix);
      }
      if (page.done) return;
      for (const b of page.value.segment.blobItems) {
        yield { key: b.name, size: b.properties.contentLength ?? 0, etag: b.properties.etag, lastModified: b.properties.lastModified };
      }
    }
  }

  /** Starts the rehydration of an archived blob; nothing to do for one that is readable or being rehydrated. */
  async restore(key: string, opts: RestoreOptions = {}): Promise<void> {
    const meta = await this.head(key, opts);
    if (meta.archive?.state !== 'archived') return;
    try {
      await watched(this.timeouts, `restore ${key}`, opts.signal, (abortSignal) =>
        this.container.getBlockBlobClient(key).setAccessTier(opts.targetClass ?? 'Hot', {
          rehydratePriority: opts.priority === 'High' ? 'High' : 'Standard',
          abortSignal,
        }));
    } catch (err) {
      const e = this.error(err, `restore ${key}`, key);
      // A rehydration started since the head: under way, as asked. Any other refusal is the caller's to see.
      if (e instanceof RestoringError) return;
      throw e;
    }
  }

  /**
   * One request with the whole body; the SDK reports its upload, so a stall is timed
   * like a missing answer. The body's MD5 goes with it as the request's Content-MD5
   * (transactional: the service checks the bytes that arrived against it and refuses
   * a damaged body, Corrupt, instead of storing it; the blob's own Content-MD5
   * property would only be stored, never checked).
   */
  private async uploadWhole(
    blob: BlockBlobClient, data: Buffer, options: { blobHTTPHeaders?: BlobHTTPHeaders; metadata?: Record<string, string>; tier?: string }, signal: AbortSignal | undefined,
  ): Promise<PutResult> {
    const watch = new RequestWatch(this.timeouts, `put ${blob.name}`, signal);
    // upload() passes transactionalContentMD5 on (as stageBlock does), though its options type omits it.
    // A body in shared memory (a cell) is hashed off the event loop (digest-thread.ts).
    const checked = { ...options, transactionalContentMD5: Buffer.from((await digestThread.digests(data, ['md5'])).md5!, 'base64') };
    try {
      const out = await watch.response(
        (abortSignal) => blob.upload(data, data.length, { ...checked, abortSignal, onProgress: () => watch.progress() }),
        { upload: 'reported' },
      );
      return { etag: out.etag ?? '', size: data.length };
    } finally {
      watch.done();
    }
  }

  private async putBlocks(
    blob: BlockBlobClient,
    body: Buffer | Readable,
    common: { blobHTTPHeaders?: BlobHTTPHeaders },
    metadata: () => Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<PutResult> {
    // Look one part ahead: a stream that fits in one part goes up in one request,
    // because Azure refuses an empty staged block and one request is cheaper anyway.
    const source = parts(body, growingPartSize(this.opts.partSize, this.limits))[Symbol.asyncIterator]();
    const first = await source.next();
    const second = await source.next();
    if (second.done) {
      return this.uploadWhole(blob, first.value as Buffer, { ...common, metadata: metadata() }, signal);
    }
    async function* all(): AsyncGenerator<Buffer> {
      try {
        yield first.value as Buffer;
        yield second.value as Buffer;
        for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
      } finally {
        await source.return(undefined); // stops reading a stream once a block failed
      }
    }
    const ids: string[] = [];
    let size = 0;
    await forEachBounded(all(), this.opts.partConcurrency, async (part, index, siblings) => {
      // Block ids must all have the same length within a blob.
      const id = Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
      ids[index] = id;
      size += part.length;
      // Ends with the caller's signal, or at once when another block failed.
      const watch = new RequestWatch(this.timeouts, `put ${blob.name} block ${index}`, signal ? AbortSignal.any([signal, siblings]) : siblings);
      try {
        await watch.response(
          // The block's MD5: the service refuses a block damaged on the way (Corrupt) instead of committing it.
          (abortSignal) => blob.stageBlock(id, part, part.length, { abortSignal, transactionalContentMD5: md5(part), onProgress: () => watch.progress() }),
          { upload: 'reported' },
        );
      } finally {
        watch.done();
      }
    });
    const out = await watched(this.timeouts, `put ${blob.name}`, signal, (abortSignal) =>
      blob.commitBlockList(ids, { ...common, metadata: metadata(), abortSignal }));
    return { etag: out.etag ?? '', size };
  }

  private async fetch(key: string, opts: GetOptions): Promise<Fetched> {
    const asked = opts.range;
    checkKey(key);
    checkRange(asked);
    if (asked && asked.length === 0) {
      const meta = await this.head(key, opts);
      if (meta.archive?.state === 'restoring') throw new RestoringError(key, meta.archive.expectedBy ? { expectedBy: meta.archive.expectedBy } : {});
      if (meta.archived) throw new ArchivedError(key);
      return { meta, range: clipRange(asked, meta.size) };
    }
    const watch = new RequestWatch(this.timeouts, `get ${key}`, opts.signal);
    let out: BlobDownloadResponseParsed;
    try {
      out = await watch.response((abortSignal) =>
        // maxRetryRequests 0: the SDK would otherwise re-request a body that broke off, up to 5 times, untimed.
        this.container.getBlockBlobClient(key).download(asked?.offset ?? 0, asked?.length, { abortSignal, maxRetryRequests: 0 }));
    } catch (err) {
      watch.done();
      // A range that starts at or past the end: Azure answers 416, object_store answers with nothing.
      if (err instanceof azureSdk().RestError && err.statusCode === 416) {
        const meta = await this.head(key, opts);
        return { meta, range: clipRange(asked, meta.size) };
      }
      const e = this.error(err, `get ${key}`, key);
      // BlobArchived does not say whether a rehydration is under way; the head does.
      if (e instanceof ArchivedError) throw await archivedState(e, key, () => this.head(key, opts));
      throw e;
    }
    const total = out.contentRange ? Number(out.contentRange.split('/')[1]) : (out.contentLength ?? 0);
    const meta: ObjectMeta = {
      key,
      size: total,
      etag: out.etag ?? '',
      lastModified: out.lastModified ?? new Date(0),
      metadata: out.metadata ?? {},
    };
    const body = out.readableStreamBody ? watch.body(out.readableStreamBody as Readable) : undefined;
    if (!body) watch.done();
    return { ...(body ? { body } : {}), meta, range: clipRange(asked, total) };
  }

  private error(err: unknown, what: string, key: string): Error {
    if (err instanceof ObjectStoreError || isCallerAbort(err)) return err as Error;
    const e = err as {
      statusCode?: number; code?: unknown; name?: string; message?: string; response?: { headers?: { get?: (h: string) => string | undefined } };
    };
    // A HEAD answer has no body: its code is only in the x-ms-error-code header.
    const code = typeof e.code === 'string' ? e.code : (e.response?.headers?.get?.('x-ms-error-code') ?? e.name);
    const facts: ErrorFacts = {
      ...(typeof e.statusCode === 'number' ? { status: e.statusCode } : {}),
      ...(code ? { code } : {}),
      message: (e.message ?? String(err)).split('\n')[0]!,
    };
    // A refusal names the credential that was refused, and when a SAS ran out.
    if (facts.status === 403 || facts.status === 401 || /Credential|AuthenticationError/.test(facts.code ?? '')) {
      facts.message = `${facts.message ?? ''} [credential: ${describeCredential(this.opts)}]`;
    }
    // Not the RestError itself as the cause: it carries the request, whose URL may hold a SAS token.
    const cause = err instanceof azureSdk().RestError ? Object.assign(new Error(facts.message), { code: facts.code, statusCode: facts.status }) : err;
    return typedError(classify(AZURE_ERRORS, facts), facts, what, key, this.opts.container, cause);
  }

}

/** Azure's documented rehydration times: up to 15 hours at Standard priority, under an hour at High (for blobs under 10 GiB). */
const REHYDRATION_HOURS = { Standard: 15, High: 1 };

/**
 * The archive state of a blob's properties: in the Archive tier, or being rehydrated
 * out of it (archiveStatus "rehydrate-pending-to-…", the tier still Archive), with
 * the documented bound of its priority from when the tier change was asked.
 */
export function azureArchiveState(p: {
  accessTier?: string; archiveStatus?: string; rehydratePriority?: string; accessTierChangedOn?: Date;
}): ArchiveState | undefined {
  if (p.archiveStatus?.startsWith('rehydrate-pending-to-')) {
    const hours = REHYDRATION_HOURS[p.rehydratePriority === 'High' ? 'High' : 'Standard'];
    const since = p.accessTierChangedOn;
    return { state: 'restoring', ...(since ? { expectedBy: new Date(since.getTime() + hours * 3_600_000) } : {}) };
  }
  return p.accessTier === ARCHIVE ? { state: 'archived' } : undefined;
}
