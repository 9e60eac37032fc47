// An object store in a Map: for tests and for the simulator. It behaves like the
// network backends (paged listing in byte order, archive classes that need a restore)
// so code tested against it meets no surprise elsewhere.
import { deleteEach } from './delete-many.js';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { collect } from './body.js';
import { ArchivedError, FatalError, NotFoundError } from './errors.js';
import { checkKey, checkMetadata, checkRange, clipRange, compareKeys } from './keys.js';
import type {
  CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, PutOptions, PutResult,
  StoreLimits,
} from './types.js';

export interface MemoryStoreOptions {
  listPageSize?: number;
}

interface StoredObject {
  data: Buffer;
  meta: ObjectMeta;
}

const ARCHIVE = 'ARCHIVE';

export class MemoryStore implements ObjectStore {
  readonly backend = 'memory';
  readonly limits: StoreLimits = {
    minPartSize: 0,
    maxPartSize: Number.MAX_SAFE_INTEGER,
    maxParts: 1,
    storageClasses: ['STANDARD', ARCHIVE],
    archiveClasses: [ARCHIVE],
    metadataAfterBody: true,
    parallelParts: false,
    keysPerDelete: 1,
  };
  private readonly objects = new Map<string, StoredObject>();
  private readonly pageSize: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.pageSize = opts.listPageSize ?? 1000;
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    checkMetadata(opts.metadata);
    if (opts.storageClass !== undefined && !this.limits.storageClasses.includes(opts.storageClass)) {
      throw new FatalError(`memory store has no storage class ${opts.storageClass}`);
    }
    // Copy a Buffer: the caller may reuse it, and the store must keep what was put.
    const data = Buffer.isBuffer(body) ? Buffer.from(body) : await collect(body);
    const metadata = { ...opts.metadata, ...opts.metadataAfterBody?.() };
    checkMetadata(metadata);
    const etag = randomUUID();
    this.objects.set(key, {
      data,
      meta: {
        key, size: data.length, etag, lastModified: new Date(), metadata,
        storageClass: opts.storageClass ?? 'STANDARD',
        archived: opts.storageClass === ARCHIVE,
        ...(opts.storageClass === ARCHIVE ? { archive: { state: 'archived' as const } } : {}),
      },
    });
    return { etag, size: data.length };
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const obj = this.readable(key, opts);
    const range = clipRange(opts.range, obj.data.length);
    return { data: Buffer.from(obj.data.subarray(range.offset, range.offset + range.length)), meta: { ...obj.meta }, range };
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    const { data, meta, range } = await this.get(key, opts);
    return { stream: Readable.from([data]), meta, range };
  }

  async head(key: string): Promise<ObjectMeta> {
    checkKey(key);
    const obj = this.objects.get(key);
    if (!obj) throw new NotFoundError(key);
    return { ...obj.meta };
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.objects.delete(key);
  }

  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void> {
    return deleteEach(this, keys, opts);
  }

  async *list(prefix = '', opts: ListOptions = {}): AsyncIterable<ListEntry> {
    const pageSize = opts.pageSize ?? this.pageSize;
    let after: string | undefined;
    for (;;) {
      // One page at a time from a fresh snapshot, as a server would serve it: keys
      // added or removed between pages show up or vanish like they do on S3.
      const page = [...this.objects.keys()]
        .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
        .sort(compareKeys)
        .slice(0, pageSize);
      for (const key of page) {
        const meta = this.objects.get(key)?.meta;
        if (meta) yield { key, size: meta.size, etag: meta.etag, lastModified: meta.lastModified };
      }
      if (page.length < pageSize) return;
      after = page[page.length - 1];
    }
  }

  async restore(key: string): Promise<void> {
    checkKey(key);
    const obj = this.objects.get(key);
    if (!obj) throw new NotFoundError(key);
    // Restored at once, for good (like an Intelligent-Tiering object).
    obj.meta.archived = false;
    delete obj.meta.archive;
  }

  private readable(key: string, opts: GetOptions): StoredObject {
    checkKey(key);
    checkRange(opts.range);
    const obj = this.objects.get(key);
    if (!obj) throw new NotFoundError(key);
    if (obj.meta.archived) throw new ArchivedError(key);
    return obj;
  }
}
