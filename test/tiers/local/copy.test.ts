// Copies onto a local volume: exact bytes and the source's hash, the next piece read while
// this one is hashed and written, and a failing source or consumer reported, never left
// as an unhandled rejection.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyToTemp, eachPiece } from '../../../src/tiers/local/copy.js';
import type { ByteSource } from '../../../src/tiers/object/types.js';
import { tempDir } from '../../helpers/tmp.js';

const MiB = 2 ** 20;
let dir: ReturnType<typeof tempDir> | undefined;
afterEach(() => dir?.remove());

/** A source over `data` that records when each read starts; `failAt` makes the read of that offset fail. */
function memorySource(data: Buffer, failAt?: number): ByteSource & { started: number[] } {
  const started: number[] = [];
  return {
    size: data.length,
    started,
    async read(offset, length, into) {
      started.push(offset);
      await new Promise((r) => setTimeout(r, 2));
      if (offset === failAt) throw new Error(`read at ${offset} failed`);
      const out = into ?? Buffer.allocUnsafe(length);
      data.copy(out, 0, offset, offset + length);
      return out.subarray(0, length);
    },
  };
}

function sample(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let at = 0; at < size; at += 4096) if ((at / 4096) % 3 !== 0) data.fill((at / 4096) & 0xff, at, Math.min(size, at + 4096));
  return data;
}

describe('copies onto a local volume', () => {
  it('copyToTemp writes the exact bytes, keeps blocks of zeros as holes, and returns the hash of what it read', async () => {
    dir = tempDir();
    const volume = join(dir.path, 'vol');
    mkdirSync(volume);
    const data = Buffer.concat([sample(3 * MiB + 123), Buffer.alloc(2 * MiB)]);
    const { path, sha256 } = await copyToTemp(volume, 'c1', memorySource(data));
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(statSync(path).blocks * 512).toBeLessThan(data.length - 2 * MiB);
  });

  it('reads the next piece while the one before is being used', async () => {
    const data = sample(4 * MiB);
    const src = memorySource(data);
    const seen: number[] = [];
    await eachPiece(src, async (piece, offset) => {
      expect(piece.equals(data.subarray(offset, offset + piece.length))).toBe(true);
      seen.push(offset);
      if (offset + piece.length < data.length) {
        // The read after this piece has begun before this piece is done with.
        for (let i = 0; i < 100 && !src.started.includes(offset + piece.length); i++) await new Promise((r) => setTimeout(r, 5));
        expect(src.started).toContain(offset + piece.length);
      }
    });
    expect(seen).toEqual([0, MiB, 2 * MiB, 3 * MiB]);
  });

  it('a failing read, a source that ends early and a failing consumer each reject the copy with their own error', async () => {
    const data = sample(4 * MiB);
    await expect(eachPiece(memorySource(data, 2 * MiB), () => undefined)).rejects.toThrow(`read at ${2 * MiB} failed`);
    const short: ByteSource = { size: data.length, read: async (offset, length) => data.subarray(offset, offset + Math.min(length, 1000)) };
    await expect(eachPiece(short, () => undefined)).rejects.toThrow('source ended early at 1000');
    // The consumer fails while the next read (which also fails) is under way: the consumer's error is the one reported.
    await expect(
      eachPiece(memorySource(data, MiB), async () => {
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    await new Promise((r) => setTimeout(r, 50)); // an unhandled rejection would be reported by now
  });
});
