// The addon's CRC-32 must be zlib's, bit for bit: layouts written by every earlier
// version record zlib's values, and a reader that disagreed would call good cells bad.
import { describe, expect, it } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';

import { crc32, crc32Kernel } from '../../src/ec/index.js';
import { rng } from './random.js';

describe('crc32', () => {
  const next = rng(32);
  const bytes = Buffer.alloc(1 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;

  it('is zlib\'s for every length around the folding steps, at every alignment, chained from any value', () => {
    // 64 bytes is where folding starts, 16 its step: lengths on and beside those edges
    const lengths = [0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 81, 127, 128, 129, 191, 192, 255, 256, 4095, 4096, 65536, 65537];
    for (const length of lengths) {
      for (const offset of [0, 1, 7, 8, 15]) {
        for (const start of [0, 1, 0xffffffff, 0x80000000, next() >>> 0]) {
          const data = bytes.subarray(offset, offset + length);
          expect(crc32(data, start), `length ${length} at ${offset} from ${start}`).toBe(zlibCrc32(data, start));
        }
      }
    }
  });

  it('is zlib\'s over random pieces, and a whole chained from its pieces is the whole\'s', () => {
    let chained = 0;
    for (let at = 0; at < bytes.length;) {
      const length = Math.min(bytes.length - at, next() % 70_000);
      const piece = bytes.subarray(at, at + length);
      expect(crc32(piece)).toBe(zlibCrc32(piece));
      chained = crc32(piece, chained);
      at += length;
    }
    expect(chained).toBe(zlibCrc32(bytes));
  });

  it('tells a changed bit', () => {
    const copy = Buffer.from(bytes.subarray(0, 65536));
    const before = crc32(copy);
    copy[40_000]! ^= 0x10;
    expect(crc32(copy)).not.toBe(before);
    expect(crc32(copy)).toBe(zlibCrc32(copy));
  });

  it('names how it computes, and refuses what is not bytes', () => {
    expect(['pclmul', 'zlib']).toContain(crc32Kernel);
    expect(() => crc32('text' as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });
});
