// The Azure Blob backend (block blobs). Large bodies are staged as blocks, several in
// flight, and committed with one block list, which also carries metadata known only
// after a streamed body. Retries are left to the retry wrapper: the client tries once.
import {
  BlobServiceClient, RestError, StorageSharedKeyCredential, type BlobDownloadResponseParsed, type BlockBlobClient,
  type ContainerClient,
} from '@azure/storage-blob';
import type { Readable } from 'node:stream';
import { type Fetched, fetchedBytes, fetchedStream, forEachBounded, parts } from './body.js';
import { ArchivedError, FatalError, NotFoundError, ObjectStoreError, errorFromStatus } from './errors.js';
import { checkKey, checkMetadata, checkRange, clipRange } from './keys.js';
import type {
  ByteRange, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, PutOptions,
  PutResult, RestoreOptions, StoreLimits,
} from './types.js';

export interface AzureClientOptions {
  container: string;
  /** A full connection string (includes the key or a SAS); or accountUrl with accountName + accountKey; or a SAS URL as accountUrl. */
  connectionString?: string;
  accountUrl?: string;
  accountName?: string;
  accountKey?: string;
}

export interface AzureStoreOptions extends AzureClientOptions {
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
  listPageSize: number;
}

const ARCHIVE = 'Archive';

