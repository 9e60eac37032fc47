// The async batch calls run on libuv's pool and must give exactly the bytes of
// the synchronous calls, stripe by stripe, whatever the mix of patterns.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';

import { ErasureCodec, allocateShards } from '../../src/ec/index.js';
import { randomPattern, randomShards, rng } from './random.js';

describe('async batches', () => {
  const k = 10, m = 4;
  const codec = new ErasureCodec(k, m);
  const next = rng(2024);
  const stripes = Array.from({ length: 12 }, (_, s) => {
    const len = 1 + ((s * 7919) % 70_000);
    const data = randomShards(next, k, len);
    const parity = Array.from({ length: m }, () => Buffer.alloc(len));
    codec.encode(data, parity);
    return { data, parity };
  });

  it('encodeBatch equals encode', async () => {
    const outs = stripes.map((s) => Array.from({ length: m }, () => Buffer.alloc(s.data[0]!.length, 0xff)));
    await codec.encodeBatch(stripes.map((s, i) => ({ data: s.data, parity: outs[i]! })));
    stripes.forEach((s, i) => s.parity.forEach((p, j) => expect(outs[i]![j]!.equals(p)).toBe(true)));
  });

  it('decodeBatch and reconstructBatch equal the sync calls, one pattern per stripe', async () => {
    const lostPerStripe = stripes.map(() => randomPattern(next, k + m, 1 + (next() % m)));
    const viaDecode = stripes.map((s, i) => {
      const shards = [...s.data, ...s.parity].map((b) => Buffer.from(b));
      for (const j of lostPerStripe[i]!) shards[j]!.fill(0);
      return shards;
    });
    const viaReconstruct = viaDecode.map((shards) => shards.map((b) => Buffer.from(b)));
    await codec.decodeBatch(viaDecode.map((shards, i) => ({ shards, lost: lostPerStripe[i]! })));
    await codec.reconstructBatch(viaReconstruct.map((shards, i) => ({ shards, lost: lostPerStripe[i]! })));
    stripes.forEach((s, i) => {
      const original = [...s.data, ...s.parity];
      for (const j of lostPerStripe[i]!) {
        expect(viaReconstruct[i]![j]!.equals(original[j]!)).toBe(true);
        if (j < k) expect(viaDecode[i]![j]!.equals(original[j]!)).toBe(true);
        else expect(viaDecode[i]![j]!.every((b) => b === 0)).toBe(true); // decode leaves parity alone
      }
    });
  });

  it('verifyBatch answers per stripe', async () => {
    const shards = stripes.map((s) => [...s.data, ...s.parity].map((b) => Buffer.from(b)));
    shards[3]![k]![0] ^= 1;
    shards[7]![2]![shards[7]![2]!.length - 1] ^= 0x80;
    const expected = shards.map((_, i) => i !== 3 && i !== 7);
    expect(await codec.verifyBatch(shards)).toEqual(expected);
    expect(shards.map((s) => codec.verify(s))).toEqual(expected);
  });

  // All 16 decode one pattern, so they would share its cached plan; that sharing is
  // not observable from JavaScript (no count of plans built): only the bytes are checked.
  it('many batches of one pattern at once on the pool give exact bytes', async () => {
    const len = 65_536;
    const shards = allocateShards(k + m, len);
    randomShards(next, k, len).forEach((d, i) => d.copy(shards[i]!));
    codec.encode(shards.slice(0, k), shards.slice(k));
    const original = shards.map((b) => Buffer.from(b));
    const copies = Array.from({ length: 16 }, () => original.map((b) => Buffer.from(b)));
    for (const c of copies) for (const j of [0, 1, 2, 3]) c[j]!.fill(0);
    await Promise.all(copies.map((c) => codec.decodeBatch([{ shards: c, lost: [0, 1, 2, 3] }])));
    for (const c of copies) for (const j of [0, 1, 2, 3]) expect(c[j]!.equals(original[j]!)).toBe(true);
  });

  it('concurrent batches with many patterns, more than the plan cache holds', async () => {
    const len = 4096;
    const original = [...randomShards(next, k, len), ...Array.from({ length: m }, () => Buffer.alloc(len))];
    codec.encode(original.slice(0, k), original.slice(k));
    const jobs = Array.from({ length: 48 }, () =>
      Array.from({ length: 4 }, () => {
        const lost = randomPattern(next, k + m, 1 + (next() % m));
        const shards = original.map((b) => Buffer.from(b));
        for (const j of lost) shards[j]!.fill(0);
        return { shards, lost };
      }),
    );
    await Promise.all(jobs.map((batch) => codec.reconstructBatch(batch)));
    for (const batch of jobs)
      for (const { shards, lost } of batch) for (const j of lost) expect(shards[j]!.equals(original[j]!)).toBe(true);
  });

  it('an empty batch resolves', async () => {
    await expect(codec.encodeBatch([])).resolves.toBeUndefined();
    await expect(codec.verifyBatch([])).resolves.toEqual([]);
  });
});

describe('allocateShards', () => {
  it('gives zeroed, separate buffers of the size asked', () => {
    const shards = allocateShards(5, 1000);
    expect(shards.map((s) => s.length)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(shards.every((s) => s.every((b) => b === 0))).toBe(true);
    shards[0]!.fill(1);
    expect(shards[1]!.every((b) => b === 0)).toBe(true);
    // cache-line aligned, and each 64 bytes further into its page than the last
    const offsets = shards.map((s) => s.byteOffset - shards[0]!.byteOffset);
    expect(offsets.every((o, i) => o % 64 === 0 && (i === 0 || o - offsets[i - 1]! === 1024 + 64))).toBe(true);
  });

  it('shared: the same layout on a SharedArrayBuffer, which the codec codes as it does any other memory', async () => {
    const [k, m, len] = [4, 2, 1000];
    const shards = allocateShards(k + m, len, 100, true);
    expect(shards.every((s) => s.buffer instanceof SharedArrayBuffer && s.buffer === shards[0]!.buffer)).toBe(true);
    expect(shards[0]!.byteOffset).toBeGreaterThanOrEqual(100);
    const offsets = shards.map((s) => s.byteOffset - shards[0]!.byteOffset);
    expect(offsets.every((o, i) => o % 64 === 0 && (i === 0 || o - offsets[i - 1]! === 1024 + 128 + 64))).toBe(true);
    shards.slice(0, k).forEach((s) => s.set(randomBytes(len)));
    const codec = new ErasureCodec(k, m);
    const expected = [Buffer.alloc(len), Buffer.alloc(len)];
    codec.encode(shards.slice(0, k).map((s) => Buffer.from(s)), expected);
    await codec.encodeBatch([{ data: shards.slice(0, k), parity: shards.slice(k) }]);
    expect(shards.slice(k)).toEqual(expected);
  });
});
