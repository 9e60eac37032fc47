// The recall cache on local disk: one file per cached cell payload in a directory of
// its own, kept under a byte budget, least recently used out first. It outlives the
// daemon: at start the index is rebuilt by scanning the directory, ordered by each
// file's mtime, which the cache sets itself on every write and hit from one clock
// that never repeats a value (atime cannot be trusted: noatime and relatime mounts;
// and the time the kernel gives a written file is coarse, a jiffy behind a precise
// utimes, so a file written just after a hit could look older than it). Files are written to a temporary name and renamed, so a crash
// leaves either a whole entry or a temporary file, which the next scan deletes.
// Entries are checked against the layout's checksum by the caller on every hit.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { moduleLogger } from '../../log.js';

const log = moduleLogger('object-tier');
const TEMP_MARK = '.tmp-';

export class DiskCache {
  /** name → size, oldest access first (a Map keeps insertion order; a hit re-inserts) */
  private readonly index = new Map<string, number>();
  private bytes = 0;
  /** writes, deletions and touches under way, so close() and tests can wait for them */
  private readonly pending = new Set<Promise<unknown>>();
  /** the last recency stamp given, in ms; each new one is later, so the order survives a restart */
  private lastStamp = 0;

  private constructor(
    readonly dir: string,
    private budgetBytes: number,
  ) {}

  get budget(): number {
    return this.budgetBytes;
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
        if (st.isFile()) found.push({ name, size: st.size, mtime: st.mtimeMs });
      } catch {
        // vanished while we scanned: nothing to index
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    cache.lastStamp = found.at(-1)?.mtime ?? 0;
    for (const f of found) {
      cache.index.set(f.name, f.size);
      cache.bytes += f.size;
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

  /** The entry's bytes, or undefined when it is not cached (or vanished). */
  async get(name: string): Promise<Buffer | undefined> {
    const size = this.index.get(name);
    if (size === undefined) return undefined;
    this.index.delete(name);
    this.index.set(name, size);
    try {
      const data = await readFile(join(this.dir, name));
      const stamp = this.stamp();
      this.track(utimes(join(this.dir, name), stamp, stamp));
      return data;
    } catch {
      this.forget(name);
      return undefined;
    }
  }

  /** Stores an entry (in the background; see idle()). Entries larger than the whole budget are not kept. */
  put(name: string, data: Uint8Array): void {
    if (data.length > this.budget || this.index.has(name)) return;
    // Counted at once, so the budget holds even while writes are under way.
    this.index.set(name, data.length);
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
          return undefined;
        })
        .catch((err: unknown) => {
          log.warn({ dir: this.dir, name, err: (err as Error).message }, 'could not write a disk cache entry');
          this.forget(name);
          return unlink(temp).catch(() => undefined);
        }),
    );
  }

  /** Drops one entry (a file found damaged). */
  delete(name: string): void {
    if (this.index.has(name)) this.remove(name);
  }

  /** Drops every entry whose name starts with prefix (a removed copy's cells). */
  dropPrefix(prefix: string): void {
    for (const name of [...this.index.keys()]) {
      if (name.startsWith(prefix)) this.remove(name);
    }
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
    this.track(unlink(join(this.dir, name)).catch(() => undefined));
  }

  private forget(name: string): void {
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
