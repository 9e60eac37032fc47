// Pure arithmetic of the object layout: where the chunks of a file begin, how a chunk
// is cut into k data cells, which cell bytes hold a file range, and on which backend
// each cell lives. Nothing here does I/O; the writer records its answers in the
// ObjectLayout, so a later change of these rules never breaks files already written.
import { crc32 } from 'node:zlib';
import { crcHex } from './cell.js';
import type { CellRef, ObjectLayout } from './types.js';

export function stripeCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** File bytes held by stripe `index` (only the last one is short). */
export function stripeDataLength(size: number, chunkSize: number, index: number): number {
  return Math.max(0, Math.min(chunkSize, size - index * chunkSize));
}

/** Bytes per cell of a stripe: every cell, parity included, is coded at this length. */
export function cellSize(dataLength: number, k: number): number {
  return Math.ceil(dataLength / k);
}

/**
 * Real payload of data cell `cell` (< k): the stripe's bytes it holds. The last data
 * cells of a short stripe hold fewer bytes than cellSize, or none; they are padded
 * with zeros only for coding, never stored padded.
 */
export function dataCellLength(dataLength: number, k: number, cell: number): number {
  const size = cellSize(dataLength, k);
  return Math.max(0, Math.min(size, dataLength - cell * size));
}

/** Where a data cell's bytes start in the file. */
export function cellOffset(layout: Pick<ObjectLayout, 'chunkSize' | 'k' | 'stripes'>, stripe: number, cell: number): number {
  return stripe * layout.chunkSize + cell * cellSize(layout.stripes[stripe]!.dataLength, layout.k);
}

/** Stored payload of any cell: data cells their real bytes, parity cells the full cell size. */
export function payloadLength(dataLength: number, k: number, cell: number): number {
  return cell < k ? dataCellLength(dataLength, k, cell) : cellSize(dataLength, k);
}

/**
 * A data cell's checksummed blocks: small enough that a 4 KiB read fetches little more
 * than it needs, large enough that a big file's layout stays a few bytes per 64 KiB.
 */
export const BLOCK_SIZE = 64 * 1024;

/** The checksum of block `index` in CellRef.blocks. */
export function blockCrc(blocks: string, index: number): string {
  return blocks.slice(index * 8, index * 8 + 8);
}

/**
 * The checksum of block `index` of a data cell, if its layout lets it be checked block by
 * block: from CellRef.blocks, or, for a cell of one block, its own checksum. Undefined for
 * copies written before blocks had checksums (ObjectLayout.blockSize absent).
 */
export function cellBlockCrc(ref: CellRef, blockSize: number | undefined, index: number): string | undefined {
  if (!blockSize) return undefined;
  if (ref.blocks) return blockCrc(ref.blocks, index);
  return index === 0 && ref.length <= blockSize ? ref.crc : undefined;
}

/** The CRC-32 of every block of a data cell, as numbers; undefined when cellBlockCrc has none. */
export function blockCrcValues(ref: CellRef, blockSize: number | undefined): Uint32Array | undefined {
  if (!blockSize || ref.length === 0) return undefined;
  const count = Math.ceil(ref.length / blockSize);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const hex = cellBlockCrc(ref, blockSize, i);
    if (hex === undefined) return undefined;
    out[i] = parseInt(hex, 16);
  }
  return out;
}

/** The whole blocks of a cell that hold [offsetInCell, offsetInCell+length): the first one, and their byte range in the cell. */
export function blocksCovering(ref: CellRef, blockSize: number, offsetInCell: number, length: number): { first: number; count: number; start: number; length: number } {
  const first = Math.floor(offsetInCell / blockSize);
  const count = Math.floor((offsetInCell + length - 1) / blockSize) - first + 1;
  const start = first * blockSize;
  return { first, count, start, length: Math.min(start + count * blockSize, ref.length) - start };
}

/** The first of `data`'s blocks (block `first` of the cell onwards) whose checksum is not the layout's, or -1. */
export function firstBadBlock(data: Uint8Array, ref: CellRef, blockSize: number, first: number): number {
  for (let at = 0, i = first; at < data.length; at += blockSize, i++) {
    if (crcHex(data.subarray(at, at + blockSize)) !== cellBlockCrc(ref, blockSize, i)) return i;
  }
  return -1;
}

