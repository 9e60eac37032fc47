// Reading a file range from the tier, fetching only what the range needs.
//
// Good path: the data cells that cover the range, each fetched whole and checked (its
// header and checksum), no decoding: the code is systematic. Whole cells, because a
// cell is chunkSize/k (1-2 MiB) and the rest of it is what a sequential reader asks for
// next, kept in the recall cache. A small read that continues no run, inside one cell
// not cached, fetches only the 64 KiB blocks it covers with one ranged get, each checked
// against its CRC in the layout (copies written before blocks had CRCs: whole cells).
//
// A cell that is missing, damaged or on a backend that keeps failing is rebuilt with
// its stripe from any k good cells (data cells first, then parity, fetched only as
// needed). Fewer than k good cells: EIO for that stripe alone. Archived objects: a
// restore is started and the read fails with EAGAIN.
//
// Concurrent readers of one cell share one fetch; concurrent rebuilds of one stripe
// share one rebuild. A reader whose reads follow each other gets the rest of the
// stripe and the next stripes fetched ahead of it.
import { FsError } from '../../errors.js';
import { moduleLogger } from '../../log.js';
import { cellRef, fetchCell, isArchived, isLostCell, storeOf, type TierContext } from './cell-io.js';
import { crcHex, headerLength } from './cell.js';
import type { CodecCache } from './codecs.js';
import { blockCrc, cellSize, clipToFile, dataCellLength, slicesForRange, type CellSlice } from './layout.js';
import { Semaphore } from './limit.js';
import { cellCacheKey, type RecallCache } from './recall-cache.js';
import { SequentialDetector } from './sequential.js';
import { isBackendFailure, type BackendEpisodes } from './backend-episodes.js';
import type { ObjectLayout } from './types.js';

const log = moduleLogger('object-tier');

export interface ReaderSettings {
  /** whole stripes fetched ahead of a sequential reader, beyond the rest of its current stripe */
  readAheadStripes: number;
  /** read-ahead gets in flight at once (reads asked for by callers are never held back) */
  readAheadConcurrency: number;
  /** a file's restore is asked for again after this long, if reads still meet archived objects */
  restoreRetryMs: number;
  /** told how long each read that had to wait for object storage took, in seconds */
  onRecall?: (seconds: number) => void;
  /** told of each fetch's outcome per backend: a failing backend is logged once per episode */
  episodes?: BackendEpisodes;
}

export interface ReadCounters {
  /** cell objects fetched from backends (whole cells) and their bytes, headers included */
  cellsFetched: number;
  bytesFetched: number;
  /** stripes rebuilt from parity because a cell was missing, damaged or unreachable */
  degradedReads: number;
  /** cells found lost while reading (each one counted once per attempt) */
  lostCells: number;
  readAheadCells: number;
  restoresStarted: number;
  /**
   * The cells reads looked up (read-ahead's own lookups not counted): found in the
   * memory cache, found on disk (a fetch under way that the disk answered included),
   * or waited for from object storage.
   */
  cacheHitsMemory: number;
  cacheHitsDisk: number;
  cacheMisses: number;
  /** bytes of what reads returned that came from cells found in the cache */
  cacheHitBytes: number;
  /** reads answered from the blocks they cover, fetched with one ranged get (counted in cacheMisses too) */
  rangedReads: number;
}

/** A data cell's payload and whether the disk cache had it. */
interface Loaded {
  data: Buffer;
  fromDisk: boolean;
}

export class StripeReader {
  readonly counters: ReadCounters = {
    cellsFetched: 0, bytesFetched: 0, degradedReads: 0, lostCells: 0, readAheadCells: 0, restoresStarted: 0,
    cacheHitsMemory: 0, cacheHitsDisk: 0, cacheMisses: 0, cacheHitBytes: 0, rangedReads: 0,
  };
  /** single flight: cache key → the fetch (or rebuild) of that data cell under way */
  private readonly cellFetches = new Map<string, Promise<Loaded>>();
  /** single flight: fileId.stripe → the rebuild of that stripe's data cells under way */
  private readonly rebuilds = new Map<string, Promise<Buffer[]>>();
  private readonly sequential = new SequentialDetector();
  private readonly readAheadSlots: Semaphore;
  private readonly background = new Set<Promise<unknown>>();
  /** fileId → when its restore was last asked for */
  private readonly restores = new Map<string, number>();

