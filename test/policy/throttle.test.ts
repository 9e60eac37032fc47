// The mover's token bucket: bytes over time stay at the configured rate, whatever
// the size of the pieces and however many movers share it.
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/mover/throttle.js';

/**
 * Push `pieces` of `size` bytes through `bucket` from `workers` concurrent takers;
 * bytes per second. The bucket's burst (a tenth of a second's worth) is spent first,
 * so what is measured is the rate it holds, not the head start it gives.
 */
async function measure(bucket: TokenBucket, pieces: number, size: number, workers: number, burst = 0): Promise<number> {
  await bucket.take(burst);
  const t0 = performance.now();
  let left = pieces;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (left-- > 0) await bucket.take(size);
    }),
  );
  return (pieces * size) / ((performance.now() - t0) / 1000);
}

describe('TokenBucket', () => {
  it('0 is unlimited', async () => {
    const b = new TokenBucket(0);
    expect(b.unlimited).toBe(true);
    expect(await measure(b, 1000, 1 << 20, 1)).toBeGreaterThan(1e9);
  });

  it('holds small pieces to the rate (within 10%)', async () => {
    // 4 MiB/s, 64 KiB pieces, two movers, ~3 s (a timer late by a tenth of a second, on a
    // busy machine, is a few percent of that)
    const rate = 4 << 20;
    const got = await measure(new TokenBucket(rate), 192, 64 << 10, 2, rate / 10);
    expect(got / rate).toBeGreaterThan(0.9);
    expect(got / rate).toBeLessThan(1.1);
  });

  it('holds pieces larger than a second’s worth to the rate (within 10%)', async () => {
    const rate = 1 << 20; // 1 MiB/s, 512 KiB pieces: a piece waits half a second; ~3 s
    const got = await measure(new TokenBucket(rate), 6, 512 << 10, 1, rate / 10);
    expect(got / rate).toBeGreaterThan(0.9);
    expect(got / rate).toBeLessThan(1.1);
  });

  it('after idling, bursts only a tenth of a second’s worth', async () => {
    const rate = 1 << 20;
    const b = new TokenBucket(rate);
    await new Promise((r) => setTimeout(r, 300)); // idle: the bucket fills, but only to 100 ms worth
    const t0 = performance.now();
    await b.take(rate / 10); // the burst
    expect(performance.now() - t0).toBeLessThan(60); // no wait for it (60 ms of slack for a busy machine)
    await b.take(rate / 5); // the next 200 ms worth must be earned
    expect(performance.now() - t0).toBeGreaterThan(180);
  });
});
