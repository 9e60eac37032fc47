// Retries with jittered exponential backoff and a deadline, in one place for every
// backend (the SDKs' own retries are switched off in the adapters). Only what is safe
// to repeat is repeated: errors coded Transient or Throttled, on idempotent calls. A
// put of a stream is tried once, since its body is consumed by the first attempt; a
// streamed get is retried until it opens, not once it has delivered bytes; a listing
// that fails midway resumes after the last key it yielded.
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable, ObjectStoreError } from './errors.js';
import { compareKeys } from './keys.js';
import { moduleLogger } from '../log.js';
import type {
  GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, ObjectStoreOp, PutOptions,
  PutResult, RestoreOptions,
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
  sleep?: (ms: number) => Promise<unknown>;
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
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(
    private readonly inner: ObjectStore,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly hooks: RetryHooks = {},
  ) {
    this.backend = inner.backend;
    this.limits = inner.limits;
    this.random = hooks.random ?? Math.random;
    this.sleep = hooks.sleep ?? sleep;
  }

  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<PutResult> {
    if (!Buffer.isBuffer(body)) return this.inner.put(key, body, opts);
    return this.withRetries('put', key, () => this.inner.put(key, body, opts));
  }

  get(key: string, opts?: GetOptions): Promise<GetResult> {
    return this.withRetries('get', key, () => this.inner.get(key, opts));
  }

  getStream(key: string, opts?: GetOptions): Promise<GetStreamResult> {
    return this.withRetries('get', key, () => this.inner.getStream(key, opts));
  }

  head(key: string): Promise<ObjectMeta> {
    return this.withRetries('head', key, () => this.inner.head(key));
  }

  delete(key: string): Promise<void> {
    return this.withRetries('delete', key, () => this.inner.delete(key));
  }

  restore(key: string, opts?: RestoreOptions): Promise<void> {
    return this.withRetries('restore', key, () => this.inner.restore(key, opts));
  }

  async *list(prefix = '', opts?: ListOptions): AsyncIterable<ListEntry> {
    let last: string | undefined;
    let attempt = 1;
    let started = Date.now();
    for (;;) {
      try {
        for await (const entry of this.inner.list(prefix, opts)) {
          if (last !== undefined && compareKeys(entry.key, last) <= 0) continue; // yielded before the failure
          last = entry.key;
          attempt = 1; // progress: a later failure starts a fresh series
          started = Date.now();
          yield entry;
        }
        return;
      } catch (err) {
        await this.waitOrThrow('list', prefix, err, attempt++, started);
      }
    }
  }

  private async withRetries<T>(op: ObjectStoreOp, key: string, call: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        await this.waitOrThrow(op, key, err, attempt, started);
      }
    }
  }

  /** Waits before the next attempt, or throws `err` when it must not or may no longer be retried. */
  private async waitOrThrow(op: ObjectStoreOp, key: string, err: unknown, attempt: number, started: number): Promise<void> {
    if (!isRetryable(err) || attempt >= this.policy.maxAttempts) throw err;
    const e = err as ObjectStoreError;
    const delay = backoffDelay(this.policy, attempt, e.code === 'Throttled', this.random);
    if (Date.now() - started + delay > this.policy.deadlineMs) throw err;
    this.hooks.onRetry?.(op, e, attempt, delay);
    log.debug({ backend: this.backend, op, key, code: e.code, attempt, delayMs: Math.round(delay) }, 'retrying object-store call');
    await this.sleep(delay);
  }
}
