// Test data: deterministic bodies, streams of any length that cost no memory, and a
// sampler of the process's resident memory.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';

/** `size` pseudo-random bytes that depend on `seed`, so two bodies of one size differ. */
export function body(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    if (i + 4 <= size) out.writeUInt32LE(x, i);
    else for (let j = i; j < size; j++) out[j] = (x >>> ((j - i) * 8)) & 0xff;
  }
  return out;
}

/** A stream of `chunks` Buffers, to test puts of streams with the same bytes as a Buffer put. */
export function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkSize) chunks.push(data.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

/**
 * `total` bytes made on the fly from one random MiB with the chunk number stamped in,
 * and their CRC-32 once the stream ended: a huge body that is never in memory whole.
 */
export function generatedStream(total: number): { stream: Readable; crc: () => number } {
  const CHUNK = 2 ** 20;
  const pattern = randomBytes(CHUNK);
  let crc = 0;
  let made = 0;
  let n = 0;
  const stream = new Readable({
    highWaterMark: CHUNK,
    read() {
      if (made >= total) return void this.push(null);
      const size = Math.min(CHUNK, total - made);
      const chunk = Buffer.from(pattern.subarray(0, size));
      if (size >= 8) chunk.writeDoubleLE(n++, 0);
      crc = crc32(chunk, crc);
      made += size;
      this.push(chunk);
    },
  });
  return { stream, crc: () => crc };
}

/**
 * Samples memory every few milliseconds until stopped; returns the peak growth over
 * the start of RSS and of the memory held by Buffers. Both, because RSS alone can hide
 * growth when the allocator reuses pages an earlier test left mapped.
 */
export function memorySampler(everyMs = 20): { stop: () => { rss: number; buffers: number } } {
  const start = process.memoryUsage();
  let peakRss = start.rss;
  let peakBuffers = start.arrayBuffers;
  const sample = () => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { rss: peakRss - start.rss, buffers: peakBuffers - start.arrayBuffers };
    },
  };
}