  constructor(
    private readonly ctx: TierContext,
    private readonly codecs: CodecCache,
    private readonly cache: RecallCache,
    private readonly settings: ReaderSettings,
  ) {
    this.readAheadSlots = new Semaphore(settings.readAheadConcurrency);
  }

  async read(layout: ObjectLayout, offset: number, length: number): Promise<Buffer> {
    const start = performance.now();
    const trace = { missed: false };
    const data = await this.readRange(layout, offset, length, trace);
    if (trace.missed) this.settings.onRecall?.((performance.now() - start) / 1000);
    return data;
  }

  private async readRange(layout: ObjectLayout, offset: number, length: number, trace: { missed: boolean }): Promise<Buffer> {
    const range = clipToFile(layout.size, offset, length);
    if (range.length === 0) return Buffer.alloc(0);
    // Cells are never changed once read, so a read inside one cell is a view of it, not a copy.
    if (layout.kind === 'single') {
      const data = await this.cellForRead(layout, 0, 0, range.length, trace);
      return data.subarray(range.offset, range.offset + range.length);
    }
    const slices = slicesForRange(layout, range.offset, range.length);
    if (slices.length === 1) {
      const s = slices[0]!;
      if (!this.noteSequential(layout, range, s)) {
        const blocks = await this.fromBlocks(layout, s, trace);
        if (blocks) return blocks;
      }
      const data = await this.cellForRead(layout, s.stripe, s.cell, s.length, trace);
      return data.subarray(s.offsetInCell, s.offsetInCell + s.length);
    }
    const out = Buffer.allocUnsafe(range.length);
    const byCell = new Map<string, typeof slices>();
    for (const s of slices) {
      const key = `${s.stripe}/${s.cell}`;
      byCell.set(key, [...(byCell.get(key) ?? []), s]);
    }
    await Promise.all(
      [...byCell.values()].map(async (group) => {
        const { stripe, cell } = group[0]!;
        const bytes = group.reduce((n, s) => n + s.length, 0);
        const data = await this.cellForRead(layout, stripe, cell, bytes, trace);
        for (const s of group) data.copy(out, s.outOffset, s.offsetInCell, s.offsetInCell + s.length);
      }),
    );
    this.noteSequential(layout, range, slices[slices.length - 1]!);
    return out;
  }

  /** Whether the read continues a sequential run; such a reader gets the cells after `last` fetched ahead. */
  private noteSequential(layout: ObjectLayout, range: { offset: number; length: number }, last: { stripe: number; cell: number }): boolean {
    const sequential = this.sequential.note(layout.fileId, range.offset, range.length) > 0;
    if (sequential && this.settings.readAheadStripes > 0) this.readAhead(layout, last.stripe, last.cell);
    return sequential;
  }

