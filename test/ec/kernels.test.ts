// Every kernel this CPU can run must produce exactly the portable kernel's
// bytes, at lengths that are not multiples of any vector width, from shards at
// odd addresses, for row counts on both sides of EC_KERNEL_MAX_ROWS.
import { describe, expect, it } from 'vitest';

import { ErasureCodec, availableKernels, defaultKernel, KERNEL_NAMES } from '../../src/ec/index.js';
import { randomShards, rng } from './random.js';

// Every vector kernel gets its tests; those this CPU cannot run are reported as
// skipped (with why in the name), not left out of the run without a trace.
const vectorKernels = KERNEL_NAMES.filter((k) => k !== 'portable');
const unavailable = (kernel: string) => !availableKernels().includes(kernel as (typeof KERNEL_NAMES)[number]);
const needs = (kernel: string) => (unavailable(kernel) ? ' (skipped: this CPU cannot run it)' : '');
const LENGTHS = [1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 255, 257, 1000, 4095, 4097, 65_537, 300_007];
const CODES: [number, number][] = [
  [1, 1],
  [4, 2],
  [8, 3],
  [10, 4],
  [12, 4],
  [5, 8],
  [7, 9], // two passes: 8 rows, then 1
  [20, 12],
];

/** Buffers that start 1..63 bytes past wherever the allocator put them. */
function misaligned(shards: Buffer[], seed: number): Buffer[] {
  return shards.map((s, i) => {
    const skew = (seed * 7 + i * 13) % 64;
    const b = Buffer.alloc(s.length + skew).subarray(skew);
    s.copy(b);
    return b;
  });
}

describe('kernels', () => {
  it('lists portable, and the default is the fastest available', () => {
    expect(availableKernels()).toContain('portable');
    expect(availableKernels().every((k) => KERNEL_NAMES.includes(k))).toBe(true);
    expect(defaultKernel({})).toBe(availableKernels()[0]);
  });

  for (const kernel of vectorKernels) {
    it.skipIf(unavailable(kernel))(`${kernel} encodes as portable does${needs(kernel)}`, () => {
      const next = rng(kernel.length * 977);
      for (const [k, m] of CODES) {
        const fast = new ErasureCodec(k, m, { kernel });
        const slow = new ErasureCodec(k, m, { kernel: 'portable' });
        expect(fast.kernel).toBe(kernel);
        for (const [n, len] of LENGTHS.entries()) {
          const data = misaligned(randomShards(next, k, len), n);
          const expected = Array.from({ length: m }, () => Buffer.alloc(len));
          const actual = misaligned(Array.from({ length: m }, () => Buffer.alloc(len, 0xa5)), n + 1);
          slow.encode(data, expected);
          fast.encode(data, actual);
          for (let j = 0; j < m; j++) {
            if (!actual[j]!.equals(expected[j]!)) expect.fail(`${kernel} ${k}+${m} len ${len}: parity ${j} differs`);
          }
        }
      }
    });

    it.skipIf(unavailable(kernel))(`${kernel} decodes as portable does, several MiB${needs(kernel)}`, () => {
      const next = rng(31);
      const k = 10, m = 4, len = 3 * 1024 * 1024 + 13;
      const data = randomShards(next, k, len);
      const parity = Array.from({ length: m }, () => Buffer.alloc(len));
      new ErasureCodec(k, m, { kernel: 'portable' }).encode(data, parity);
      const fast = new ErasureCodec(k, m, { kernel });
      const check = Array.from({ length: m }, () => Buffer.alloc(len));
      fast.encode(data, check);
      expect(check.every((p, j) => p.equals(parity[j]!))).toBe(true);
      const shards = [...data, ...parity].map((s) => Buffer.from(s));
      const lost = [0, 3, 7, 9];
      for (const i of lost) shards[i]!.fill(0);
      fast.decode(shards, lost);
      for (const i of lost) expect(shards[i]!.equals(data[i]!)).toBe(true);
    });
  }
});
