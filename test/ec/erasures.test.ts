// Any k of the k + m shards rebuild the rest: every erasure pattern of up to m
// shards for small codes, random ones for wide codes.
import { describe, expect, it } from 'vitest';

import { ErasureCodec } from '../../src/ec/index.js';
import { randomPattern, randomShards, rng, subsets } from './random.js';

function stripe(codec: ErasureCodec, len: number, seed: number) {
  const data = randomShards(rng(seed), codec.k, len);
  const parity = Array.from({ length: codec.m }, () => Buffer.alloc(len));
  codec.encode(data, parity);
  return [...data, ...parity];
}

/** The stripe with the lost shards overwritten by junk, so stale bytes can't pass. */
function damaged(original: Buffer[], lost: number[]): Buffer[] {
  const shards = original.map((s) => Buffer.from(s));
  for (const i of lost) shards[i]!.fill(0x5a);
  return shards;
}

function expectRebuilt(shards: Buffer[], original: Buffer[], indices: number[], what: string) {
  for (const i of indices) {
    if (!shards[i]!.equals(original[i]!)) expect.fail(`${what}: shard ${i} wrong`);
  }
}

describe('every erasure pattern, small codes', () => {
  for (const [k, m] of [
    [4, 2],
    [6, 3],
  ] as const) {
    it(`${k}+${m}: reconstruct rebuilds every lost shard, decode every lost data shard`, () => {
      const codec = new ErasureCodec(k, m);
      const original = stripe(codec, 1000 + k, k * 100 + m);
      let patterns = 0;
      for (const lost of subsets(k + m, m)) {
        const all = damaged(original, lost);
        codec.reconstruct(all, lost);
        expectRebuilt(all, original, lost, `reconstruct ${lost}`);
        expect(codec.verify(all)).toBe(true);

        const data = damaged(original, lost);
        const lostParity = lost.filter((i) => i >= k);
        for (const i of lostParity) data[i] = null as unknown as Buffer; // absent, no buffer
        codec.decode(data, lost);
        expectRebuilt(data, original, lost.filter((i) => i < k), `decode ${lost}`);
        patterns++;
      }
      expect(patterns).toBe(k === 4 ? 6 + 15 : 9 + 36 + 84);
    });
  }

  it('rebuilds only the chosen targets and leaves other lost shards alone', () => {
    const codec = new ErasureCodec(4, 2);
    const original = stripe(codec, 100, 5);
    const shards = damaged(original, [1, 5]);
    codec.reconstruct(shards, [1, 5], [5]);
    expect(shards[5]!.equals(original[5]!)).toBe(true);
    expect(shards[1]!.every((b) => b === 0x5a)).toBe(true);
  });

  it('null shards count as lost without being listed', () => {
    const codec = new ErasureCodec(6, 3);
    const original = stripe(codec, 333, 6);
    const shards: (Buffer | null)[] = damaged(original, [2]);
    shards[0] = null;
    shards[7] = null;
    codec.decode(shards, [2]);
    expect(shards[2]!.equals(original[2]!)).toBe(true);
  });
});

describe('random erasure patterns, wide codes', () => {
  for (const [k, m, len, rounds] of [
    [8, 3, 4097, 40],
    [12, 4, 4097, 40],
    [32, 8, 2049, 30],
    [128, 32, 1025, 12],
  ] as const) {
    it(`${k}+${m}: ${rounds} random patterns of 1..${m} lost shards`, () => {
      const next = rng(k * 1000 + m);
      const codec = new ErasureCodec(k, m);
      const original = stripe(codec, len, k + m);
      for (let r = 0; r < rounds; r++) {
        const lost = randomPattern(next, k + m, 1 + (next() % m));
        const shards = damaged(original, lost);
        codec.reconstruct(shards, lost);
        expectRebuilt(shards, original, lost, `${k}+${m} lost ${lost}`);
      }
      // the worst case: all m lost are data shards
      const lost = Array.from({ length: m }, (_, i) => i * Math.floor(k / m));
      const shards = damaged(original, lost);
      codec.decode(shards, lost);
      expectRebuilt(shards, original, lost, `${k}+${m} lost ${lost}`);
    });
  }

  it('the decode-plan cache serves a repeated pattern and survives many patterns', () => {
    const codec = new ErasureCodec(10, 4);
    const original = stripe(codec, 4096, 77);
    const next = rng(99);
    // more distinct patterns than cache slots, each used twice, interleaved
    const patterns = Array.from({ length: 200 }, () => randomPattern(next, 14, 1 + (next() % 4)));
    for (const lost of [...patterns, ...patterns.reverse()]) {
      const shards = damaged(original, lost);
      codec.reconstruct(shards, lost);
      expectRebuilt(shards, original, lost, `lost ${lost}`);
    }
  });

  it('m = 0 and k = 1 are valid codes', () => {
    const plain = new ErasureCodec(3, 0);
    const data = randomShards(rng(1), 3, 10);
    plain.encode(data, []);
    expect(plain.verify(data)).toBe(true);

    const single = new ErasureCodec(1, 3); // any one of the 4 shards restores the data
    const original = stripe(single, 50, 2);
    for (const keep of [0, 1, 2, 3]) {
      const lost = [0, 1, 2, 3].filter((i) => i !== keep);
      const shards = damaged(original, lost);
      single.reconstruct(shards, lost);
      expectRebuilt(shards, original, lost, `k=1 from shard ${keep}`);
    }
  });
});

describe('verify', () => {
  it('notices one flipped bit in any shard', () => {
    const codec = new ErasureCodec(8, 3);
    const original = stripe(codec, 20_000, 8);
    expect(codec.verify(original)).toBe(true);
    for (const i of [0, 7, 8, 10]) {
      const shards = original.map((s) => Buffer.from(s));
      shards[i]![19_999 - i] ^= 0x10;
      expect(codec.verify(shards)).toBe(false);
    }
  });
});