  /**
   * A small read of a cell that is not cached nor on its way: only the blocks it covers,
   * from the memory cache or with one ranged get, each checked against its CRC. Undefined
   * means "read the whole cell": no block CRCs in this layout, a read too large to gain
   * from it, or a get that failed or a block that failed its CRC — the whole cell's read
   * then retries, or finds the damage and rebuilds the stripe from parity.
   */
  private async fromBlocks(layout: ObjectLayout, s: CellSlice, trace: { missed: boolean }): Promise<Buffer | undefined> {
    const size = layout.blockSize;
    const ref = cellRef(layout, s.stripe, s.cell);
    if (!size || !ref.blocks || s.length > ref.length / 4) return undefined;
    const key = cellCacheKey(layout.fileId, s.stripe, s.cell);
    if (this.cache.has(key) || this.cellFetches.has(key)) return undefined;
    const first = Math.floor(s.offsetInCell / size);
    const last = Math.floor((s.offsetInCell + s.length - 1) / size);
    const blockKeys = Array.from({ length: last - first + 1 }, (_, i) => `${key}.b${first + i}`);
    let data: Buffer;
    if (blockKeys.every((k) => this.cache.inMemory(k))) {
      const parts = blockKeys.map((k) => this.cache.fromMemory(k)!);
      data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.counters.cacheHitsMemory++;
      this.counters.cacheHitBytes += s.length;
    } else {
      const start = first * size;
      const length = Math.min((last + 1) * size, ref.length) - start;
      try {
        data = (await storeOf(this.ctx, ref).get(ref.key, { range: { offset: headerLength(layout.fileId) + start, length } })).data;
      } catch (err) {
        log.debug({ tier: this.ctx.name, fileId: layout.fileId, stripe: s.stripe, cell: s.cell, err: (err as Error).message }, 'ranged get failed; reading the whole cell');
        return undefined;
      }
      if (data.length !== length) return undefined;
      const blocks = blockKeys.map((_, i) => data.subarray(i * size, (i + 1) * size));
      const bad = blocks.findIndex((block, i) => crcHex(block) !== blockCrc(ref.blocks!, first + i));
      if (bad >= 0) {
        log.warn({ tier: this.ctx.name, fileId: layout.fileId, stripe: s.stripe, cell: s.cell, block: first + bad }, 'block fails its checksum; reading the whole cell');
        return undefined;
      }
      // Kept only once all are good: a bad block must not leave its neighbours half cached.
      blocks.forEach((block, i) => this.cache.putMemory(blockKeys[i]!, block));
      this.counters.rangedReads++;
      this.counters.cacheMisses++;
      this.counters.bytesFetched += length;
      trace.missed = true;
    }
    const at = s.offsetInCell - first * size;
    return data.subarray(at, at + s.length);
  }

  /** Resolves when read-ahead under way has finished (for close() and tests). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  forget(fileId: string): void {
    this.sequential.forget(fileId);
    this.restores.delete(fileId);
  }

  /** A data cell a read needs, counted as a cache hit (with the `bytes` of it the read returns) or a miss. */
  private async cellForRead(layout: ObjectLayout, stripe: number, cell: number, bytes: number, trace: { missed: boolean }): Promise<Buffer> {
    const key = cellCacheKey(layout.fileId, stripe, cell);
    const cached = this.cache.fromMemory(key);
    if (cached) {
      this.counters.cacheHitsMemory++;
      this.counters.cacheHitBytes += bytes;
      return cached;
    }
    const loaded = await this.load(layout, stripe, cell, key);
    if (loaded.fromDisk) {
      this.counters.cacheHitsDisk++;
      this.counters.cacheHitBytes += bytes;
    } else {
      this.counters.cacheMisses++;
      trace.missed = true;
    }
    return loaded.data;
  }

  /** One data cell's checked payload: memory, then single flight, then disk, then the backend, then a rebuild. */
  private async dataCell(layout: ObjectLayout, stripe: number, cell: number): Promise<Buffer> {
    const key = cellCacheKey(layout.fileId, stripe, cell);
    return this.cache.fromMemory(key) ?? (await this.load(layout, stripe, cell, key)).data;
  }

  /** Single flight, then disk, then the backend, then a rebuild. */
  private load(layout: ObjectLayout, stripe: number, cell: number, key: string): Promise<Loaded> {
    const running = this.cellFetches.get(key);
    if (running) return running;
    const fetch = this.loadDataCell(layout, stripe, cell, key).finally(() => this.cellFetches.delete(key));
    this.cellFetches.set(key, fetch);
    return fetch;
  }

  private async loadDataCell(layout: ObjectLayout, stripe: number, cell: number, key: string): Promise<Loaded> {
    const ref = cellRef(layout, stripe, cell);
    const fromDisk = await this.cache.fromDisk(key, ref.crc);
    if (fromDisk) return { data: fromDisk, fromDisk: true };
    if (layout.kind === 'single') return { data: await this.loadReplica(layout, key), fromDisk: false };
    try {
      const payload = await this.fetch(layout, stripe, cell);
      this.cache.put(key, payload);
      return { data: payload, fromDisk: false };
    } catch (err) {
      if (isArchived(err)) throw this.archived(layout, err);
      if (!isLostCell(err)) throw err;
      this.counters.lostCells++;
      // A failing backend is logged once per episode (fetch), not for each of its cells.
      if (!isBackendFailure(err)) {
        log.warn({ tier: this.ctx.name, fileId: layout.fileId, stripe, cell, backend: ref.backend, err: (err as Error).message }, 'cell lost; rebuilding its stripe from parity');
      }
      const cells = await this.rebuildStripe(layout, stripe, cell);
      return { data: cells[cell]!, fromDisk: false };
    }
  }

