// The one interface every object-store backend implements, modelled on the Rust
// `object_store` crate: a handful of async methods, byte ranges first, listing as a
// stream. It knows nothing of stripes or tiers.
//
// Every method is idempotent (as JuiceFS requires of its object interface): calling it
// again after a lost response leaves the store in the same state. That is what lets
// the retry wrapper repeat a put of a Buffer, a get, a head, a delete or a list.
import type { Readable } from 'node:stream';

/** A byte range of an object. A range that runs past the end yields what exists, possibly nothing. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** What a store knows about one object. */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Opaque version tag; changes when the object is overwritten. */
  etag: string;
  lastModified: Date;
  /** The backend's own name for the storage class or access tier, when it has one. */
  storageClass?: string;
  /** True while the object sits in an archive class and must be restored before a get (state archived or restoring). */
  archived?: boolean;
  /** For objects in an archive class or tier: where their restore stands. */
  archive?: ArchiveState;
  /** User metadata recorded at put. Keys are lower-case letters and digits (see checkMetadata). */
  metadata: Record<string, string>;
}

/**
 * Where an archived object stands: archived (a restore must be started), restoring
 * (started; `expectedBy` when the cloud documents how long it takes), or restored (a
 * readable copy, until `until` when the cloud keeps it only for a while).
 */
export type ArchiveState =
  | { state: 'archived' }
  | { state: 'restoring'; expectedBy?: Date }
  | { state: 'restored'; until?: Date };

/** One entry of a listing. */
export interface ListEntry {
  key: string;
  size: number;
  etag?: string;
  lastModified: Date;
}

/**
 * What every call takes. A call whose signal aborts ends at once, also in the middle of
 * a request or a body, and rejects with the signal's reason (an AbortError unless the
 * caller gave another); the store does not retry it.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface PutOptions extends CallOptions {
  /** Backend-specific class or tier, one of `limits.storageClasses` (S3 "GLACIER", Azure "Cool", GCS "NEARLINE"). */
  storageClass?: string;
  /** User metadata known before the body is sent. */
  metadata?: Record<string, string>;
  /**
   * Metadata that can only be known once the whole body was read (a checksum of a
   * stream). Stores with `limits.metadataAfterBody` record it with the object; the
   * others ignore it.
   */
  metadataAfterBody?: () => Record<string, string>;
  contentType?: string;
}

export interface PutResult {
  etag: string;
  size: number;
}

export interface GetOptions extends CallOptions {
  range?: ByteRange;
}

export interface GetResult {
  data: Buffer;
  /** The whole object's metadata (size is the object's size, not the range's). */
  meta: ObjectMeta;
  /** The range actually returned: the asked range clipped to the object. */
  range: ByteRange;
}

export interface GetStreamResult {
  stream: Readable;
  meta: ObjectMeta;
  range: ByteRange;
}

export interface ListOptions extends CallOptions {
  /** Entries per request to the backend; small values make paging testable. */
  pageSize?: number;
}

export interface RestoreOptions extends CallOptions {
  /** Days a restored copy stays readable (S3); ignored elsewhere. */
  days?: number;
  /**
   * "Standard" | "Bulk" | "Expedited" on S3, "Standard" | "High" on Azure. S3 falls back
   * to Standard when Expedited capacity is not available.
   */
  priority?: string;
  /** Azure: the tier to rehydrate to (default "Hot"). */
  targetClass?: string;
}

/** What a backend can and cannot do, as data, so callers need no special cases. */
export interface StoreLimits {
  /** Smallest and largest part of a multipart upload, and the most parts. */
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
  /** Values accepted as `PutOptions.storageClass`; empty when the backend has none. */
  storageClasses: readonly string[];
  /** Classes whose objects must be restored before they can be read. */
  archiveClasses: readonly string[];
  /** Whether `PutOptions.metadataAfterBody` is recorded. */
  metadataAfterBody: boolean;
  /** Whether parts of one large upload travel in parallel. */
  parallelParts: boolean;
  /** Keys one delete request may name (S3's DeleteObjects: 1000; 1: a request per key). */
  keysPerDelete: number;
}

export interface ObjectStore {
  /** Backend name for metrics and logs: "s3", "azure", "gcs", "fs", "memory". */
  readonly backend: string;
  readonly limits: StoreLimits;

  /**
   * Writes the whole object, replacing any previous one. Above the store's multipart
   * threshold the body travels in parts. A Buffer put is idempotent; a stream can be
   * consumed once, so a failed stream put is never retried.
   */
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<PutResult>;
  /** The whole object or a range of it, in memory. */
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  /** The whole object or a range of it as a stream; integrity errors surface as a stream error. */
  getStream(key: string, opts?: GetOptions): Promise<GetStreamResult>;
  head(key: string, opts?: CallOptions): Promise<ObjectMeta>;
  /** Removes the object; a missing key is not an error. */
  delete(key: string, opts?: CallOptions): Promise<void>;
  /**
   * Removes every object named (missing ones are not an error), in as few requests as the
   * store allows: S3 takes a thousand keys a request, the others one (several in flight).
   * A failure may leave some of them removed; a repeat finishes the rest.
   */
  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void>;
  /** Every object whose key starts with `prefix`, in ascending byte order of keys, fetched page by page. */
  list(prefix?: string, opts?: ListOptions): AsyncIterable<ListEntry>;
  /**
   * Makes an archived object readable again (S3 Glacier restore, Azure rehydration).
   * Starting a restore that is under way is not an error; on backends without
   * archive classes this only checks that the object exists.
   */
  restore(key: string, opts?: RestoreOptions): Promise<void>;
}

export type ObjectStoreOp = 'put' | 'get' | 'head' | 'delete' | 'list' | 'restore';