/** The container client the store uses; exported so a benchmark can call the SDK directly with the same settings. */
export function createAzureContainerClient(opts: AzureClientOptions): ContainerClient {
  const clientOptions = { retryOptions: { maxTries: 1 } };
  let service: BlobServiceClient;
  if (opts.connectionString) {
    service = BlobServiceClient.fromConnectionString(opts.connectionString, clientOptions);
  } else if (opts.accountUrl && opts.accountName && opts.accountKey) {
    service = new BlobServiceClient(
      opts.accountUrl, new StorageSharedKeyCredential(opts.accountName, opts.accountKey), clientOptions,
    );
  } else if (opts.accountUrl) {
    service = new BlobServiceClient(opts.accountUrl, undefined, clientOptions); // SAS in the URL
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
  };
  readonly container: ContainerClient;

  constructor(private readonly opts: AzureStoreOptions) {
    this.container = createAzureContainerClient(opts);
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
        const out = await blob.upload(body, body.length, { ...common, metadata: metadata() });
        return { etag: out.etag ?? '', size: body.length };
      }
      return await this.putBlocks(blob, body, common, metadata);
    } catch (err) {
      throw this.error(err, `put ${key}`, key);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    return fetchedBytes(await this.fetch(key, opts.range), (err) => this.error(err, `get ${key}`, key));
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    return fetchedStream(await this.fetch(key, opts.range), (err) => this.error(err, `get ${key}`, key));
  }

  async head(key: string): Promise<ObjectMeta> {
    checkKey(key);
    try {
      const p = await this.container.getBlockBlobClient(key).getProperties();
      return {
        key,
        size: p.contentLength ?? 0,
        etag: p.etag ?? '',
        lastModified: p.lastModified ?? new Date(0),
        storageClass: p.accessTier,
        // A blob being rehydrated stays in Archive (archiveStatus "rehydrate-pending-to-…") until done.
        archived: p.accessTier === ARCHIVE,
        metadata: p.metadata ?? {},
      };
    } catch (err) {
      throw this.error(err, `head ${key}`, key);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.container.getBlockBlobClient(key).deleteIfExists();
    } catch (err) {
      throw this.error(err, `delete ${key}`, key);
    }
  }

  async *list(prefix = '', opts: ListOptions = {}): AsyncIterable<ListEntry> {
    const pages = this.container.listBlobsFlat({ prefix }).byPage({ maxPageSize: opts.pageSize ?? this.opts.listPageSize });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (err) {
        throw this.error(err, `list ${prefix}`, prefix);
      }
      if (page.done) return;
      for (const b of page.value.segment.blobItems) {
        yield { key: b.name, size: b.properties.contentLength ?? 0, etag: b.properties.etag, lastModified: b.properties.lastModified };
      }
    }
  }

  async restore(key: string, opts: RestoreOptions = {}): Promise<void> {
    const meta = await this.head(key);
    if (!meta.archived) return;
    try {
      await this.container.getBlockBlobClient(key).setAccessTier(opts.targetClass ?? 'Hot', {
        rehydratePriority: opts.priority === 'High' ? 'High' : 'Standard',
      });
    } catch (err) {
      // Asking again while a rehydration runs is refused with 409; the restore is under way.
      if (err instanceof RestError && err.statusCode === 409) return;
      throw this.error(err, `restore ${key}`, key);
    }
  }

  private async putBlocks(
    blob: BlockBlobClient,
    body: Buffer | Readable,
    common: object,
    metadata: () => Record<string, string>,
  ): Promise<PutResult> {
    // Look one part ahead: a stream that fits in one part goes up in one request,
    // because Azure refuses an empty staged block and one request is cheaper anyway.
    const source = parts(body, this.opts.partSize)[Symbol.asyncIterator]();
    const first = await source.next();
    const second = await source.next();
    if (second.done) {
      const only = first.value as Buffer;
      const out = await blob.upload(only, only.length, { ...common, metadata: metadata() });
      return { etag: out.etag ?? '', size: only.length };
    }
    async function* all(): AsyncGenerator<Buffer> {
      yield first.value as Buffer;
      yield second.value as Buffer;
      for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
    }
    const ids: string[] = [];
    let size = 0;
    await forEachBounded(all(), this.opts.partConcurrency, async (part, index) => {
      // Block ids must all have the same length within a blob.
      const id = Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
      ids[index] = id;
      size += part.length;
      await blob.stageBlock(id, part, part.length);
    });
    const out = await blob.commitBlockList(ids, { ...common, metadata: metadata() });
    return { etag: out.etag ?? '', size };
  }

  private async fetch(key: string, asked: ByteRange | undefined): Promise<Fetched> {
    checkKey(key);
    checkRange(asked);
    if (asked && asked.length === 0) {
      const meta = await this.head(key);
      if (meta.archived) throw new ArchivedError(key);
      return { meta, range: clipRange(asked, meta.size) };
    }
    let out: BlobDownloadResponseParsed;
    try {
      out = await this.container.getBlockBlobClient(key).download(asked?.offset ?? 0, asked?.length);
    } catch (err) {
      // A range that starts at or past the end: Azure answers 416, object_store answers with nothing.
      if (err instanceof RestError && err.statusCode === 416) {
        const meta = await this.head(key);
        return { meta, range: clipRange(asked, meta.size) };
      }
      throw this.error(err, `get ${key}`, key);
    }
    const total = out.contentRange ? Number(out.contentRange.split('/')[1]) : (out.contentLength ?? 0);
    const meta: ObjectMeta = {
      key,
      size: total,
      etag: out.etag ?? '',
      lastModified: out.lastModified ?? new Date(0),
      metadata: out.metadata ?? {},
    };
    return { body: out.readableStreamBody as Readable | undefined, meta, range: clipRange(asked, total) };
  }

  private error(err: unknown, what: string, key: string): ObjectStoreError {
    if (err instanceof ObjectStoreError) return err;
    if (err instanceof RestError) {
      if (err.code === 'BlobNotFound' || (err.statusCode === 404 && err.code !== 'ContainerNotFound')) {
        return new NotFoundError(key, { cause: err });
      }
      if (err.code === 'BlobArchived') return new ArchivedError(key, { cause: err });
      // Redact: RestError carries the request, whose URL may hold a SAS token.
      const safe = Object.assign(new Error(`${err.code ?? 'error'} (HTTP ${err.statusCode ?? '-'}): ${err.message.split('\n')[0]}`), {
        code: err.code,
      });
      return errorFromStatus(err.statusCode, what, safe);
    }
    return errorFromStatus(undefined, what, err);
  }
}