  /** A single-object file: its copies in turn until one checks out. */
  private async loadReplica(layout: ObjectLayout, key: string): Promise<Buffer> {
    const copies = layout.stripes[0]!.cells;
    const problems: string[] = [];
    let archivedErr: unknown;
    for (let copy = 0; copy < copies.length; copy++) {
      try {
        const payload = await this.fetch(layout, 0, copy);
        if (copy > 0) this.counters.degradedReads++;
        this.cache.put(key, payload);
        return payload;
      } catch (err) {
        if (isArchived(err)) archivedErr ??= err;
        else if (!isLostCell(err)) throw err;
        else this.counters.lostCells++;
        problems.push(`copy ${copy} on backend ${copies[copy]!.backend}: ${(err as Error).message}`);
      }
    }
    if (archivedErr) throw this.archived(layout, archivedErr);
    throw new FsError('EIO', `tier ${this.ctx.name}: no readable copy of ${layout.fileId} (${problems.join('; ')})`);
  }

  private async fetch(layout: ObjectLayout, stripe: number, cell: number): Promise<Buffer> {
    const { backend } = cellRef(layout, stripe, cell);
    let payload: Buffer;
    try {
      payload = await fetchCell(this.ctx, layout, stripe, cell);
    } catch (err) {
      this.settings.episodes?.failed(backend, err);
      throw err;
    }
    this.settings.episodes?.succeeded(backend);
    this.counters.cellsFetched++;
    this.counters.bytesFetched += headerLength(layout.fileId) + payload.length;
    return payload;
  }

  private rebuildStripe(layout: ObjectLayout, stripe: number, lostCell: number): Promise<Buffer[]> {
    const key = `${layout.fileId}.${stripe}`;
    const running = this.rebuilds.get(key);
    if (running) return running;
    const rebuild = this.rebuild(layout, stripe, lostCell).finally(() => this.rebuilds.delete(key));
    this.rebuilds.set(key, rebuild);
    return rebuild;
  }

