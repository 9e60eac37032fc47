// Requests that cannot hang: each cloud's real SDK client, through our adapter, against
// a fault server that accepts a request and never answers, or answers the headers and
// then stalls or cuts the body. Every such call fails within the configured timeouts
// (Transient, retried), the caller's signal ends one at once, and so does the retry
// deadline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { collect } from '../../src/objectstore/body.js';
import { createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import { body } from './data.js';
import { CLOUDS, type FaultyCloud } from './faulty-clouds.js';

const SHORT = { connect: '200ms', firstByte: '300ms', idle: '300ms' };

/** How long `p` took to settle, and how: 'ok' or the error. */
async function timed(p: Promise<unknown>): Promise<{ ms: number; error?: Error & { code?: string } }> {
  const started = Date.now();
  try {
    await p;
    return { ms: Date.now() - started };
  } catch (err) {
    return { ms: Date.now() - started, error: err as Error & { code?: string } };
  }
}

describe.each(CLOUDS)('timeouts: $name', ({ start }) => {
  let cloud: FaultyCloud;
  const data = body(256 * 1024, 11);
  const storeWith = (extra: Record<string, unknown> = {}): ObjectStore =>
    createObjectStore(backendConfigSchema.parse(cloud.config({ timeouts: SHORT, ...extra })));

  beforeAll(async () => {
    cloud = await start();
    await storeWith().put('t/obj', data);
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  it('a GET that is never answered fails within connect + firstByte, and is retried', { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isGet('t/obj'), fault: { kind: 'hang' }, times: Infinity });
    const { ms, error } = await timed(storeWith({ retry: { maxAttempts: 2, baseDelay: '1ms', maxDelay: '1ms' } }).get('t/obj'));
    // Our watch's RequestTimeoutError, or the S3 client's own socket timeout, which is as short here.
    expect(error).toMatchObject({ code: 'Transient' });
    expect(cloud.fault.count(cloud.isGet('t/obj'))).toBe(2);
    // Two attempts of 300 to 500 ms each, and slack for a loaded machine (the server and the
    // client share this event loop): far below the default timeouts' 40 s all the same.
    expect(ms).toBeLessThan(5_000);
    expect(ms).toBeGreaterThanOrEqual(2 * 300 - 50);
  });

  it('a HEAD that is never answered fails within the timeout', { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isHead('t/obj'), fault: { kind: 'hang' }, times: Infinity });
    const { ms, error } = await timed(storeWith({ retry: { maxAttempts: 1 } }).head('t/obj'));
    expect(error).toMatchObject({ code: 'Transient' });
    expect(ms).toBeLessThan(4_000);
  });

  it('a listing page that is never answered fails within the timeout', { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isList(), fault: { kind: 'hang' }, times: Infinity });
    const list = async () => {
      for await (const _ of storeWith({ retry: { maxAttempts: 1 } }).list('t/')) void _;
    };
    const { ms, error } = await timed(list());
    expect(error).toMatchObject({ code: 'Transient' });
    expect(ms).toBeLessThan(4_000);
  });

  it('a body that stalls after its headers fails within idle, on a stream and on a buffered get', { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isGet('t/obj'), fault: { kind: 'stall', afterBytes: 1000 }, times: Infinity });
    const store = storeWith({ retry: { maxAttempts: 1 } });
    const streamed = await timed((async () => collect((await store.getStream('t/obj')).stream))());
    expect(streamed.error).toMatchObject({ code: 'Transient' });
    expect(streamed.ms).toBeLessThan(4_000);
    const buffered = await timed(store.get('t/obj'));
    expect(buffered.error).toMatchObject({ code: 'Transient' });
    expect(buffered.ms).toBeLessThan(4_000);
  });

  it('a body cut mid-way is Transient, and the get is retried and succeeds', { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isGet('t/obj'), fault: { kind: 'drop', afterBytes: 1000 } });
    const got = await storeWith().get('t/obj');
    expect(got.data.equals(data)).toBe(true);
    expect(cloud.fault.count(cloud.isGet('t/obj'))).toBe(2);
  });

  it('a slow reader is not a stalled server: idle counts only while the reader wants bytes', { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    const { stream } = await storeWith().getStream('t/obj');
    const first = await new Promise<Buffer>((resolve) => stream.once('data', (chunk: Buffer) => { stream.pause(); resolve(chunk); }));
    await new Promise((r) => setTimeout(r, 800)); // well past idle (300 ms), the reader holding back
    const rest = await collect(stream);
    expect(Buffer.concat([first, rest]).equals(data)).toBe(true);
  });

  it("the caller's signal ends a request that is never answered at once, with its reason, and is not retried", { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isGet('t/obj'), fault: { kind: 'hang' }, times: Infinity });
    const store = createObjectStore(backendConfigSchema.parse(cloud.config())); // default timeouts: 40 s to an answer
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const { ms, error } = await timed(store.get('t/obj', { signal: controller.signal }));
    expect(error?.name).toBe('AbortError');
    expect(ms).toBeLessThan(4_000);
    expect(cloud.fault.count(cloud.isGet('t/obj'))).toBe(1);
  });

  it('the retry deadline ends a request that waits for its answer past it', { timeout: 10_000 }, async () => {
    cloud.fault.reset();
    cloud.fault.inject({ match: cloud.isGet('t/obj'), fault: { kind: 'hang' }, times: Infinity });
    const store = createObjectStore(backendConfigSchema.parse(cloud.config({ retry: { maxAttempts: 5, deadline: '400ms' } })));
    const { ms, error } = await timed(store.get('t/obj'));
    expect(error).toMatchObject({ code: 'Transient', name: 'DeadlineExceededError' });
    expect(ms).toBeLessThan(4_000);
    expect(cloud.fault.count(cloud.isGet('t/obj'))).toBe(1);
  });
});
