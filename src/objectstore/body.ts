// Helpers for bodies that are either a Buffer or a stream: collecting, cutting into
// parts, counting. Shared by the adapters so each stays a thin translation of its SDK.
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { ByteRange, GetResult, GetStreamResult, ObjectMeta } from './types.js';

/** The body's MD5, for the stores that check a request's body against one (Azure's transactional MD5, S3's Content-MD5). */
export function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** Reads a whole stream into one Buffer. */
export async function collect(stream: NodeJS.ReadableStream | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * The size of part `index` (from 0) of an upload whose length is not known up front:
 * `base`, doubled every sixteenth of the store's part limit, up to its largest part.
 * A store's part limit then never cuts an upload short (S3: 10,000 parts of 5 MiB
 * doubling every 625 parts hold 18 TiB, past S3's largest object), while objects of
 * a few GiB keep the configured size.
 */
export function growingPartSize(base: number, limits: { maxParts: number; maxPartSize: number }): (index: number) => number {
  const step = Math.max(1, Math.floor(limits.maxParts / 16));
  return (index) => Math.min(limits.maxPartSize, base * 2 ** Math.floor(index / step));
}

/**
 * The body cut into parts of `partSize` bytes, or of `partSize(index)` bytes for part
 * `index` (the last may be shorter; an empty body gives one empty part). A stream is
 * read only as fast as parts are taken, so memory stays at about one part plus what
 * the consumer holds.
 */
export async function* parts(body: Buffer | Readable, partSize: number | ((index: number) => number)): AsyncGenerator<Buffer> {
  const sizeOf = typeof partSize === 'number' ? () => partSize : partSize;
  let index = 0;
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) yield body;
    for (let at = 0; at < body.length; ) {
      const size = sizeOf(index++);
      yield body.subarray(at, at + size);
      at += size;
    }
    return;
  }
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let yielded = false;
  let size = sizeOf(index);
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let rest = chunk;
    while (pendingBytes + rest.length >= size) {
      const take = size - pendingBytes;
      pending.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      yield Buffer.concat(pending, size);
      yielded = true;
      pending = [];
      pendingBytes = 0;
      size = sizeOf(++index);
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0 || !yielded) yield Buffer.concat(pending, pendingBytes);
}

/**
 * Runs `work` on each item of `items` with at most `limit` in flight, in order of
 * arrival; the first failure stops taking new items, aborts the signal the others got
 * (so parts in flight end at once instead of being sent in vain) and is thrown once
 * they settle.
 */
export async function forEachBounded<T>(
  items: AsyncIterable<T>,
  limit: number,
  work: (item: T, index: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const siblings = new AbortController();
  let failure: { err: unknown } | undefined;
  let index = 0;
  for await (const item of items) {
    if (failure) break;
    const p: Promise<void> = work(item, index++, siblings.signal).then(
      () => { inFlight.delete(p); },
      (err: unknown) => {
        inFlight.delete(p);
        if (failure) return;
        failure = { err };
        siblings.abort(new Error('another part of this upload failed'));
      },
    );
    inFlight.add(p);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.err;
}

/** A pass-through stream that calls `onChunk` for every chunk and `onEnd` before it ends; `onEnd` may fail the stream. */
export function tap(onChunk: (chunk: Buffer) => void, onEnd: () => Error | undefined = () => undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      onChunk(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      done(onEnd() ?? null);
    },
  });
}

/**
 * `source` piped through `transform`: an error on either side destroys both, so the
 * reader sees the source's failure and a reader that gives up releases the source.
 */
export function through(source: Readable, transform: Transform): Readable {
  return pipeline(source, transform, () => {
    // Errors are already delivered to the reader by the destroyed transform.
  });
}

export function emptyStream(): Readable {
  return Readable.from([]);
}

/**
 * `source` as a stream whose errors are first passed through `mapError`, so a reader
 * of any backend sees the same typed errors mid-stream as at the start.
 */
export function mapStreamErrors(source: Readable, mapError: (err: unknown) => Error): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  source.on('error', (err) => out.destroy(mapError(err)));
  out.on('close', () => {
    if (!source.readableEnded && !source.destroyed) source.destroy();
  });
  return source.pipe(out);
}

/** A body fetched by an adapter: absent for an empty object, with the object's metadata and the range served. */
export interface Fetched {
  body?: Readable;
  meta: ObjectMeta;
  range: ByteRange;
}

/** The whole of a fetched body in memory; failures while reading it go through mapError. */
export async function fetchedBytes(f: Fetched, mapError: (err: unknown) => Error): Promise<GetResult> {
  try {
    return { data: f.body ? await collect(f.body) : Buffer.alloc(0), meta: f.meta, range: f.range };
  } catch (err) {
    throw mapError(err);
  }
}

/** A fetched body as a stream whose errors are mapped as they happen. */
export function fetchedStream(f: Fetched, mapError: (err: unknown) => Error): GetStreamResult {
  return { stream: f.body ? mapStreamErrors(f.body, mapError) : emptyStream(), meta: f.meta, range: f.range };
}