  /** The k data cells of a stripe, from any k good cells of it; caches the data cells it rebuilt. */
  private async rebuild(layout: ObjectLayout, stripe: number, lostCell: number): Promise<Buffer[]> {
    const { k, m } = layout;
    const { dataLength } = layout.stripes[stripe]!;
    const good = new Map<number, Buffer>();
    for (let c = 0; c < k; c++) {
      const hit = c === lostCell ? undefined : this.cache.fromMemory(cellCacheKey(layout.fileId, stripe, c));
      if (hit) good.set(c, hit);
    }
    // Data cells first: each one fetched is one fewer to decode, and they are what readers want.
    const candidates = Array.from({ length: k + m }, (_, c) => c).filter((c) => c !== lostCell && !good.has(c));
    const problems: string[] = [`cell ${lostCell}: lost`];
    let archivedErr: unknown;
    while (good.size < k && candidates.length > 0) {
      const batch = candidates.splice(0, k - good.size);
      await Promise.all(
        batch.map(async (c) => {
          try {
            good.set(c, await this.fetch(layout, stripe, c));
          } catch (err) {
            if (isArchived(err)) archivedErr ??= err;
            else if (!isLostCell(err)) throw err;
            else this.counters.lostCells++;
            problems.push(`cell ${c}: ${(err as Error).message}`);
          }
        }),
      );
    }
    if (good.size < k) {
      if (archivedErr) throw this.archived(layout, archivedErr);
      throw new FsError(
        'EIO',
        `tier ${this.ctx.name}: stripe ${stripe} of ${layout.fileId} has ${good.size} readable cells, ${k} are needed (${problems.join('; ')})`,
      );
    }

    const size = cellSize(dataLength, k);
    const shards: (Buffer | null)[] = Array.from({ length: k + m }, (_, c) => {
      const have = good.get(c);
      if (have) return have.length === size ? have : padded(have, size);
      return c < k ? Buffer.alloc(size) : null;
    });
    const lost = shards.map((_, c) => c).filter((c) => !good.has(c));
    await this.codecs.get(k, m).decodeBatch([{ shards, lost }]);
    this.counters.degradedReads++;

    const cells: Buffer[] = [];
    for (let c = 0; c < k; c++) {
      // A copy, not a view: the shards share one slab, which a cached view would keep alive whole.
      const data = good.get(c) ?? Buffer.from(shards[c]!.subarray(0, dataCellLength(dataLength, k, c)));
      if (!good.has(c)) {
        // The good cells passed their checksums, so a rebuilt cell that fails its own is a bug, not rot.
        const ref = cellRef(layout, stripe, c);
        if (crcHex(data) !== ref.crc) throw new FsError('EIO', `tier ${this.ctx.name}: rebuilt cell ${stripe}/${c} of ${layout.fileId} fails its checksum`);
        this.cache.put(cellCacheKey(layout.fileId, stripe, c), data);
      }
      cells.push(data);
    }
    log.info({ tier: this.ctx.name, fileId: layout.fileId, stripe, rebuilt: lost.filter((c) => c < k) }, 'stripe read degraded: rebuilt from parity');
    return cells;
  }

  /** Fetches, in the background, the cells after (stripe, cell) up to the end of the read-ahead window. */
  private readAhead(layout: ObjectLayout, stripe: number, cell: number): void {
    const lastStripe = Math.min(layout.stripes.length - 1, stripe + this.settings.readAheadStripes);
    for (let s = stripe; s <= lastStripe; s++) {
      for (let c = s === stripe ? cell + 1 : 0; c < layout.k; c++) {
        if (dataCellLength(layout.stripes[s]!.dataLength, layout.k, c) === 0) continue;
        const key = cellCacheKey(layout.fileId, s, c);
        if (this.cache.has(key) || this.cellFetches.has(key)) continue;
        this.counters.readAheadCells++;
        const p = this.readAheadSlots
          .run(() => this.dataCell(layout, s, c))
          .catch((err: unknown) => log.debug({ fileId: layout.fileId, stripe: s, cell: c, err: (err as Error).message }, 'read-ahead failed'))
          .finally(() => this.background.delete(p));
        this.background.add(p);
      }
    }
  }

  /** Starts (at most every restoreRetryMs per file) the restore of a file's data objects, and returns the EAGAIN to throw. */
  private archived(layout: ObjectLayout, cause: unknown): FsError {
    const now = Date.now();
    const last = this.restores.get(layout.fileId);
    if (last === undefined || now - last > this.settings.restoreRetryMs) {
      this.restores.set(layout.fileId, now);
      this.counters.restoresStarted++;
      const wanted = layout.stripes.flatMap((s) => s.cells.slice(0, layout.kind === 'single' ? s.cells.length : layout.k));
      const p = Promise.allSettled(wanted.map((ref) => storeOf(this.ctx, ref).restore(ref.key)))
        .then((results) => {
          const failed = results.filter((r) => r.status === 'rejected');
          if (failed.length > 0) {
            this.restores.delete(layout.fileId);
            log.warn({ tier: this.ctx.name, fileId: layout.fileId, failed: failed.length, of: wanted.length }, 'could not start the restore of some archived objects');
          } else log.info({ tier: this.ctx.name, fileId: layout.fileId, objects: wanted.length }, 'restore of archived objects started');
        })
        .finally(() => this.background.delete(p));
      this.background.add(p);
    }
    return new FsError(
      'EAGAIN',
      `tier ${this.ctx.name}: file copy ${layout.fileId} is archived; a restore has been started, retry once it completes (${(cause as Error).message})`,
    );
  }
}

function padded(data: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  data.copy(out);
  return out;
}
