// Corrupt bodies are detected, never returned as data. This wrapper records a CRC-32
// of every body it puts as object metadata and checks it on every whole-object get;
// the length of every get, ranged or not, is checked against what the store said the
// object holds. A mismatch is a CorruptDataError (Transient, so the retry wrapper
// above reads again). CRC-32 and not MD5: it runs at several GB/s here (ec/crc32.ts), MD5 at
// about 0.7 GB/s, which would cost more than the 5% this layer may add to the SDK.
//
// Streamed puts carry the CRC only on stores that take metadata after the body
// (limits.metadataAfterBody: fs, memory, Azure, GCS). On S3 a streamed multipart
// upload carries the whole object's CRC-32 as S3's own FULL_OBJECT checksum instead
// (s3-multipart.ts), which the client verifies on a whole GET; with checksums
// "when_required" (stores that refuse them) such objects are checked by length only.
// Damage on the way up is caught by the adapters before an object is kept (Azure's
// MD5 per request, GCS's hash check, S3's part checksums). Ranged gets are checked by
// length only; the object tier's cells carry their own checksums for that.
import type { Readable } from 'node:stream';
import { crc32 } from '../ec/crc32.js';
import { tap, through } from './body.js';
import { CorruptDataError } from './errors.js';
import { clipRange } from './keys.js';
import type {
  ByteRange, CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, PutOptions,
  PutResult, RestoreOptions,
} from './types.js';

/** The metadata name the CRC is recorded under (lower-case letters and digits, so every backend takes it). */
export const CRC_METADATA = 'tierfscrc32';

const hex = (crc: number) => crc.toString(16).padStart(8, '0');

export class VerifyingStore implements ObjectStore {
  readonly backend: string;
  readonly limits: ObjectStore['limits'];

  /**
   * checksums: false keeps the length checks but neither records nor checks a CRC, for
   * callers whose objects carry checksums of their own (the object tier's cells): one
   * check per byte, not two.
   */
  constructor(
    private readonly inner: ObjectStore,
    private readonly checksums = true,
  ) {
    this.backend = inner.backend;
    this.limits = inner.limits;
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    if (!this.checksums) return this.inner.put(key, body, opts);
    if (Buffer.isBuffer(body)) {
      return this.inner.put(key, body, { ...opts, metadata: { ...opts.metadata, [CRC_METADATA]: hex(crc32(body)) } });
    }
    if (!this.inner.limits.metadataAfterBody) return this.inner.put(key, body, opts);
    let crc = 0;
    const counted = through(body, tap((chunk) => { crc = crc32(chunk, crc); }));
    return this.inner.put(key, counted, {
      ...opts,
      metadataAfterBody: () => ({ ...opts.metadataAfterBody?.(), [CRC_METADATA]: hex(crc) }),
    });
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const result = await this.inner.get(key, opts);
    const expected = expectedRange(key, opts.range, result.meta);
    if (result.data.length !== expected.length) {
      throw new CorruptDataError(`${key}: got ${result.data.length} bytes, expected ${expected.length} (${describe(expected)})`);
    }
    const recorded = this.checksums ? wholeObjectCrc(expected, result.meta) : undefined;
    if (recorded !== undefined && hex(crc32(result.data)) !== recorded) {
      throw new CorruptDataError(`${key}: CRC-32 ${hex(crc32(result.data))} does not match the recorded ${recorded}`);
    }
    return result;
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    const result = await this.inner.getStream(key, opts);
    const expected = expectedRange(key, opts.range, result.meta);
    const recorded = this.checksums ? wholeObjectCrc(expected, result.meta) : undefined;
    let seen = 0;
    let crc = 0;
    // The check runs before the stream ends: a reader gets an error, never a clean end, on a bad body.
    const checked = tap(
      (chunk) => {
        seen += chunk.length;
        if (recorded !== undefined) crc = crc32(chunk, crc);
      },
      () => {
        if (seen !== expected.length) return new CorruptDataError(`${key}: stream gave ${seen} bytes, expected ${expected.length}`);
        if (recorded !== undefined && hex(crc) !== recorded) {
          return new CorruptDataError(`${key}: CRC-32 ${hex(crc)} does not match the recorded ${recorded}`);
        }
        return undefined;
      },
    );
    return { ...result, stream: through(result.stream, checked) };
  }

  head(key: string, opts?: CallOptions): Promise<ObjectMeta> {
    return this.inner.head(key, opts);
  }

  delete(key: string, opts?: CallOptions): Promise<void> {
    return this.inner.delete(key, opts);
  }

  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void> {
    return this.inner.deleteMany(keys, opts);
  }

  list(prefix?: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    return this.inner.list(prefix, opts);
  }

  restore(key: string, opts?: RestoreOptions): Promise<void> {
    return this.inner.restore(key, opts);
  }
}

function expectedRange(key: string, asked: ByteRange | undefined, meta: ObjectMeta): ByteRange {
  if (!Number.isSafeInteger(meta.size) || meta.size < 0) throw new CorruptDataError(`${key}: store reported size ${meta.size}`);
  return clipRange(asked, meta.size);
}

function wholeObjectCrc(range: ByteRange, meta: ObjectMeta): string | undefined {
  return range.offset === 0 && range.length === meta.size ? meta.metadata[CRC_METADATA] : undefined;
}

function describe(range: ByteRange): string {
  return `bytes ${range.offset}+${range.length}`;
}
