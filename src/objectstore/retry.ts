// Retries with jittered exponential backoff and a deadline, in one place for every
// backend (the SDKs' own retries are switched off in the adapters). Only what is safe
// to repeat is repeated: errors coded Transient or Throttled, on idempotent calls. A
// put of a stream is tried once, since its body is consumed by the first attempt; a
// streamed get is retried until it opens, not once it has delivered bytes; a listing
// that fails midway resumes after the last key it yielded.
//
// The deadline is also a signal: each call's attempts get one that aborts when the
// deadline passes (with the caller's own signal folded in), so an attempt that waits
// for an answer past the deadline ends there instead of after its own timeouts. A
// transfer that is making progress is not cut by it; the idle timeout bounds that.
import { deleteInRequests } from './delete-many.js';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceededError, isRetryable, ObjectStoreError } from './errors.js';
import { compareKeys } from './keys.js';
import { moduleLogger } from '../log.js';
import type {
  CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, ObjectStoreOp,
  PutOptions, PutResult, RestoreOptions,
} from './types.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts after this long since the first attempt. */
  deadlineMs: number;
}

export interface RetryHooks {
  /** Called before each wait; metrics count retries here. */
  onRetry?: (op: ObjectStoreOp, err: ObjectStoreError, attempt: number, delayMs: number) => void;
  /** A source of [0, 1) numbers; tests pass a seeded one. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000, deadlineMs: 60_000 };

const log = moduleLogger('objectstore');

/**
 * The wait before retry number `attempt` (1-based). Transient failures use full
 * jitter (anywhere in [0, cap)); a throttled store gets at least half the cap, since
 * retrying it early adds to the load it complained of.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, throttled: boolean, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return throttled ? cap / 2 + (random() * cap) / 2 : random() * cap;
}

export class RetryingStore implements ObjectStore {
  readonly backend: string;
  readonly limits: ObjectStore['limits'];
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<unknown>;

  constructor(
    private readonly inner: ObjectStore,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly hooks: RetryHooks = {},
  ) {
    this.backend = inner.backend;
    this.limits = inner.limits;
    this.random = hooks.random ?? Math.random;
    this.sleep = hooks.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal }));
  }

  put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    if (!Buffer.isBuffer(body)) return this.inner.put(key, body, opts);
    return this.withRetries('put', key, opts.signal, (signal) => this.inner.put(key, body, { ...opts, signal }));
  }

  get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    return this.withRetries('get', key, opts.signal, (signal) => this.inner.get(key, { ...opts, signal }));
  }

  /** The deadline covers the opening; the stream itself answers only to the caller's signal and the idle timeout. */
  getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    return this.withRetries('get', key, opts.signal, (signal) => this.inner.getStream(key, { ...opts, signal }));
  }

  head(key: string, opts: CallOptions = {}): Promise<ObjectMeta> {
    return this.withRetries('head', key, opts.signal, (signal) => this.inner.head(key, { ...opts, signal }));
  }

  delete(key: string, opts: CallOptions = {}): Promise<void> {
    return this.withRetries('delete', key, opts.signal, (signal) => this.inner.delete(key, { ...opts, signal }));
  }

  deleteMany(keys: readonly string[], opts: CallOptions = {}): Promise<void> {
    // idempotent: a failed request is sent again whole
    return deleteInRequests(this, keys, opts, (batch) => this.withRetries('delete', batch[0]!, opts.signal, (signal) => this.inner.deleteMany(batch, { ...opts, signal })));
  }

  restore(key: string, opts: RestoreOptions = {}): Promise<void> {
    return this.withRetries('restore', key, opts.signal, (signal) => this.inner.restore(key, { ...opts, signal }));
  }

  async *list(prefix = '', opts: ListOptions = {}): AsyncIterable<ListEntry> {
    let last: string | undefined;
    let attempt = 1;
    const deadline = new Deadline(this.policy.deadlineMs, opts.signal);
    try {
      for (;;) {
        try {
          for await (const entry of this.inner.list(prefix, { ...opts, signal: deadline.signal })) {
            if (last !== undefined && compareKeys(entry.key, last) <= 0) continue; // yielded before the failure
            last = entry.key;
            attempt = 1; // progress: a later failure starts a fresh series, with a fresh deadline
            deadline.clear(); // the time our reader takes is not the store's
            yield entry;
            deadline.restart();
          }
          return;
        } catch (err) {
          await this.waitOrThrow('list', prefix, err, attempt++, deadline);
        }
      }
    } finally {
      deadline.clear();
    }
  }

  private async withRetries<T>(op: ObjectStoreOp, key: string, caller: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new Deadline(this.policy.deadlineMs, caller);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call(deadline.signal);
        } catch (err) {
          await this.waitOrThrow(op, key, err, attempt, deadline);
        }
      }
    } finally {
      deadline.clear();
    }
  }

  /** Waits before the next attempt, or throws `err` when it must not or may no longer be retried. */
  private async waitOrThrow(op: ObjectStoreOp, key: string, err: unknown, attempt: number, deadline: Deadline): Promise<void> {
    if (!isRetryable(err) || attempt >= this.policy.maxAttempts || deadline.caller?.aborted) throw err;
    const e = err as ObjectStoreError;
    const delay = backoffDelay(this.policy, attempt, e.code === 'Throttled', this.random);
    if (deadline.elapsed() + delay > this.policy.deadlineMs) throw err;
    this.hooks.onRetry?.(op, e, attempt, delay);
    log.debug({ backend: this.backend, op, key, code: e.code, attempt, delayMs: Math.round(delay) }, 'retrying object-store call');
    try {
      await this.sleep(delay, deadline.caller);
    } catch {
      throw deadline.caller?.aborted ? deadline.caller.reason : err;
    }
  }
}

/** A call's deadline as a signal, with the caller's signal folded in. */
class Deadline {
  readonly signal: AbortSignal;
  private readonly own = new AbortController();
  private started = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    readonly caller: AbortSignal | undefined,
  ) {
    this.signal = caller ? AbortSignal.any([caller, this.own.signal]) : this.own.signal;
    this.restart();
  }

  elapsed(): number {
    return Date.now() - this.started;
  }

  /** A fresh deadline from now, on the same signal (unless it already fired). */
  restart(): void {
    this.clear();
    this.started = Date.now();
    this.timer = setTimeout(() => this.own.abort(new DeadlineExceededError(this.ms)), this.ms);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
