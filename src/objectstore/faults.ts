// Fault injection for tests: a store that wraps another and, with the rates given,
// fails calls (Transient, Throttled), delays them, and damages bodies (truncated,
// one byte flipped, or a stream that fails after N bytes). Every choice comes from
// a PRNG seeded by the options, so a failing test fails the same way again.
import { deleteInRequests } from './delete-many.js';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { through } from './body.js';
import { ThrottledError, TransientError } from './errors.js';
import type {
  CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, ObjectStoreOp, PutOptions,
  PutResult, RestoreOptions,
} from './types.js';

export interface FaultOptions {
  seed: number;
  /** Chance that a call fails with TransientError, either before or after it reached the store. */
  errorRate?: number;
  /** Chance that a call fails with ThrottledError before it reaches the store. */
  throttleRate?: number;
  /** Added to every call: a fixed delay, or uniform in [min, max]. */
  latencyMs?: number | [number, number];
  /** Chance that a get body comes back shorter than it should. */
  truncateRate?: number;
  /** Chance that one byte of a get body is flipped. */
  corruptRate?: number;
  /** Streams (get bodies and put sources) fail with TransientError after this many bytes. */
  failAfterBytes?: number;
  /** Which calls are affected; default all. */
  ops?: ObjectStoreOp[];
}

/** mulberry32: small, fast, and good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the fault store did, for tests to assert that faults really happened. */
export interface FaultCounts {
  errors: number;
  throttles: number;
  truncated: number;
  corrupted: number;
  streamFailures: number;
}

export class FaultyStore implements ObjectStore {
  readonly backend: string;
  readonly limits: ObjectStore['limits'];
  readonly injected: FaultCounts = { errors: 0, throttles: 0, truncated: 0, corrupted: 0, streamFailures: 0 };
  private readonly random: () => number;

  constructor(
    private readonly inner: ObjectStore,
    private readonly faults: FaultOptions,
  ) {
    this.backend = inner.backend;
    this.limits = inner.limits;
    this.random = seededRandom(faults.seed);
  }

  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<PutResult> {
    const source = Buffer.isBuffer(body) || !this.applies('put') ? body : this.failingStream(body);
    return this.call('put', () => this.inner.put(key, source, opts));
  }

  async get(key: string, opts?: GetOptions): Promise<GetResult> {
    const result = await this.call('get', () => this.inner.get(key, opts));
    if (!this.applies('get')) return result;
    return { ...result, data: this.damage(result.data) };
  }

  async getStream(key: string, opts?: GetOptions): Promise<GetStreamResult> {
    const result = await this.call('get', () => this.inner.getStream(key, opts));
    if (!this.applies('get')) return result;
    return { ...result, stream: this.damageStream(this.failingStream(result.stream)) };
  }

  head(key: string, opts?: CallOptions): Promise<ObjectMeta> {
    return this.call('head', () => this.inner.head(key, opts));
  }

  delete(key: string, opts?: CallOptions): Promise<void> {
    return this.call('delete', () => this.inner.delete(key, opts));
  }

  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void> {
    return deleteInRequests(this, keys, opts, (batch) => this.call('delete', () => this.inner.deleteMany(batch, opts)));
  }

  restore(key: string, opts?: RestoreOptions): Promise<void> {
    return this.call('restore', () => this.inner.restore(key, opts));
  }

  async *list(prefix?: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    await this.before('list');
    // A listing can also break off between pages: some listings stop after a few entries.
    const breakAfter = this.applies('list') && this.chance(this.faults.errorRate) ? 1 + Math.floor(this.random() * 10) : Infinity;
    let yielded = 0;
    for await (const entry of this.inner.list(prefix, opts)) {
      if (yielded === breakAfter) {
        this.injected.errors++;
        throw new TransientError(`injected fault: listing broke off after ${yielded} entries`);
      }
      yielded++;
      yield entry;
    }
  }

  private applies(op: ObjectStoreOp): boolean {
    return !this.faults.ops || this.faults.ops.includes(op);
  }

  private chance(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.random() < rate;
  }

  private async before(op: ObjectStoreOp): Promise<void> {
    if (!this.applies(op)) return;
    const latency = this.faults.latencyMs;
    if (latency !== undefined) {
      const ms = typeof latency === 'number' ? latency : latency[0] + this.random() * (latency[1] - latency[0]);
      await sleep(ms);
    }
    if (this.chance(this.faults.throttleRate)) {
      this.injected.throttles++;
      throw new ThrottledError(`injected fault: ${op} throttled`);
    }
  }

  /** Fails before the call reaches the store, or after it took effect (the reply was lost): retries must cope with both. */
  private async call<T>(op: ObjectStoreOp, run: () => Promise<T>): Promise<T> {
    await this.before(op);
    const fail = this.applies(op) && this.chance(this.faults.errorRate);
    const afterwards = fail && this.random() < 0.5;
    if (fail && !afterwards) {
      this.injected.errors++;
      throw new TransientError(`injected fault: ${op} failed before reaching the store`);
    }
    const result = await run();
    if (afterwards) {
      this.injected.errors++;
      throw new TransientError(`injected fault: ${op} reply lost`);
    }
    return result;
  }

  private damage(data: Buffer): Buffer {
    if (data.length > 0 && this.chance(this.faults.truncateRate)) {
      this.injected.truncated++;
      return data.subarray(0, Math.floor(this.random() * data.length));
    }
    if (data.length > 0 && this.chance(this.faults.corruptRate)) {
      this.injected.corrupted++;
      const copy = Buffer.from(data);
      copy[Math.floor(this.random() * copy.length)]! ^= 0x5a;
      return copy;
    }
    return data;
  }

  private damageStream(stream: Readable): Readable {
    const truncate = this.chance(this.faults.truncateRate);
    const corrupt = !truncate && this.chance(this.faults.corruptRate);
    if (!truncate && !corrupt) return stream;
    let damaged = false;
    const counts = this.injected;
    return through(stream, new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        if (damaged) return cb(null, truncate ? undefined : chunk); // a truncated body ends cleanly, but short
        if (chunk.length === 0) return cb(null, chunk);
        damaged = true;
        if (truncate) {
          counts.truncated++;
          return cb(null, chunk.subarray(0, chunk.length >> 1));
        }
        counts.corrupted++;
        const copy = Buffer.from(chunk);
        copy[copy.length >> 1]! ^= 0x5a;
        return cb(null, copy);
      },
    }));
  }

  private failingStream(stream: Readable): Readable {
    const limit = this.faults.failAfterBytes;
    if (limit === undefined) return stream;
    let seen = 0;
    const counts = this.injected;
    return through(stream, new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        if (seen + chunk.length > limit) {
          counts.streamFailures++;
          const rest = limit - seen;
          seen = limit;
          if (rest > 0) this.push(chunk.subarray(0, rest));
          return cb(new TransientError(`injected fault: stream failed after ${limit} bytes`));
        }
        seen += chunk.length;
        cb(null, chunk);
      },
    }));
  }
}
