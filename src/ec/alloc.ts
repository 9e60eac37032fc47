// Shard buffers laid out for the kernels. Separately allocated buffers of a
// power-of-two size tend to start at the same offset within a page; the k + m
// streams a kernel walks in step then fall into the same L1 cache set, evict
// each other's prefetched lines, and coding runs from L2 at half speed
// (measured: 10+4 x 64 KiB, 21 GB/s vs 34 GB/s). Here every shard starts on a
// cache line, and each one 64 bytes further into its page than the last.
import { native } from './native.js';

const LINE = 64;

/**
 * count zero-filled buffers of size bytes each, cut from one allocation. With headroom,
 * each keeps at least that many bytes of the slab free right before it, for whoever
 * wants to prefix it without a copy (a cell's header: see encodeCellInPlace). Shared:
 * the slab is a SharedArrayBuffer, which other threads may read without a copy.
 */
export function allocateShards(count: number, size: number, headroom = 0, shared = false): Buffer[] {
  const room = Math.ceil(headroom / LINE) * LINE;
  const stride = room + Math.ceil(size / LINE) * LINE + LINE;
  const bytes = count * stride + LINE;
  const slab = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const start = native.alignOffset(shared ? new Uint8Array(slab) : (slab as ArrayBuffer)) + room;
  return Array.from({ length: count }, (_, i) => Buffer.from(slab, start + i * stride, size));
}
