// A small filesystem kept in memory, served through the FUSE binding by tests.
// File data lives in memory, or, with `backingDir`, in one plain file per inode
// whose fd is handed to the binding so that reads and writes take the native
// fast path. POSIX enough for the binding's tests: ownership from the caller,
// nanosecond times, hard links, symlinks, rename flags, xattrs, readdirplus.
import {
  closeSync, constants as fsc, fstatSync, ftruncateSync, openSync, readSync, statSync, truncateSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { DirAttrsTuple } from '../../src/catalog/catalog.js';
import { FsError } from '../../src/errors.js';
import { packDir } from '../../src/fuse/adapter.js';
import { DirPlus } from '../../src/fuse/types.js';
import type {
  AccessCount, Attr, DirEntry, Entry, FuseOps, Ino, OpenResult, PackedDirPage, RequestContext, SetAttr, StatFs,
} from '../../src/fuse/types.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_ISGID = 0o2000;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const O_ACCMODE = 3;

export interface MemFsOptions {
  /** keep regular files' bytes in DIR/<ino> and serve them by fd (native fast path) */
  backingDir?: string;
  /** reads of files whose name starts with "slow" take this long (ms) */
  slowReadMs?: number;
  /** mkdir of names that start with "slow" takes this long (ms) before the directory appears */
  slowMkdirMs?: number;
  /** open answers ENOSYS, which tells the kernel to open every file without asking again (fh 0) */
  openAnswersEnosys?: boolean;
  /** open the backing fd O_RDWR even for write-only opens (writeback cache reads pages) */
  writebackCache?: boolean;
}

interface Node {
  ino: Ino;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  name: string; // a name it was created with, for the slow-read test
  data?: Buffer; // regular file in memory
  size: number; // of data (memory mode)
  target?: string; // symlink
  children?: Map<string, Ino>; // directory
  parent?: Ino; // directory
  xattrs: Map<string, Buffer>;
}

interface Handle {
  ino: Ino;
  fd?: number;
  listing?: DirEntry[];
}

// Wall-clock nanoseconds that never run backwards within the process.
const hrtimeOrigin = process.hrtime.bigint();
const wallOriginNs = BigInt(Date.now()) * 1_000_000n;
const nowNs = (): bigint => process.hrtime.bigint() - hrtimeOrigin + wallOriginNs;

const isDir = (n: Node): boolean => (n.mode & S_IFMT) === S_IFDIR;
const isReg = (n: Node): boolean => (n.mode & S_IFMT) === S_IFREG;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MemFs implements FuseOps {
  readonly nodes = new Map<Ino, Node>();
  /** every accessBatch the binding delivered, in order */
  readonly batches: AccessCount[][] = [];
  /** inodes the kernel forgot completely */
  readonly forgotten: Ino[] = [];
  /** most reads that were in progress at once (concurrency test) */
  maxConcurrentReads = 0;
  /** reads and writes that reached JavaScript (the fast path keeps these at 0) */
  jsReads = 0;
  jsWrites = 0;
  /** slow mkdirs that JavaScript is carrying out right now */
  slowMkdirs = 0;
  /** batches that named a handle already released: the binding must report before release */
  lateBatches = 0;
  private readonly released = new Set<number>();
  onAccessBatch?: (counts: AccessCount[]) => void;

  private nextIno = 2;
  private nextFh = 1;
  private readonly handles = new Map<number, Handle>();
  /** inodes the kernel may hold a reference to (the session keeps exact counts and calls forget) */
  private readonly lookups = new Set<Ino>();
  /** Reads JavaScript is serving right now (a slow one sleeps here). */
  concurrentReads = 0;

  constructor(private readonly opts: MemFsOptions = {}) {
    const t = nowNs();
    this.nodes.set(1, {
      ino: 1, mode: S_IFDIR | 0o777, nlink: 2, uid: 0, gid: 0, rdev: 0, atimeNs: t, mtimeNs: t, ctimeNs: t,
      name: '', size: 0, children: new Map(), parent: 1, xattrs: new Map(),
    });
  }

  // ---- helpers --------------------------------------------------------------

  private node(ino: Ino): Node {
    const n = this.nodes.get(ino);
    if (!n) throw new FsError('ENOENT', `no inode ${ino}`);
    return n;
  }

  private dir(ino: Ino): Node {
    const n = this.node(ino);
    if (!isDir(n)) throw new FsError('ENOTDIR');
    return n;
  }

  private child(parent: Node, name: string): Node {
    const ino = parent.children!.get(name);
    if (ino === undefined) throw new FsError('ENOENT', name);
    return this.node(ino);
  }

  private backingPath(ino: Ino): string {
    return join(this.opts.backingDir!, String(ino));
  }

  attr(n: Node): Attr {
    let size = n.size;
    let mtimeNs = n.mtimeNs;
    if (this.opts.backingDir && isReg(n)) {
      // Native writes change the backing file behind our back: it is the truth.
      const st = statSync(this.backingPath(n.ino), { bigint: true });
      size = Number(st.size);
      if (st.mtimeNs > mtimeNs) mtimeNs = n.mtimeNs = st.mtimeNs;
    }
    if (n.target !== undefined) size = Buffer.byteLength(n.target);
    return {
      ino: n.ino, mode: n.mode, nlink: n.nlink, uid: n.uid, gid: n.gid, rdev: n.rdev, size,
      blocks: Math.ceil(size / 512), blksize: 4096, atimeNs: n.atimeNs, mtimeNs, ctimeNs: n.ctimeNs,
    };
  }

  private entry(n: Node): Entry {
    return { attr: this.attr(n) };
  }

  private touch(n: Node, what: { m?: boolean; c?: boolean }): void {
    const t = nowNs();
    if (what.m) n.mtimeNs = t;
    if (what.c !== false) n.ctimeNs = t;
  }

  private makeNode(ctx: RequestContext, parent: Node, name: string, mode: number, extra: Partial<Node> = {}): Node {
    if (parent.children!.has(name)) throw new FsError('EEXIST', name);
    const t = nowNs();
    const n: Node = {
      ino: this.nextIno++, mode, nlink: 1, uid: ctx.uid,
      // BSD group semantics under a setgid directory, as ext4 does
      gid: parent.mode & S_ISGID ? parent.gid : ctx.gid,
      rdev: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, name, size: 0, xattrs: new Map(), ...extra,
    };
    if (isReg(n)) {
      if (this.opts.backingDir) closeSync(openSync(this.backingPath(n.ino), 'w'));
      else n.data = Buffer.alloc(0);
    }
    this.nodes.set(n.ino, n);
    parent.children!.set(name, n.ino);
    this.touch(parent, { m: true });
    return n;
  }

  /** Drops a node's storage once nothing names it and the kernel forgot it. */
  private maybeDrop(n: Node): void {
    if (n.nlink > 0 || this.lookups.has(n.ino) || [...this.handles.values()].some((h) => h.ino === n.ino)) return;
    this.nodes.delete(n.ino);
    if (this.opts.backingDir && isReg(n)) {
      try {
        unlinkSync(this.backingPath(n.ino));
      } catch {
        /* already gone */
      }
    }
  }

  private unlinkNode(n: Node): void {
    n.nlink -= isDir(n) ? 2 : 1;
    this.touch(n, {});
    this.maybeDrop(n);
  }

  // ---- FuseOps -------------------------------------------------------------

  async lookup(_ctx: RequestContext, parent: Ino, name: string): Promise<Entry> {
    const n = this.child(this.dir(parent), name);
    this.lookups.add(n.ino);
    return this.entry(n);
  }

  forget(ino: Ino): void {
    this.forgotten.push(ino);
    this.lookups.delete(ino);
    const n = this.nodes.get(ino);
    if (n) this.maybeDrop(n);
  }

  async getattr(_ctx: RequestContext, ino: Ino): Promise<Attr> {
    return this.attr(this.node(ino));
  }

  async setattr(_ctx: RequestContext, ino: Ino, set: SetAttr): Promise<Attr> {
    const n = this.node(ino);
    if (set.mode !== undefined) n.mode = (n.mode & S_IFMT) | (set.mode & ~S_IFMT);
    if (set.uid !== undefined) n.uid = set.uid;
    if (set.gid !== undefined) n.gid = set.gid;
    if (set.size !== undefined) {
      if (isDir(n)) throw new FsError('EISDIR');
      if (this.opts.backingDir) {
        const h = set.fh !== undefined ? this.handles.get(set.fh) : undefined;
        if (h?.fd !== undefined) ftruncateSync(h.fd, set.size);
        else truncateSync(this.backingPath(ino), set.size);
      } else {
        const data = Buffer.alloc(set.size);
        n.data!.copy(data, 0, 0, Math.min(set.size, n.size));
        n.data = data;
        n.size = set.size;
      }
      n.mtimeNs = nowNs();
    }
    const t = nowNs();
    if (set.atimeNs !== undefined) n.atimeNs = set.atimeNs === 'now' ? t : set.atimeNs;
    if (set.mtimeNs !== undefined) n.mtimeNs = set.mtimeNs === 'now' ? t : set.mtimeNs;
    n.ctimeNs = set.ctimeNs ?? t;
    return this.attr(n);
  }

  async readlink(_ctx: RequestContext, ino: Ino): Promise<string> {
    const n = this.node(ino);
    if (n.target === undefined) throw new FsError('EINVAL');
    return n.target;
  }

  async mknod(ctx: RequestContext, parent: Ino, name: string, mode: number, rdev: number): Promise<Entry> {
    const n = this.makeNode(ctx, this.dir(parent), name, mode, { rdev });
    this.lookups.add(n.ino);
    return this.entry(n);
  }

  async mkdir(ctx: RequestContext, parent: Ino, name: string, mode: number): Promise<Entry> {
    if (this.opts.slowMkdirMs && name.startsWith('slow')) {
      this.slowMkdirs++;
      await sleep(this.opts.slowMkdirMs).finally(() => this.slowMkdirs--);
    }
    const p = this.dir(parent);
    const n = this.makeNode(ctx, p, name, S_IFDIR | (mode & 0o7777), { nlink: 2, children: new Map(), parent });
    if (p.mode & S_ISGID) n.mode |= S_ISGID;
    p.nlink++;
    this.lookups.add(n.ino);
    return this.entry(n);
  }

  async unlink(_ctx: RequestContext, parent: Ino, name: string): Promise<void> {
    const p = this.dir(parent);
    const n = this.child(p, name);
    if (isDir(n)) throw new FsError('EISDIR', name);
    p.children!.delete(name);
    this.touch(p, { m: true });
    this.unlinkNode(n);
  }

  async rmdir(_ctx: RequestContext, parent: Ino, name: string): Promise<void> {
    const p = this.dir(parent);
    const n = this.child(p, name);
    if (!isDir(n)) throw new FsError('ENOTDIR', name);
    if (n.children!.size > 0) throw new FsError('ENOTEMPTY', name);
    p.children!.delete(name);
    p.nlink--;
    this.touch(p, { m: true });
    this.unlinkNode(n);
  }

  async symlink(ctx: RequestContext, target: string, parent: Ino, name: string): Promise<Entry> {
    const n = this.makeNode(ctx, this.dir(parent), name, S_IFLNK | 0o777, { target });
    this.lookups.add(n.ino);
    return this.entry(n);
  }

  async rename(_ctx: RequestContext, parent: Ino, name: string, newParent: Ino, newName: string, flags: number): Promise<void> {
    const from = this.dir(parent);
    const to = this.dir(newParent);
    const n = this.child(from, name);
    const existingIno = to.children!.get(newName);
    const existing = existingIno === undefined ? undefined : this.node(existingIno);
    if (flags & RENAME_EXCHANGE) {
      if (!existing) throw new FsError('ENOENT', newName);
      from.children!.set(name, existing.ino);
      to.children!.set(newName, n.ino);
      if (isDir(n)) n.parent = newParent;
      if (isDir(existing)) existing.parent = parent;
      if (isDir(n) !== isDir(existing) && parent !== newParent) {
        from.nlink += isDir(existing) ? 1 : -1;
        to.nlink += isDir(n) ? 1 : -1;
      }
      this.touch(from, { m: true });
      this.touch(to, { m: true });
      return;
    }
    if (existing) {
      if (flags & RENAME_NOREPLACE) throw new FsError('EEXIST', newName);
      if (existing.ino === n.ino) return;
      if (isDir(existing)) {
        if (!isDir(n)) throw new FsError('EISDIR', newName);
        if (existing.children!.size > 0) throw new FsError('ENOTEMPTY', newName);
        to.nlink--;
      } else if (isDir(n)) {
        throw new FsError('ENOTDIR', newName);
      }
      this.unlinkNode(existing);
    }
    from.children!.delete(name);
    to.children!.set(newName, n.ino);
    if (isDir(n)) {
      n.parent = newParent;
      from.nlink--;
      to.nlink++;
    }
    this.touch(n, {});
    this.touch(from, { m: true });
    this.touch(to, { m: true });
  }

  async link(_ctx: RequestContext, ino: Ino, newParent: Ino, newName: string): Promise<Entry> {
    const n = this.node(ino);
    if (isDir(n)) throw new FsError('EPERM');
    const p = this.dir(newParent);
    if (p.children!.has(newName)) throw new FsError('EEXIST', newName);
    p.children!.set(newName, ino);
    n.nlink++;
    this.touch(n, {});
    this.touch(p, { m: true });
    this.lookups.add(ino);
    return this.entry(n);
  }

  private openHandle(n: Node, flags: number): OpenResult {
    const fh = this.nextFh++;
    const h: Handle = { ino: n.ino };
    if (this.opts.backingDir && isReg(n)) {
      let acc = flags & O_ACCMODE;
      if (acc === fsc.O_WRONLY && this.opts.writebackCache) acc = fsc.O_RDWR;
      // O_APPEND would make pwrite ignore the kernel's offset; O_DIRECT needs aligned buffers.
      h.fd = openSync(this.backingPath(n.ino), acc | (flags & fsc.O_TRUNC));
    } else if (isReg(n) && flags & fsc.O_TRUNC) {
      n.data = Buffer.alloc(0);
      n.size = 0;
      this.touch(n, { m: true });
    }
    this.handles.set(fh, h);
    // Slow files bypass the page cache so that each read is a request a caller waits on.
    const slow = this.opts.slowReadMs !== undefined && n.name.startsWith('slow');
    return { fh, fd: h.fd, directIo: slow || undefined };
  }

  async open(_ctx: RequestContext, ino: Ino, flags: number): Promise<OpenResult> {
    if (this.opts.openAnswersEnosys) throw new FsError('ENOSYS');
    const n = this.node(ino);
    if (isDir(n)) throw new FsError('EISDIR');
    return this.openHandle(n, flags);
  }

  async read(_ctx: RequestContext, ino: Ino, fh: number, size: number, offset: number): Promise<Buffer> {
    const n = this.node(ino);
    this.jsReads++;
    this.concurrentReads++;
    this.maxConcurrentReads = Math.max(this.maxConcurrentReads, this.concurrentReads);
    try {
      if (this.opts.slowReadMs && n.name.startsWith('slow')) await sleep(this.opts.slowReadMs);
      const h = this.handles.get(fh);
      if (h?.fd !== undefined) {
        // fast path switched off: serve the backing file from JavaScript
        const buf = Buffer.alloc(size);
        return buf.subarray(0, readSync(h.fd, buf, 0, size, offset));
      }
      return Buffer.from(n.data!.subarray(Math.min(offset, n.size), Math.min(offset + size, n.size)));
    } finally {
      this.concurrentReads--;
    }
  }

  async write(_ctx: RequestContext, ino: Ino, fh: number, data: Buffer, offset: number): Promise<number> {
    const n = this.node(ino);
    this.jsWrites++;
    const h = this.handles.get(fh);
    if (h?.fd !== undefined) {
      return writeSync(h.fd, data, 0, data.length, offset);
    }
    const end = offset + data.length;
    if (end > n.data!.length) {
      const grown = Buffer.alloc(Math.max(end, n.data!.length * 2));
      n.data!.copy(grown, 0, 0, n.size);
      n.data = grown;
    }
    data.copy(n.data!, offset);
    n.size = Math.max(n.size, end);
    this.touch(n, { m: true });
    return data.length;
  }

  async flush(): Promise<void> {}

  async release(_ctx: RequestContext, _ino: Ino, fh: number): Promise<void> {
    const h = this.handles.get(fh);
    if (!h) throw new FsError('EBADF');
    this.handles.delete(fh);
    this.released.add(fh);
    if (h.fd !== undefined) closeSync(h.fd);
    const n = this.nodes.get(h.ino);
    if (n) this.maybeDrop(n);
  }

  async fsync(_ctx: RequestContext, _ino: Ino, fh: number): Promise<void> {
    if (!this.handles.has(fh)) throw new FsError('EBADF');
  }

  async opendir(_ctx: RequestContext, ino: Ino): Promise<{ fh: number }> {
    this.dir(ino);
    const fh = this.nextFh++;
    this.handles.set(fh, { ino });
    return { fh };
  }

  async readdir(_ctx: RequestContext, ino: Ino, fh: number, offset: number, plus: boolean): Promise<DirEntry[] | PackedDirPage> {
    const d = this.dir(ino);
    const h = this.handles.get(fh)!;
    if (offset === 0 || !h.listing) {
      // Snapshot at the start of a listing so that cookies stay stable.
      const names: [string, Node][] = [['.', d], ['..', this.node(d.parent!)]];
      for (const [name, cino] of d.children!) names.push([name, this.node(cino)]);
      h.listing = names.map(([name, n], i) => ({ name, ino: n.ino, mode: n.mode, offset: i + 1 }));
    }
    const rest = h.listing.slice(offset);
    if (!plus) return rest;
    // As tierfs's own listing packs them (its columns; xattrs said to be stored: the binding asks).
    const split = (ns: bigint) => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)] as const;
    const gone: number[] = [];
    const page = packDir(
      rest.map((e, k): DirAttrsTuple => {
        const n = this.nodes.get(e.ino);
        if (!n) gone.push(k);
        else if (e.name !== '.' && e.name !== '..') this.lookups.add(n.ino);
        const a = n ? this.attr(n) : { ino: e.ino, mode: e.mode, nlink: 0, uid: 0, gid: 0, rdev: 0, size: 0, blocks: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n };
        return [e.offset, e.name, a.ino, a.mode, a.nlink, a.uid, a.gid, a.rdev, a.size, a.blocks, ...split(a.atimeNs), ...split(a.mtimeNs), ...split(a.ctimeNs), 1];
      }),
    );
    for (const k of gone) page.numbers[k * DirPlus.fields + DirPlus.hasEntry] = 0; // removed since: name and type only
    return page;
  }

  async releasedir(_ctx: RequestContext, _ino: Ino, fh: number): Promise<void> {
    this.handles.delete(fh);
  }

  async fsyncdir(): Promise<void> {}

  async statfs(): Promise<StatFs> {
    return { bsize: 4096, frsize: 4096, blocks: 1 << 20, bfree: 1 << 19, bavail: 1 << 19, files: 1 << 16, ffree: (1 << 16) - this.nodes.size, namemax: 255 };
  }

  async setxattr(_ctx: RequestContext, ino: Ino, name: string, value: Buffer, flags: number): Promise<void> {
    const n = this.node(ino);
    const has = n.xattrs.has(name);
    if (flags & XATTR_CREATE && has) throw new FsError('EEXIST', name);
    if (flags & XATTR_REPLACE && !has) throw new FsError('ENODATA', name);
    n.xattrs.set(name, Buffer.from(value));
    this.touch(n, {});
  }

  async getxattr(_ctx: RequestContext, ino: Ino, name: string): Promise<Buffer> {
    const v = this.node(ino).xattrs.get(name);
    if (!v) throw new FsError('ENODATA', name);
    return v;
  }

  async listxattr(_ctx: RequestContext, ino: Ino): Promise<string[]> {
    return [...this.node(ino).xattrs.keys()];
  }

  async removexattr(_ctx: RequestContext, ino: Ino, name: string): Promise<void> {
    const n = this.node(ino);
    if (!n.xattrs.delete(name)) throw new FsError('ENODATA', name);
    this.touch(n, {});
  }

  async create(ctx: RequestContext, parent: Ino, name: string, mode: number, flags: number): Promise<Entry & OpenResult> {
    const n = this.makeNode(ctx, this.dir(parent), name, S_IFREG | (mode & 0o7777));
    this.lookups.add(n.ino);
    return { ...this.entry(n), ...this.openHandle(n, flags & ~fsc.O_TRUNC) };
  }

  async fallocate(_ctx: RequestContext, ino: Ino, fh: number, mode: number, offset: number, length: number): Promise<void> {
    if (mode !== 0) throw new FsError('EOPNOTSUPP');
    const n = this.node(ino);
    const h = this.handles.get(fh);
    const end = offset + length;
    if (h?.fd !== undefined) {
      if (fstatSync(h.fd).size < end) ftruncateSync(h.fd, end);
    } else if (end > n.size) {
      await this.setattr({ uid: 0, gid: 0, pid: 0, umask: 0 }, ino, { size: end });
    }
  }

  get openHandles(): number {
    return this.handles.size;
  }

  accessBatch(counts: AccessCount[]): void {
    this.lateBatches += counts.filter((c) => this.released.has(c.fh)).length;
    this.batches.push(counts);
    this.onAccessBatch?.(counts);
  }
}
