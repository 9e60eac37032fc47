// The recall cache on local disk: one file per cached cell payload in a directory of
// its own, kept under a byte budget, least recently used out first. It outlives the
// daemon: at start the index is rebuilt by scanning the directory, ordered by each
// file's mtime, which the cache sets itself on every write and hit from one clock
// that never repeats a value (atime cannot be trusted: noatime and relatime mounts;
// and the time the kernel gives a written file is coarse, a jiffy behind a precise
// utimes, so a file written just after a hit could look older than it). Files are written to a temporary name and renamed, so a crash
// leaves either a whole entry or a temporary file, which the next scan deletes.
// Entries are checked against the layout's checksum by the caller on every hit. The cache
// remembers the ctime of each file it wrote from checked bytes (and carries it over its own
// touches): while a file's ctime is that one, nothing has written to it since.
//
// Besides whole entries (put, get), an entry can be written from a stream as it arrives
// (store) and read by ranges (read): the reader serves a cell from its file that way, so
// the cell's bytes pass through the page cache rather than through fresh process memory.
// A few files stay open for those reads; an entry removed while a read uses its file
// is closed once that read is done (its bytes stay valid: an entry's name never gets
// other bytes).
//
// A cell read in small pieces (each a ranged get of the blocks it covers) is kept as a
// sparse file of the cell's length beside where the whole cell would be (addBlocks):
// the blocks fetched are written at their places, the rest are holes. Unlike a whole
// entry it is written in place, so its bytes are never trusted as they are: the FUSE
// binding serves a read from it only once the blocks the read covers are data (not
// holes) and match their CRCs, and sends the read on to JavaScript otherwise. It counts
// in the budget by the blocks written, and goes when the whole cell is stored.
//
// The budget is an upper bound: the cache also leaves part of its filesystem free
// (mayTake). It lives in the data directory, beside the catalog, whose commits stop the
// daemon when the disk is full, and often beside local tiers: a cache that took the
// last free bytes would turn recalls into a mount that stops.
import { randomBytes } from 'node:crypto';
import { constants, statfsSync, type BigIntStats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { moduleLogger } from '../../log.js';

const log = moduleLogger('object-tier');
const TEMP_MARK = '.tmp-';
/** The suffix of an entry's file of blocks (addBlocks). */
const BLOCKS_MARK = '.blocks';
/** Bytes a streamed entry gathers before each write. */
const STORE_BATCH = 512 * 1024;
/** Entry files kept open for ranged reads, most recently read last. */
const OPEN_FILES = 128;
/** What the cache leaves free on its filesystem: 5% of it, at most 1 GiB (mayTake). */
const KEEP_FREE_SHARE = 0.05;
const KEEP_FREE_MAX = 1024 ** 3;
/** How long a look at the filesystem's free space stands for (a statfs per write costs more than it tells). */
const FREE_SPACE_TTL_MS = 1000;

interface OpenFile {
  handle: Promise<FileHandle>;
  readers: number;
  /** closed once its readers are done: the entry went, or more files are open than OPEN_FILES */
  retired: boolean;
}

/** A file of the cache as it was when it was written from checked bytes: while it still is, nothing else wrote to it. */
export interface CheckedAs {
  ino: bigint;
  ctimeNs: bigint;
}

export class DiskCache {
  /** name → size, oldest access first (a Map keeps insertion order; a hit re-inserts) */
  private readonly index = new Map<string, number>();
  private bytes = 0;
  /** writes, deletions and touches under way, so close() and tests can wait for them */
  private readonly pending = new Set<Promise<unknown>>();
  /** the last recency stamp given, in ms; each new one is later, so the order survives a restart */
  private lastStamp = 0;
  private readonly files = new Map<string, OpenFile>();
  /** name → the file's inode and ctime when it was written whole from checked bytes */
  private readonly checked = new Map<string, CheckedAs>();
  /**
   * Files of blocks that exist with the entry's length (written once): only those are
   * given out. With the ranges this process wrote to each from checked bytes, and the
   * file's ctime after the last of those writes: while it is still that, nothing else wrote.
   */
  private readonly blocksWritten = new Map<string, CheckedAs & { ranges: [number, number][] }>();
  /** entries being stored (store): true once dropped meanwhile, so that they are not kept */
  private readonly storing = new Map<string, boolean>();
  /** their sizes together: not counted in bytes until stored, and on their way to the disk */
  private storingBytes = 0;

  private constructor(
    readonly dir: string,
    private budgetBytes: number,
  ) {}

  get budget(): number {
    return this.budgetBytes;
  }

  private freeSpace = { atMs: -Infinity, bytesThen: 0, free: 0, keep: 0 };
  private shortOfSpace = false;

  /**
   * Whether a new entry of `size` bytes may be written: within the budget, and leaving the
   * filesystem its free share (what was free at the last look, less what the cache has
   * written since and what the stores under way will write). Entries held are not evicted for it — one evicted while open frees
   * nothing, and evicting on for that would empty the cache: the cache stops growing.
   */
  mayTake(size: number): boolean {
    if (size > this.budgetBytes) return false;
    const now = Date.now();
    if (now - this.freeSpace.atMs > FREE_SPACE_TTL_MS) {
      try {
        const fsStat = statfsSync(this.dir);
        const total = fsStat.blocks * fsStat.bsize;
        this.freeSpace = { atMs: now, bytesThen: this.bytes, free: fsStat.bavail * fsStat.bsize, keep: Math.min(KEEP_FREE_MAX, total * KEEP_FREE_SHARE) };
      } catch {
        this.freeSpace = { ...this.freeSpace, atMs: now, free: Infinity }; // the directory went: the budget alone
      }
    }
    const { bytesThen, free, keep } = this.freeSpace;
    const fits = size <= free - Math.max(0, this.bytes - bytesThen) - this.storingBytes - keep;
    if (fits === this.shortOfSpace) {
      this.shortOfSpace = !fits;
      if (!fits) log.warn({ dir: this.dir, budget: this.budgetBytes, held: this.bytes, free }, 'the disk cache takes no more for now: its filesystem is short of space (it leaves 5% free, at most 1 GiB)');
      else log.info({ dir: this.dir, held: this.bytes }, 'the disk cache takes new entries again');
    }
    return fits;
  }

  /** A new byte budget (a configuration applied while mounted); a smaller one evicts the least recent at once. */
  resize(bytes: number): void {
    this.budgetBytes = bytes;
    this.evict();
  }

  static async open(dir: string, budget: number): Promise<DiskCache> {
    await mkdir(dir, { recursive: true });
    const cache = new DiskCache(dir, budget);
    const found: { name: string; size: number; mtime: number }[] = [];
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (name.includes(TEMP_MARK)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      try {
        const st = await stat(path);
        // A file of blocks holds what was written to it, not its length.
        if (st.isFile()) found.push({ name, size: name.endsWith(BLOCKS_MARK) ? st.blocks * 512 : st.size, mtime: st.mtimeMs });
      } catch {
        // vanished while we scanned: nothing to index
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    cache.lastStamp = found.at(-1)?.mtime ?? 0;
    for (const f of found) {
      cache.index.set(f.name, f.size);
      cache.bytes += f.size;
      if (f.name.endsWith(BLOCKS_MARK)) cache.blocksWritten.set(f.name, { ino: -1n, ctimeNs: -1n, ranges: [] });
    }
    cache.evict();
    log.debug({ dir, entries: cache.index.size, bytes: cache.bytes }, 'disk cache opened');
    return cache;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  get entries(): number {
    return this.index.size;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** Where an entry's file is (it holds the entry's bytes whole whenever it exists). */
  pathOf(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Entries read by someone else (the FUSE binding reads cell files itself) are the most
   * recently used now; paths outside this cache are ignored. Their files are not touched:
   * a touch would change their ctime, and after a restart they rank from their last touch.
   */
  noteRead(paths: string[]): void {
    for (const path of paths) {
      const name = basename(path);
      if (path !== this.pathOf(name)) continue;
      const size = this.index.get(name);
      if (size === undefined) continue;
      this.index.delete(name);
      this.index.set(name, size);
    }
  }

  /** The entry file's inode and ctime (ns) when it was written whole from checked bytes, if this process wrote it. */
  checkedAs(name: string): CheckedAs | undefined {
    return this.checked.get(name);
  }

  /** Notes the inode and ctime of a file just written whole from checked bytes (see checkedAs). */
  private async noteChecked(name: string, path: string): Promise<void> {
    const st = await stat(path, { bigint: true });
    this.checked.set(name, { ino: st.ino, ctimeNs: st.ctimeNs });
  }

  /**
   * Stamps the entry's recency into its mtime. A touch changes the file's ctime too: a
   * checked ctime is carried over when the file had it just before the touch.
   */
  private touch(name: string, path: string): void {
    const stamp = this.stamp();
    this.track(
      (async () => {
        const before = this.checked.get(name);
        if (before !== undefined) {
          const st = await stat(path, { bigint: true });
          if (st.ino !== before.ino || st.ctimeNs !== before.ctimeNs) this.checked.delete(name);
        }
        await utimes(path, stamp, stamp);
        if (before !== undefined && this.checked.get(name) === before) await this.noteChecked(name, path);
      })().catch(() => this.checked.delete(name)),
    );
  }

  /** The entry's bytes, or undefined when it is not cached (or vanished). */
  async get(name: string): Promise<Buffer | undefined> {
    const size = this.index.get(name);
    if (size === undefined) return undefined;
    this.index.delete(name);
    this.index.set(name, size);
    try {
      const data = await readFile(join(this.dir, name));
      this.touch(name, join(this.dir, name));
      return data;
    } catch {
      this.forget(name);
      return undefined;
    }
  }

  /** Stores an entry (in the background; see idle()). Entries larger than the whole budget are not kept. */
  put(name: string, data: Uint8Array): void {
    if (this.index.has(name) || !this.mayTake(data.length)) return;
    // Counted at once, so the budget holds even while writes are under way.
    this.index.set(name, data.length);
    this.delete(name + BLOCKS_MARK);
    this.bytes += data.length;
    this.evict();
    const path = join(this.dir, name);
    const temp = `${path}${TEMP_MARK}${randomBytes(4).toString('hex')}`;
    const stamp = this.stamp();
    this.track(
      writeFile(temp, data)
        .then(() => utimes(temp, stamp, stamp))
        .then(() => rename(temp, path))
        .then(() => {
          // Evicted while it was being written: the rename brought it back, so delete it now.
          if (!this.index.has(name)) return unlink(path).catch(() => undefined);
          return this.noteChecked(name, path);
        })
        .catch((err: unknown) => {
          log.warn({ dir: this.dir, name, err: (err as Error).message }, 'could not write a disk cache entry');
          this.forget(name);
          return unlink(temp).catch(() => undefined);
        }),
    );
  }

  /**
   * Writes checked blocks of an entry that is not cached whole into its file of blocks (a
   * sparse file of the entry's `size`), at `offset` (in the background; see idle()).
   */
  addBlocks(name: string, size: number, offset: number, data: Uint8Array): void {
    if (this.index.has(name) || this.storing.has(name) || !this.mayTake(data.length)) return;
    const blocks = name + BLOCKS_MARK;
    const path = join(this.dir, blocks);
    // Counted at once as if all of data were new, then as what the file holds once written
    // (a block written again is not counted twice); most recently used: last.
    const before = this.index.get(blocks) ?? 0;
    this.index.delete(blocks);
    this.index.set(blocks, before + data.length);
    this.bytes += data.length;
    this.evict();
    this.track(
      (async () => {
        const file = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
        let st: BigIntStats;
        try {
          if ((await file.stat()).size !== size) await file.truncate(size);
          // A write may take fewer bytes than asked (a filesystem filling up) without an
          // error: the rest is written on, or the error comes. The range is recorded as
          // checked only once all of it is there — else a hole in it would be served as zeros.
          for (let done = 0; done < data.length; ) {
            const { bytesWritten } = await file.write(data, done, data.length - done, offset + done);
            if (bytesWritten === 0) throw new Error('the write took no bytes');
            done += bytesWritten;
          }
          st = await file.stat({ bigint: true });
        } finally {
          await file.close();
        }
        // The file at the name now: evicted while this wrote, and made again by another
        // write, the name is another file, which this one's blocks are not in.
        const now = await stat(path, { bigint: true }).catch(() => undefined);
        const counted = this.index.get(blocks);
        // Evicted (or the whole entry stored) while it was being written: not kept.
        if (counted === undefined) return void (await unlink(path).catch(() => undefined));
        if (now?.ino !== st.ino) return;
        const held = Number(st.blocks) * 512;
        this.index.set(blocks, held);
        this.bytes += held - counted;
        const known = this.blocksWritten.get(blocks);
        const ranges = known?.ino === st.ino ? known.ranges : [];
        this.blocksWritten.set(blocks, { ino: st.ino, ctimeNs: st.ctimeNs, ranges: [...ranges, [offset, offset + data.length]] });
      })().catch((err: unknown) => {
        log.warn({ dir: this.dir, name: blocks, err: (err as Error).message }, 'could not write blocks of a disk cache entry');
        this.delete(blocks);
      }),
    );
  }

  /**
   * The entry's file of blocks (addBlocks), once one has been written: where it is, and
   * the ranges this process wrote to it from checked bytes by the ctime it has had since
   * (-1: none known, a file found at start).
   */
  blocksOf(name: string): (CheckedAs & { path: string; ranges: readonly [number, number][] }) | undefined {
    const written = this.blocksWritten.get(name + BLOCKS_MARK);
    return written && { path: join(this.dir, name + BLOCKS_MARK), ...written };
  }

  /**
   * Stores an entry from its bytes as they come, and resolves once it is in place. The
   * chunks are written to a temporary file, renamed when the iterable ends; if it throws
   * (the caller's checks of what arrived failed) or a write fails, nothing is kept and the
   * error is passed on. The caller makes sure it may (mayTake).
   */
  async store(name: string, size: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const path = join(this.dir, name);
    const temp = `${path}${TEMP_MARK}${randomBytes(4).toString('hex')}`;
    this.storing.set(name, false);
    this.storingBytes += size;
    const work = (async () => {
      const file = await open(temp, 'wx');
      try {
        // Written in batches: each write is a hand-off to another thread, which costs more
        // than the copy of a socket's chunk (on a virtual machine, a cross-CPU wake-up).
        // One batch is written while the next arrives.
        let batch: Uint8Array[] = [];
        let batched = 0;
        // (A failure of the chunks leaves a write under way: close waits for it.)
        let writing: Promise<unknown> = Promise.resolve();
        for await (const chunk of chunks) {
          batch.push(chunk);
          batched += chunk.length;
          if (batched < STORE_BATCH) continue;
          await writing;
          writing = file.writev(batch);
          writing.catch(() => undefined); // awaited before the next batch, or below
          batch = [];
          batched = 0;
        }
        await writing;
        if (batched > 0) await file.writev(batch);
      } finally {
        await file.close();
      }
      const stamp = this.stamp();
      await utimes(temp, stamp, stamp);
      await rename(temp, path);
    })();
    this.track(work);
    try {
      await work;
    } catch (err) {
      this.storing.delete(name);
      await unlink(temp).catch(() => undefined);
      throw err;
    } finally {
      this.storingBytes -= size;
    }
    const dropped = this.storing.get(name) === true;
    this.storing.delete(name);
    // Its copy went while it was being fetched (dropPrefix): nobody will read it again.
    if (dropped) {
      await unlink(path).catch(() => undefined);
      return;
    }
    this.forget(name);
    this.index.set(name, size);
    this.bytes += size;
    this.delete(name + BLOCKS_MARK);
    this.evict();
    if (this.index.has(name)) await this.noteChecked(name, path).catch(() => undefined);
  }

  /**
   * `length` bytes at `offset` of an entry (fewer at its end), or undefined when it is not
   * cached or vanished. Marks the entry as recently used; its recency survives a restart
   * from when its file was last opened, not from every read.
   */
  async read(name: string, offset: number, length: number): Promise<Buffer | undefined> {
    const size = this.index.get(name);
    if (size === undefined) return undefined;
    this.index.delete(name);
    this.index.set(name, size);
    const file = this.openFile(name);
    file.readers++;
    try {
      const handle = await file.handle;
      const out = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
      const { bytesRead } = await handle.read(out, 0, out.length, offset);
      return out.subarray(0, bytesRead);
    } catch {
      this.remove(name);
      return undefined;
    } finally {
      file.readers--;
      this.closeIfDone(file);
    }
  }

  private openFile(name: string): OpenFile {
    const known = this.files.get(name);
    if (known) {
      this.files.delete(name);
      this.files.set(name, known);
      return known;
    }
    const path = join(this.dir, name);
    const file: OpenFile = { handle: open(path, 'r'), readers: 0, retired: false };
    file.handle.catch(() => undefined);
    this.touch(name, path);
    this.files.set(name, file);
    for (const old of this.files.keys()) {
      if (this.files.size <= OPEN_FILES) break;
      this.retire(old);
    }
    return file;
  }

  private retire(name: string): void {
    const file = this.files.get(name);
    if (!file) return;
    this.files.delete(name);
    file.retired = true;
    this.closeIfDone(file);
  }

  private closeIfDone(file: OpenFile): void {
    if (file.retired && file.readers === 0) this.track(file.handle.then((h) => h.close()));
  }

  /** Closes the files kept open for reads (the tier closes). */
  async close(): Promise<void> {
    for (const name of [...this.files.keys()]) this.retire(name);
    await this.idle();
  }

  /** Drops one entry (a file found damaged). */
  delete(name: string): void {
    if (this.index.has(name)) this.remove(name);
  }

  /** Drops every entry whose name starts with prefix (a removed copy's cells), those being stored too. */
  dropPrefix(prefix: string): void {
    for (const name of [...this.index.keys()]) {
      if (name.startsWith(prefix)) this.remove(name);
    }
    for (const name of this.storing.keys()) if (name.startsWith(prefix)) this.storing.set(name, true);
  }

  /** Resolves when every background write and deletion has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** A recency stamp (seconds, as utimes takes them) later than every one given before. */
  private stamp(): number {
    this.lastStamp = Math.max(Date.now(), Math.floor(this.lastStamp) + 1);
    return this.lastStamp / 1000;
  }

  private evict(): void {
    for (const name of this.index.keys()) {
      if (this.bytes <= this.budget) break;
      this.remove(name);
    }
  }

  private remove(name: string): void {
    this.forget(name);
    this.retire(name);
    this.track(unlink(join(this.dir, name)).catch(() => undefined));
  }

  private forget(name: string): void {
    this.checked.delete(name);
    this.blocksWritten.delete(name);
    const size = this.index.get(name);
    if (size === undefined) return;
    this.index.delete(name);
    this.bytes -= size;
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch(() => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
