// The retry wrapper: what it repeats, how long it waits, when it gives up.
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ArchivedError, DeadlineExceededError, FatalError, MemoryStore, NotFoundError, ThrottledError, TransientError, type ObjectStore,
  type GetOptions, type GetResult, type ObjectStoreError,
} from '../../src/objectstore/index.js';
import { RetryingStore, backoffDelay, type RetryPolicy } from '../../src/objectstore/retry.js';
import { seededRandom } from '../../src/objectstore/faults.js';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, deadlineMs: 10_000 };

/** A memory store whose next calls fail with the queued errors. */
class ScriptedStore extends MemoryStore {
  failures: Error[] = [];
  calls = 0;
  listFailAfter: number | undefined;
  private next(): void {
    this.calls++;
    const err = this.failures.shift();
    if (err) throw err;
  }
  override async get(key: string, opts?: Parameters<ObjectStore['get']>[1]) {
    this.next();
    return super.get(key, opts);
  }
  override async put(key: string, body: Buffer | Readable, opts?: Parameters<ObjectStore['put']>[2]) {
    this.next();
    return super.put(key, body, opts);
  }
  override async *list(prefix?: string) {
    let n = 0;
    for await (const e of super.list(prefix, { pageSize: 3 })) {
      if (this.listFailAfter !== undefined && n === this.listFailAfter) {
        this.listFailAfter = undefined;
        throw new TransientError('connection reset mid-listing');
      }
      n++;
      yield e;
    }
  }
}

function retrying(inner: ObjectStore, p: RetryPolicy = policy) {
  const waits: number[] = [];
  const retried: string[] = [];
  const store = new RetryingStore(inner, p, {
    random: seededRandom(5),
    sleep: async (ms) => { waits.push(ms); },
    onRetry: (op, err) => retried.push(`${op}:${err.code}`),
  });
  return { store, waits, retried };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('doubles its cap up to the maximum; full jitter for Transient, at least half the cap for Throttled', () => {
    const caps = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(policy, attempt, false, () => 0.999999));
    expect(caps.map(Math.round)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(policy, 3, false, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, true, () => 0)).toBe(200);
    expect(backoffDelay(policy, 3, true, () => 0.999999)).toBeCloseTo(400, 2);
  });
});

describe('RetryingStore', () => {
  it('repeats Transient and Throttled failures until the call succeeds', async () => {
    const inner = new ScriptedStore();
    await inner.put('k', Buffer.from('v'));
    inner.calls = 0;
    inner.failures = [new TransientError('reset'), new ThrottledError('slow down')];
    const { store, waits, retried } = retrying(inner);
    expect((await store.get('k')).data.toString()).toBe('v');
    expect(inner.calls).toBe(3);
    expect(retried).toEqual(['get:Transient', 'get:Throttled']);
    expect(waits[0]).toBeLessThan(100);
    expect(waits[1]).toBeGreaterThanOrEqual(100); // throttled, second attempt: at least half of 200
  });

  it.each([
    ['NotFound', new NotFoundError('k')],
    ['Archived', new ArchivedError('k')],
    ['Fatal', new FatalError('access denied')],
  ])('does not repeat %s', async (code, err) => {
    const inner = new ScriptedStore();
    inner.failures = [err];
    const { store } = retrying(inner);
    await expect(store.get('k')).rejects.toMatchObject({ code });
    expect(inner.calls).toBe(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const inner = new ScriptedStore();
    inner.failures = Array.from({ length: 10 }, (_, i) => new TransientError(`failure ${i}`));
    const { store } = retrying(inner);
    await expect(store.get('k')).rejects.toThrow('failure 3');
    expect(inner.calls).toBe(policy.maxAttempts);
  });

  it('starts no retry past the deadline', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const inner = new ScriptedStore();
    inner.failures = Array.from({ length: 10 }, () => new ThrottledError('slow down'));
    const store = new RetryingStore(inner, { ...policy, maxAttempts: 100, deadlineMs: 1000 }, {
      random: () => 0.5,
      sleep: async (ms) => { vi.setSystemTime(Date.now() + ms); },
    });
    await expect(store.get('k')).rejects.toMatchObject({ code: 'Throttled' });
    // Waits of 75, 150, 300 ms fit in 1 s; the next one (600) would not.
    expect(inner.calls).toBe(4);
  });

  it('repeats a put of a Buffer but never a put of a stream', async () => {
    const inner = new ScriptedStore();
    inner.failures = [new TransientError('reset')];
    const { store } = retrying(inner);
    await store.put('buf', Buffer.from('x'));
    expect(inner.calls).toBe(2);

    inner.calls = 0;
    inner.failures = [new TransientError('reset')];
    await expect(store.put('stream', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: 'Transient' });
    expect(inner.calls).toBe(1);
  });

  it('resumes a listing that broke off after the last key it yielded, without repeats', async () => {
    const inner = new ScriptedStore();
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const k of keys) await inner.put(k, Buffer.from(k));
    inner.listFailAfter = 4;
    const { store, retried } = retrying(inner);
    const seen: string[] = [];
    for await (const e of store.list('')) seen.push(e.key);
    expect(seen).toEqual(keys);
    expect(retried).toEqual(['list:Transient']);
  });

  it("gives each attempt a signal that the deadline aborts, and passes the caller's abort through unretried", async () => {
    /** A get that answers only when its signal aborts, with the reason. */
    class HangingStore extends MemoryStore {
      calls = 0;
      override get(_key: string, opts: GetOptions = {}): Promise<GetResult> {
        this.calls++;
        return new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason)));
      }
    }
    const inner = new HangingStore();
    const store = new RetryingStore(inner, { ...policy, deadlineMs: 100 });
    const started = Date.now();
    await expect(store.get('k')).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(inner.calls).toBe(1);

    const caller = new AbortController();
    const call = new RetryingStore(inner, policy).get('k', { signal: caller.signal });
    caller.abort(new Error('interrupted'));
    await expect(call).rejects.toThrow('interrupted');
    expect(inner.calls).toBe(2);
  });

  it('passes a Fatal listing error through', async () => {
    const inner = new ScriptedStore();
    inner.list = async function* () {
      yield* [];
      throw new FatalError('no such bucket');
    };
    const { store } = retrying(inner);
    const consume = async () => {
      for await (const _ of store.list('')) void _;
    };
    await expect(consume()).rejects.toMatchObject({ code: 'Fatal' } satisfies Partial<ObjectStoreError>);
  });
});
