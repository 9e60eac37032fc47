// S3 multipart uploads, without the SDK's lib-storage, because an upload that fails
// must not keep costing money: with lib-storage the other parts went on uploading
// after one failed, the abort of the upload got one try (a network outage left its
// parts stored and billed), and the part size never grew to respect S3's 10,000 parts.
// Here the first failure aborts the parts in flight and starts no more, the abort of
// the upload is retried with backoff (a missing upload counts as aborted), and part
// sizes grow with the body (growingPartSize). Whatever still escapes (a crash
// mid-upload) is for the bucket's lifecycle rule: see docs/OPERATIONS.md.
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { CompletedPart, PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { lazyModule } from './lazy-sdk.js';
import type { Readable } from 'node:stream';
import { crc32 } from '../ec/crc32.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachBounded, growingPartSize, md5, parts } from './body.js';
import { isRetryable, NotFoundError } from './errors.js';
import { watched, type RequestTimeouts } from './timeouts.js';
import { moduleLogger } from '../log.js';
import type { PutResult, StoreLimits } from './types.js';

/** @aws-sdk/client-s3, loaded when the first store of this kind is made (lazy-sdk.ts). */
const s3Sdk = lazyModule<typeof S3Sdk>('@aws-sdk/client-s3');

export interface MultipartUpload {
  client: S3Client;
  /** Bucket, Key and what the object gets: metadata, class, content type. */
  params: Omit<PutObjectCommandInput, 'Body' | 'ContentLength'>;
  partSize: number;
  partConcurrency: number;
  limits: Pick<StoreLimits, 'maxParts' | 'maxPartSize'>;
  /**
   * Send CRC-32s (the client's "when_supported" checksums): one per part, and the
   * whole object's, computed on the way, as a FULL_OBJECT checksum. S3 checks each
   * part and the whole as it assembles them, and a GET of the object returns that
   * checksum, which the client verifies (a multipart upload's default, COMPOSITE
   * checksum is skipped on GET). Without them, each part's MD5 (Content-MD5), which S3
   * checks as the part arrives.
   */
  checksums: boolean;
  timeouts: RequestTimeouts;
  signal?: AbortSignal;
  /** The adapter's error mapping, so that failures here are classed like every other. */
  mapError: (err: unknown, what: string) => Error;
}

/** How the abort of a failed upload is retried: it runs after the caller's call failed, so it has its own small budget. */
export const ABORT_ATTEMPTS = 5;
const ABORT_BASE_DELAY_MS = 200;

const log = moduleLogger('objectstore');

/** Uploads `body` in parts (one PutObject when it fits in one part). */
export async function uploadInParts(u: MultipartUpload, body: Buffer | Readable): Promise<PutResult> {
  const key = u.params.Key!;
  const source = parts(body, growingPartSize(u.partSize, u.limits))[Symbol.asyncIterator]();
  // Look one part ahead: a body that fits in one part goes up in one request.
  const first = await source.next();
  const second = await source.next();
  if (second.done) {
    const only = first.value as Buffer;
    const out = await watched(u.timeouts, `put ${key}`, u.signal, (abortSignal) =>
      u.client.send(new (s3Sdk().PutObjectCommand)({ ...u.params, Body: only, ContentLength: only.length }), { abortSignal }),
    { upload: 'unreported' }).catch((err: unknown) => { throw u.mapError(err, `put ${key}`); });
    return { etag: out.ETag ?? '', size: only.length };
  }

  let created;
  try {
    created = await watched(u.timeouts, `put ${key} create`, u.signal, (abortSignal) =>
      u.client.send(new (s3Sdk().CreateMultipartUploadCommand)({
        ...u.params, ...(u.checksums ? { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' } : {}),
      }), { abortSignal }));
  } catch (err) {
    await source.return(undefined);
    throw u.mapError(err, `put ${key}`);
  }
  const uploadId = created.UploadId!;
  const done: CompletedPart[] = [];
  let size = 0;
  let wholeCrc = 0; // parts are taken in order, so the running CRC is the whole body's
  try {
    async function* all(): AsyncGenerator<Buffer> {
      const counted = (part: Buffer) => {
        if (u.checksums) wholeCrc = crc32(part, wholeCrc);
        return part;
      };
      try {
        yield counted(first.value as Buffer);
        yield counted(second.value as Buffer);
        for (let next = await source.next(); !next.done; next = await source.next()) yield counted(next.value);
      } finally {
        await source.return(undefined); // stops reading a stream once a part failed
      }
    }
    await forEachBounded(all(), u.partConcurrency, async (part, index, siblings) => {
      if (index >= u.limits.maxParts) throw new Error(`more than ${u.limits.maxParts} parts`);
      size += part.length;
      const signal = u.signal ? AbortSignal.any([u.signal, siblings]) : siblings;
      const out = await watched(u.timeouts, `put ${key} part ${index + 1}`, signal, (abortSignal) =>
        u.client.send(new (s3Sdk().UploadPartCommand)({
          Bucket: u.params.Bucket, Key: key, UploadId: uploadId, PartNumber: index + 1, Body: part, ContentLength: part.length,
          ...(u.checksums ? { ChecksumAlgorithm: 'CRC32' as const } : { ContentMD5: md5(part).toString('base64') }),
        }), { abortSignal }),
      { upload: 'unreported' });
      done.push({ PartNumber: index + 1, ETag: out.ETag!, ...(out.ChecksumCRC32 ? { ChecksumCRC32: out.ChecksumCRC32 } : {}) });
    });
    done.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const out = await watched(u.timeouts, `put ${key} complete`, u.signal, (abortSignal) =>
      u.client.send(new (s3Sdk().CompleteMultipartUploadCommand)({
        Bucket: u.params.Bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done },
        ...(u.checksums ? { ChecksumCRC32: crc32Base64(wholeCrc), ChecksumType: 'FULL_OBJECT' as const } : {}),
      }), { abortSignal }));
    return { etag: out.ETag ?? '', size };
  } catch (err) {
    const failure = u.mapError(err, `put ${key}`);
    const cleanup = abortUpload(u, uploadId);
    // A caller that gave up is answered at once; otherwise the caller learns of the
    // failure only once its parts are gone (or the abort gave up and said so).
    if (u.signal?.aborted) void cleanup;
    else await cleanup;
    throw failure;
  }
}

/** A CRC-32 as S3 writes it: the big-endian value in base64. */
export function crc32Base64(crc: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc >>> 0);
  return out.toString('base64');
}

/** Aborts an upload, retried with backoff; never throws (a failure is logged with the upload's id). */
export async function abortUpload(u: Pick<MultipartUpload, 'client' | 'params' | 'timeouts' | 'mapError'>, uploadId: string): Promise<void> {
  const key = u.params.Key!;
  for (let attempt = 1; ; attempt++) {
    try {
      await watched(u.timeouts, `abort upload of ${key}`, undefined, (abortSignal) =>
        u.client.send(new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: u.params.Bucket, Key: key, UploadId: uploadId }), { abortSignal }));
      return;
    } catch (err) {
      const e = u.mapError(err, `abort upload of ${key}`);
      if (e instanceof NotFoundError) return; // NoSuchUpload: aborted (or completed) already
      if (!isRetryable(e) || attempt >= ABORT_ATTEMPTS) {
        log.warn(
          { bucket: u.params.Bucket, key, uploadId, attempts: attempt, err: e.message },
          'could not abort a failed multipart upload; its parts stay stored (and billed) until the bucket lifecycle rule removes them',
        );
        return;
      }
      await sleep(ABORT_BASE_DELAY_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
    }
  }
}
