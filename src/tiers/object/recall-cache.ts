// The recall cache of checked cell payloads: a byte-budgeted LRU in memory in front
// of the disk cache. Only data that passed its checksum (or was rebuilt and then
// checked) is ever put here; a disk hit is checked again, since the local disk can
// rot too. Entries are whole data cells, keyed by file copy, stripe and cell: the unit
// a read fetches, so a 4 KiB read caches one cell, not a stripe.
import { LRUCache } from 'lru-cache';
import { moduleLogger } from '../../log.js';
import { crcHex } from './cell.js';
import type { DiskCache } from './disk-cache.js';
import { blocksCovering, firstBadBlock } from './layout.js';
import type { CellRef } from './types.js';

const log = moduleLogger('object-tier');

export function cellCacheKey(fileId: string, stripe: number, cell: number): string {
  return `${fileId}.s${stripe}.c${cell}`;
}

export interface CacheCounters {
  memoryHits: number;
  diskHits: number;
  diskRejected: number;
}

function newMemory(maxSize: number): LRUCache<string, Buffer> {
  return new LRUCache<string, Buffer>({ maxSize, sizeCalculation: (b) => Math.max(1, b.length) });
}

export class RecallCache {
  private memory: LRUCache<string, Buffer> | undefined;
  readonly counters: CacheCounters = { memoryHits: 0, diskHits: 0, diskRejected: 0 };

  constructor(
    memoryBytes: number,
    readonly disk: DiskCache | undefined,
  ) {
    this.memory = memoryBytes > 0 ? newMemory(memoryBytes) : undefined;
  }

  /**
   * A new budget for the memory cache (a configuration applied while mounted). Entries
   * are kept, most recently used last in, so a smaller budget drops the least recent.
   * A cache that is off stays off: read-ahead was decided at open (a remount turns it on).
   */
  resizeMemory(bytes: number): void {
    if (!this.memory || bytes <= 0) return;
    const old = this.memory;
    this.memory = newMemory(bytes);
    for (const [key, value] of old.rentries() as Generator<[string, Buffer]>) this.memory.set(key, value);
  }

  get memoryBytes(): number {
    return this.memory?.calculatedSize ?? 0;
  }

  /** Synchronous: the memory tier only. */
  fromMemory(key: string): Buffer | undefined {
    const hit = this.memory?.get(key);
    if (hit) this.counters.memoryHits++;
    return hit;
  }

  /** The disk tier, checked against crc; a bad entry is dropped. A hit is promoted to memory. */
  async fromDisk(key: string, crc: string): Promise<Buffer | undefined> {
    const data = await this.disk?.get(key);
    if (!data) return undefined;
    if (crcHex(data) !== crc) return this.rejected(key);
    this.counters.diskHits++;
    this.memory?.set(key, data);
    return data;
  }

  /**
   * `length` bytes at `offsetInCell` of a cell's file in the disk tier, read with the whole
   * blocks around them and each block checked against the layout; a file that fails is
   * dropped (the caller fetches the cell again). Not promoted to memory: the page cache
   * holds the file's pages. A hit is the caller's to count: a read right after the fetch
   * that wrote the file is none.
   */
  async rangeFromDisk(key: string, ref: CellRef, blockSize: number, offsetInCell: number, length: number): Promise<Buffer | undefined> {
    const blocks = blocksCovering(ref, blockSize, offsetInCell, length);
    const data = await this.disk?.read(key, blocks.start, blocks.length);
    if (!data) return undefined;
    const bad = data.length === blocks.length ? firstBadBlock(data, ref, blockSize, blocks.first) : blocks.first;
    if (bad >= 0) {
      log.warn({ key, block: bad }, 'cached cell fails its checksum; fetching it again');
      return this.rejected(key);
    }
    const at = offsetInCell - blocks.start;
    return data.subarray(at, at + length);
  }

  /** A disk entry whose bytes failed their check: counted and dropped (the caller fetches the cell again). */
  private rejected(key: string): undefined {
    this.counters.diskRejected++;
    this.disk!.delete(key);
    return undefined;
  }

  /** Whether the memory tier holds key (no hit counted). */
  inMemory(key: string): boolean {
    return this.memory?.has(key) ?? false;
  }

  /** Into memory only: pieces of cells (a ranged read's blocks), which the disk cache does not keep. */
  putMemory(key: string, data: Buffer): void {
    if (data.length > 0) this.memory?.set(key, data);
  }

  has(key: string): boolean {
    return (this.memory?.has(key) ?? false) || (this.disk?.has(key) ?? false);
  }

  put(key: string, data: Buffer): void {
    if (data.length === 0) return;
    this.memory?.set(key, data);
    this.disk?.put(key, data);
  }

  /** Forgets every cell of a file copy (it was removed from the tier). */
  dropFile(fileId: string): void {
    const prefix = `${fileId}.`;
    if (this.memory) for (const key of [...this.memory.keys()]) if (key.startsWith(prefix)) this.memory.delete(key);
    this.disk?.dropPrefix(prefix);
  }

  clear(): void {
    this.memory?.clear();
  }
}
