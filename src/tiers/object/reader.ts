// Reading a file range from the tier, fetching only what the range needs.
//
// Good path: the data cells that cover the range, each fetched whole and checked (its
// header and checksum), no decoding: the code is systematic. Whole cells, because a
// cell is chunkSize/k (8 MiB by default) and the rest of it is what a sequential reader
// asks for next, kept in the recall cache. A small read that continues no run, inside one cell
// not cached, fetches only the 64 KiB blocks it covers with one ranged get, each checked
// against its CRC in the layout (copies written before blocks had CRCs: whole cells).
//
// A cell that is missing, damaged or on a backend that keeps failing is rebuilt with
// its stripe from any k good cells (data cells first, then parity, fetched only as
// needed). Fewer than k good cells: EIO for that stripe alone. Archived objects: a
// restore is started and the read fails with EAGAIN.
//
// With a disk cache, a data cell whose blocks have checksums is fetched as a stream
// straight into its cache file (checked as it arrives, kept only if whole and good)
// and reads are served from that file, each checking the blocks it covers: the cell's
// bytes go through the page cache, not through fresh process memory, whose first touch
// was most of the cost of a cold read. Whole cells in memory remain for copies without
// block checksums, for rebuilt cells and for tiers without a disk cache.
//
// Handles of a file read through FUSE are told which of its cells are such files
// (cellFiles): the binding then reads them itself, and this reader sees only the first
// read of each cell (its sequential detector is told of the rest).
//
// Concurrent readers of one cell share one fetch; concurrent rebuilds of one stripe
// share one rebuild. A reader whose reads follow each other gets the rest of the
// stripe and the next stripes fetched ahead of it.
import { FsError } from '../../errors.js';
import { moduleLogger } from '../../log.js';
import { cellRef, fetchCell, isArchived, isLostCell, storeOf, streamCell, type TierContext } from './cell-io.js';
import { crcHex, headerLength } from './cell.js';
import type { CodecCache } from './codecs.js';
import { blockCrcValues, blocksCovering, cellBlockCrc, cellOffset, cellSize, clipToFile, dataCellLength, firstBadBlock, slicesForRange, type CellSlice } from './layout.js';
import { Semaphore } from '../../objectstore/limit.js';
import { cellCacheKey, type RecallCache } from './recall-cache.js';
import { SequentialDetector } from './sequential.js';
import { isBackendFailure, type BackendEpisodes } from './backend-episodes.js';
import type { CellFileRef, CellFileSet, ObjectLayout } from './types.js';
import type { CheckedAs } from './disk-cache.js';

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
  /** single flight: cache key → the fetch of that data cell into its disk cache file under way (false: it failed) */
  private readonly downloads = new Map<string, Promise<boolean>>();
  /** read-ahead of these cells waits for a slot */
  private readonly readAheadQueued = new Set<string>();
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
    if (layout.kind === 'single') return this.cellRange(layout, { stripe: 0, cell: 0, offsetInCell: range.offset, length: range.length }, trace);
    const slices = slicesForRange(layout, range.offset, range.length);
    if (slices.length === 1) {
      const s = slices[0]!;
      if (!this.noteSequential(layout, range, s)) {
        const blocks = await this.fromBlocks(layout, s, trace);
        if (blocks) return blocks;
      }
      return this.cellRange(layout, s, trace);
    }
    // A contiguous range meets each cell once.
    const out = Buffer.allocUnsafe(range.length);
    await Promise.all(slices.map(async (s) => (await this.cellRange(layout, s, trace)).copy(out, s.outOffset)));
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
    if (this.cache.has(key) || this.underway(key)) return undefined;
    const { first, count, start, length } = blocksCovering(ref, size, s.offsetInCell, s.length);
    const blockKeys = Array.from({ length: count }, (_, i) => `${key}.b${first + i}`);
    let data: Buffer;
    if (blockKeys.every((k) => this.cache.inMemory(k))) {
      const parts = blockKeys.map((k) => this.cache.fromMemory(k)!);
      data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.counters.cacheHitsMemory++;
      this.counters.cacheHitBytes += s.length;
      // The binding did not serve them from the cell's file of blocks: a hole there (its
      // write failed, or the file went) or a block it found bad. Written again, either way.
      if (this.servedFromFile(layout, s.stripe, s.cell)) this.cache.disk!.addBlocks(key, ref.length, start, data);
    } else {
      try {
        data = (await storeOf(this.ctx, ref).get(ref.key, { range: { offset: headerLength(layout.fileId) + start, length } })).data;
      } catch (err) {
        log.debug({ tier: this.ctx.name, fileId: layout.fileId, stripe: s.stripe, cell: s.cell, err: (err as Error).message }, 'ranged get failed; reading the whole cell');
        return undefined;
      }
      if (data.length !== length) return undefined;
      const bad = firstBadBlock(data, ref, size, first);
      if (bad >= 0) {
        log.warn({ tier: this.ctx.name, fileId: layout.fileId, stripe: s.stripe, cell: s.cell, block: bad }, 'block fails its checksum; reading the whole cell');
        return undefined;
      }
      const blocks = blockKeys.map((_, i) => data.subarray(i * size, (i + 1) * size));
      // Kept only once all are good: a bad block must not leave its neighbours half cached.
      blocks.forEach((block, i) => this.cache.putMemory(blockKeys[i]!, block));
      // … and in the cell's file of blocks, which the binding serves the next reads from.
      if (this.servedFromFile(layout, s.stripe, s.cell)) this.cache.disk!.addBlocks(key, ref.length, start, data);
      this.counters.rangedReads++;
      this.counters.cacheMisses++;
      this.counters.bytesFetched += length;
      trace.missed = true;
    }
    const at = s.offsetInCell - start;
    return data.subarray(at, at + s.length);
  }

  /**
   * The data cells of [offset, offset+length) that are whole, at rest, in their disk cache
   * files, with their blocks' CRCs and, for a file the cache wrote from checked bytes, its
   * ctime then: a FUSE binding given them serves reads from those files itself (see
   * native/fuse/cell-files.h). The sequential detector learns that those cells' bytes are
   * read elsewhere, so that the reader's next read here still continues its run.
   */
  cellFiles(layout: ObjectLayout, offset: number, length: number): CellFileSet | undefined {
    const disk = this.cache.disk;
    if (!disk || layout.kind === 'single' || !layout.blockSize) return undefined;
    const cells: CellFileSet['cells'] = [];
    for (const s of slicesForRange(layout, offset, length)) {
      const key = cellCacheKey(layout.fileId, s.stripe, s.cell);
      if (!this.servedFromFile(layout, s.stripe, s.cell)) continue;
      const ref = cellRef(layout, s.stripe, s.cell);
      const at = cellOffset(layout, s.stripe, s.cell);
      // A cell cached whole, else one of which some blocks were read: a sparse file, served
      // unchecked only in the blocks written from checked bytes since its ctime last moved.
      const crcs = blockCrcValues(ref, layout.blockSize)!; // (servedFromFile: a CRC for every block)
      let file: Pick<CellFileRef, 'path' | 'checkedBlocks'>;
      let checked: CheckedAs | undefined;
      if (disk.has(key)) {
        file = { path: disk.pathOf(key) };
        checked = disk.checkedAs(key);
        // (A sequential reader is served whole cells; blocks are what random readers leave.)
        this.sequential.servedElsewhere(layout.fileId, at, at + ref.length);
      } else {
        const blocks = disk.blocksOf(key);
        if (!blocks) continue;
        const good = new Uint8Array(crcs.length);
        for (const [from, to] of blocks.ranges) good.fill(1, Math.floor(from / layout.blockSize), Math.ceil(to / layout.blockSize));
        file = { path: blocks.path, checkedBlocks: good };
        checked = blocks.ctimeNs >= 0n ? blocks : undefined;
      }
      cells.push({
        offset: at, length: ref.length, crcs, ...file,
        ...(checked !== undefined && {
          checkedIno: Number(checked.ino),
          checkedCtimeSec: Number(checked.ctimeNs / 1_000_000_000n),
          checkedCtimeNsec: Number(checked.ctimeNs % 1_000_000_000n),
        }),
      });
    }
    return { fileSize: layout.size, blockSize: layout.blockSize, cells };
  }

  /**
   * A data cell's checked payload for a copy of the whole file (a move to a local tier):
   * from memory if there, else streamed from its backend into `into` (memory the caller
   * reuses: fresh memory's first touch costs more than the copy), and not kept in the
   * recall cache. A stream that fails is fetched again whole, and a lost cell rebuilt from
   * parity, as for any read.
   */
  async cellForCopy(layout: ObjectLayout, stripe: number, cell: number, into: Buffer): Promise<Buffer> {
    const cached = this.cache.fromMemory(cellCacheKey(layout.fileId, stripe, cell));
    if (cached) return cached;
    const ref = cellRef(layout, stripe, cell);
    if (into.length >= ref.length) {
      try {
        let at = 0;
        // Checked as it arrives, and whole (length and CRC) once the stream ends.
        for await (const chunk of streamCell(this.ctx, layout, stripe, cell)) at += chunk.copy(into, at);
        this.countFetched(layout, ref.backend, at);
        return into.subarray(0, at);
      } catch (err) {
        log.debug({ tier: this.ctx.name, fileId: layout.fileId, stripe, cell, err: (err as Error).message }, 'streamed fetch for a copy failed; fetching the whole cell');
      }
    }
    try {
      return await this.fetch(layout, stripe, cell);
    } catch (err) {
      if (isArchived(err)) throw this.archived(layout, err);
      if (!isLostCell(err)) throw err;
      this.counters.lostCells++;
      return (await this.rebuildStripe(layout, stripe, cell))[cell]!;
    }
  }

  /** Resolves when read-ahead under way has finished (for close() and tests). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  forget(fileId: string): void {
    this.sequential.forget(fileId);
    this.restores.delete(fileId);
  }

  /** Bytes of a data cell a read needs, counted as a cache hit or a miss. */
  private async cellRange(layout: ObjectLayout, s: Omit<CellSlice, 'outOffset'>, trace: { missed: boolean }): Promise<Buffer> {
    const { stripe, cell, offsetInCell, length } = s;
    const key = cellCacheKey(layout.fileId, stripe, cell);
    const cached = this.cache.fromMemory(key);
    if (cached) {
      this.counters.cacheHitsMemory++;
      this.counters.cacheHitBytes += length;
      return cached.subarray(offsetInCell, offsetInCell + length);
    }
    if (this.servedFromFile(layout, stripe, cell)) {
      const data = await this.fromCellFile(layout, s, key, trace);
      if (data) return data;
    }
    const loaded = await this.load(layout, stripe, cell, key);
    if (loaded.fromDisk) {
      this.counters.cacheHitsDisk++;
      this.counters.cacheHitBytes += length;
    } else {
      this.counters.cacheMisses++;
      trace.missed = true;
    }
    return loaded.data.subarray(offsetInCell, offsetInCell + length);
  }

  /** Whether reads of this data cell are served from its file in the disk cache (see the top of this file). */
  private servedFromFile(layout: ObjectLayout, stripe: number, cell: number): boolean {
    const disk = this.cache.disk;
    if (!disk || layout.kind === 'single') return false;
    const ref = cellRef(layout, stripe, cell);
    return ref.length <= disk.budget && cellBlockCrc(ref, layout.blockSize, 0) !== undefined;
  }

  /**
   * The bytes from the cell's file in the disk cache, fetched into it first if it is not
   * there, each block they cover checked against the layout. Undefined: read the cell the
   * whole-cell way — its fetch failed (that way retries, or finds the damage and rebuilds
   * the stripe from parity), or its file failed the check (dropped, then fetched again).
   */
  private async fromCellFile(layout: ObjectLayout, s: Omit<CellSlice, 'outOffset'>, key: string, trace: { missed: boolean }): Promise<Buffer | undefined> {
    const fetched = !this.cache.disk!.has(key);
    if (fetched && !(await this.download(layout, s.stripe, s.cell, key))) return undefined;
    const data = await this.cache.rangeFromDisk(key, cellRef(layout, s.stripe, s.cell), layout.blockSize!, s.offsetInCell, s.length);
    if (!data) return undefined;
    if (fetched) {
      this.counters.cacheMisses++;
      trace.missed = true;
    } else {
      this.counters.cacheHitsDisk++;
      this.cache.counters.diskHits++;
      this.counters.cacheHitBytes += s.length;
    }
    return data;
  }

  /** Fetches a data cell into its disk cache file, once at a time per cell; false if that failed, or the cache may not take it (mayTake). */
  private download(layout: ObjectLayout, stripe: number, cell: number, key: string): Promise<boolean> {
    const running = this.downloads.get(key);
    if (running) return running;
    if (this.cache.disk!.has(key)) return Promise.resolve(true);
    const ref = cellRef(layout, stripe, cell);
    // A new file only while the cache's filesystem has room (what it holds is served still).
    if (!this.cache.disk!.mayTake(ref.length)) return Promise.resolve(false);
    const fetch = this.cache
      .disk!.store(key, ref.length, streamCell(this.ctx, layout, stripe, cell))
      .then(() => {
        this.countFetched(layout, ref.backend, ref.length);
        return true;
      })
      .catch((err: unknown) => {
        log.debug({ tier: this.ctx.name, fileId: layout.fileId, stripe, cell, err: (err as Error).message }, 'fetch into the disk cache failed; reading the whole cell');
        return false;
      })
      .finally(() => this.downloads.delete(key));
    this.downloads.set(key, fetch);
    return fetch;
  }

  /** Whether the cell is being fetched, or waits for a read-ahead slot to be. */
  private underway(key: string): boolean {
    return this.cellFetches.has(key) || this.downloads.has(key) || this.readAheadQueued.has(key);
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
    this.countFetched(layout, backend, payload.length);
    return payload;
  }

  /** A cell object came whole from `backend`: counted, and the backend known to answer. */
  private countFetched(layout: ObjectLayout, backend: number, payloadBytes: number): void {
    this.settings.episodes?.succeeded(backend);
    this.counters.cellsFetched++;
    this.counters.bytesFetched += headerLength(layout.fileId) + payloadBytes;
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
        if (this.cache.has(key) || this.underway(key)) continue;
        this.counters.readAheadCells++;
        this.readAheadQueued.add(key);
        const p = this.readAheadSlots
          .run<unknown>(() => {
            this.readAheadQueued.delete(key);
            return this.servedFromFile(layout, s, c) ? this.download(layout, s, c, key) : this.dataCell(layout, s, c);
          })
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
