// The mover's bandwidth changed while moves run (tierfs config set mover.bandwidth):
// takers follow the new rate at once, including one already waiting off a large piece.
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/mover/throttle.js';

const MiB = 1 << 20;

/** Bytes per second through `bucket` in `pieces` of `size`, measured from the first take. */
async function stream(bucket: TokenBucket, size: number, until: () => boolean): Promise<{ bytes: number; t: number }[]> {
  const marks: { bytes: number; t: number }[] = [];
  let bytes = 0;
  while (!until()) {
    await bucket.take(size);
    bytes += size;
    marks.push({ bytes, t: performance.now() });
  }
  return marks;
}

/** Throughput between two times, from the marks. */
function rateBetween(marks: { bytes: number; t: number }[], from: number, to: number): number {
  const inside = marks.filter((m) => m.t >= from && m.t <= to);
  const first = inside[0]!;
  const last = inside.at(-1)!;
  return (last.bytes - first.bytes) / ((last.t - first.t) / 1000);
}

describe('TokenBucket.setRate', () => {
  it('lowered while bytes flow: the flow follows the new rate (within 10%)', async () => {
    const b = new TokenBucket(4 * MiB);
    const start = performance.now();
    let done = false;
    const flowing = stream(b, 64 << 10, () => done);
    // A second before, three after: a timer late by a tenth of a second on a busy machine
    // is a few percent of them.
    await new Promise((r) => setTimeout(r, 1000));
    const changed = performance.now();
    b.setRate(1 * MiB);
    await new Promise((r) => setTimeout(r, 3000));
    done = true;
    const marks = await flowing;
    const before = rateBetween(marks, start + 150, changed);
    const after = rateBetween(marks, changed + 150, changed + 3000);
    expect(before / (4 * MiB)).toBeGreaterThan(0.9);
    expect(after / MiB).toBeGreaterThan(0.9);
    expect(after / MiB).toBeLessThan(1.1);
  });

  it('raised: a taker waiting off a large piece at the old rate is let go at the new one', async () => {
    const b = new TokenBucket(256 << 10); // 4 MiB at 256 KiB/s: a 16 s wait
    await b.take(25 << 10); // the burst
    const t0 = performance.now();
    const big = b.take(4 * MiB);
    await new Promise((r) => setTimeout(r, 200));
    b.setRate(16 * MiB); // the rest of the debt at 16 MiB/s: about 0.25 s
    await big;
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThan(300);
    expect(waited).toBeLessThan(1000);
  });

  it('set to 0: unlimited from then on, and a waiting taker goes at once', async () => {
    const b = new TokenBucket(64 << 10);
    await b.take(6 << 10);
    const t0 = performance.now();
    const waiting = b.take(1 * MiB); // 16 s at the old rate
    setTimeout(() => b.setRate(0), 100);
    await waiting;
    expect(performance.now() - t0).toBeLessThan(600);
    expect(b.unlimited).toBe(true);
    const t1 = performance.now();
    for (let i = 0; i < 100; i++) await b.take(MiB);
    expect(performance.now() - t1).toBeLessThan(100);
  });
});