/** One piece of a read: `length` bytes at `offsetInCell` of a data cell, landing at `outOffset` of the result. */
export interface CellSlice {
  stripe: number;
  cell: number;
  offsetInCell: number;
  length: number;
  outOffset: number;
}

/** The range [offset, offset+length) clipped to the file. */
export function clipToFile(size: number, offset: number, length: number): { offset: number; length: number } {
  const start = Math.min(Math.max(0, offset), size);
  return { offset: start, length: Math.max(0, Math.min(length, size - start)) };
}

/** The data-cell slices that hold [offset, offset+length) of a striped file, in file order. */
export function slicesForRange(layout: Pick<ObjectLayout, 'size' | 'k' | 'chunkSize' | 'stripes'>, offset: number, length: number): CellSlice[] {
  const range = clipToFile(layout.size, offset, length);
  const slices: CellSlice[] = [];
  let pos = range.offset;
  const end = range.offset + range.length;
  while (pos < end) {
    const stripe = Math.floor(pos / layout.chunkSize);
    const inStripe = pos - stripe * layout.chunkSize;
    const dataLength = layout.stripes[stripe]!.dataLength;
    const size = cellSize(dataLength, layout.k);
    const cell = Math.floor(inStripe / size);
    const offsetInCell = inStripe - cell * size;
    const n = Math.min(end - pos, dataCellLength(dataLength, layout.k, cell) - offsetInCell);
    slices.push({ stripe, cell, offsetInCell, length: n, outOffset: pos - range.offset });
    pos += n;
  }
  return slices;
}

/** A per-file starting backend, so small files do not all put their first cell on backend 0. */
export function fileRotation(fileId: string, backends: number): number {
  return crc32(fileId) % backends;
}

/**
 * Backend of each cell of stripe `stripe`: round-robin over the backends, rotated by
 * one per stripe so that parity (the last m cells) lands on every backend in turn and
 * no backend holds all the parity of a file.
 */
export function placeStripe(fileId: string, stripe: number, cells: number, backends: number): number[] {
  const start = (fileRotation(fileId, backends) + stripe) % backends;
  return Array.from({ length: cells }, (_, c) => (start + c) % backends);
}

/** Backends of the copies of a single-object file: distinct backends, as many as asked and available. */
export function placeReplicas(fileId: string, copies: number, backends: number): number[] {
  const start = fileRotation(fileId, backends);
  return Array.from({ length: Math.min(copies, backends) }, (_, c) => (start + c) % backends);
}

/** Copies of a small file: as many losses survived as a stripe (m), where there are backends for them. */
export function replicaCount(m: number, backends: number): number {
  return Math.min(m + 1, backends);
}

/**
 * How many backends may be lost, any of them, with every file still readable.
 *
 * A stripe's k+m cells go round-robin over B backends, so each backend holds
 * floor((k+m)/B) or ceil((k+m)/B) cells of every stripe. Losing L backends loses at
 * worst the cells of the L fullest ones; the stripe survives while that is at most m.
 * With B >= k+m that is simply m. With fewer backends several cells share one, and
 * the answer drops, to 0 when one backend holds more than m cells (8+3 over 3
 * backends: 4 cells each, so one lost backend loses data). Small files are copied to
 * min(m+1, B) backends and survive one loss fewer than their copies.
 */
export function survivableBackendLosses(k: number, m: number, backends: number): number {
  const n = k + m;
  const loads = Array.from({ length: backends }, (_, b) => Math.floor(n / backends) + (b < n % backends ? 1 : 0)).sort((a, b) => b - a);
  let lost = 0;
  let losses = 0;
  for (const load of loads) {
    if (lost + load > m) break;
    lost += load;
    losses++;
  }
  // Losing every backend is never survivable, even when the fullest ones hold nothing.
  const striped = Math.min(losses, backends - 1);
  const single = replicaCount(m, backends) - 1;
  return Math.min(striped, single);
}
