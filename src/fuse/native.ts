// Loads the native FUSE binding (build/Release/tierfs_fuse.node) and describes
// its shape. This file and src/fuse/ sit two levels below the repository root,
// as do their compiled copies in dist/fuse/, so one relative path serves both.
import { createRequire } from 'node:module';
import type { RawScan } from '../tiers/local/scan-dir.js';
import type { AccessCount, Attr, CellFileRef, DirEntry, Entry, OpenResult, StatFs } from './types.js';

/** What the binding answered from files' attributes and names JavaScript handed over (native/fuse/file-attrs.h). */
export interface FileAttrCounts {
  getattrs: number;
  lookups: number;
}

/** Reads the binding answered from recall cache files, their bytes, the blocks it checked, and the cells it refused. */
export interface CellCounts {
  reads: number;
  bytes: number;
  blocksChecked: number;
  rejected: number;
}

export const NO_CELL_COUNTS: Readonly<CellCounts> = { reads: 0, bytes: 0, blocksChecked: 0, rejected: 0 };

/** A request as the binding hands it over; which fields are set depends on `op`. */
export interface NativeRequest {
  id: number;
  op: number;
  uid: number;
  gid: number;
  pid: number;
  umask: number;
  ino: number;
  fh?: number;
  name?: string;
  /**
   * write, truncate (setattr size), open with O_TRUNC, fallocate, copyFileRange
   * (of the output file): an unprivileged caller on a file that may be setuid or
   * setgid, whose bits must be cleared first (the kernel leaves that to us).
   */
  killPrivileges?: boolean;
  // op-specific
  set?: Record<string, unknown>;
  mode?: number;
  rdev?: number;
  flags?: number;
  target?: string;
  newParent?: number;
  newName?: string;
  size?: number;
  offset?: number;
  /** lseek: SEEK_DATA (3) or SEEK_HOLE (4) */
  whence?: number;
  data?: Buffer;
  datasync?: boolean;
  plus?: boolean;
  mask?: number;
  length?: number;
  inoOut?: number;
  fhOut?: number;
  offsetOut?: number;
  counts?: AccessCount;
  /** release of a writer: its backing file's fstat at release (size above), and when (CLOCK_MONOTONIC ns) */
  blocks?: number;
  mtimeNs?: bigint;
  ctimeNs?: bigint;
  syncedAtNs?: number;
  /** forget: [ino, nlookup, ino, nlookup, …] */
  forgets?: number[];
  /** log */
  level?: number;
  /** init */
  maxWrite?: number;
  maxReadahead?: number;
  capabilities?: number;
  /** init: the kernel agreed to FUSE passthrough */
  passthrough?: boolean;
  /** created (ino: the parent, fh, name, flags, mode): the new inode, its times, backing descriptor and placement */
  newIno?: number;
  timeNs?: bigint;
  fd?: number;
  placement?: number;
  /** created: the kernel did not take the reply, and holds neither the inode nor the handle */
  refused?: boolean;
}

export interface NativeSessionOptions {
  mountpoint: string;
  fsname: string;
  subtype: string;
  maxRead: number;
  maxWrite: number;
  splice: boolean;
  spliceRequests: boolean;
  attrTimeout: number;
  entryTimeout: number;
  negativeTimeout: number;
  pageCache: 'keep' | 'auto' | 'none';
  writebackCache: boolean;
  posixAcl: boolean;
  defaultPermissions: boolean;
  allowOther: boolean;
  fastPath: boolean;
  passthrough: boolean;
  readdirplus: 'always' | 'auto' | 'off';
  maxThreads: number;
  debug: boolean;
}

/**
 * Every reply returns true when the kernel accepted it; false when the request
 * was interrupted (already answered EINTR) or its session is gone.
 */
export interface NativeSession {
  /** Mounts and starts the loop; returns the mount's kernel device number. Throws code EMOUNT. */
  start(): number;
  detach(): void;
  abort(): boolean;
  isRunning(): boolean;
  join(): void;
  takeAccessCounts(): AccessCount[];
  inflight(): number;
  /** JavaScript cleared setuid/setgid of ino: the binding stops routing its writes here and invalidates the kernel's attributes. */
  privilegesKilled(ino: number): void;
  /** Opens answered in passthrough, and opens refused because the kernel's backing file of the inode is another file. */
  passthroughCounts(): { opens: number; refused: number };
  /** getxattr requests answered ENODATA by the binding itself (see Entry.storedXattrs). */
  xattrsAnswered(): number;
  /** getattr requests of a directory answered by the binding from the reply that changed it (Entry.parentAttr). */
  dirAttrsAnswered(): number;
  /** A regular file's attributes: getattrs of ino are answered with them until dropAttrs(ino) (native/fuse/file-attrs.h). */
  keepAttrs(ino: number, attr: Attr): void;
  dropAttrs(ino: number): void;
  /** getattr requests of a file, and lookups of its name, the binding answered from what it keeps (keepAttrs, replyEntry's keep). */
  fileAttrsAnswered(): FileAttrCounts;
  /** Listing pages the binding answered itself from names read ahead (native/fuse/dir-ahead.h). */
  listingPagesAnswered(): number;
  /** Lookups of missing names may be answered, and creates made, by the binding in dir (native/fuse/create-grants.h); it takes dirfd. */
  grantCreates(dir: number, dirfd: number, placement: number, attr: Attr, names: string[], budget: number): void;
  /** Lookups of names dir does not hold may be answered by the binding (native/fuse/create-grants.h); a grant it has stays. */
  grantLookups(dir: number, names: string[]): void;
  /** Every grant ends. */
  revokeCreates(): void;
  /** Numbers set aside for the binding's creates (replacing what is left); returns how many are left. Without arguments: only that. */
  supplyCreates(inoFrom?: number, inos?: number, fhFrom?: number, fhs?: number): number;
  /** Lookups of missing names and creates the binding answered itself. */
  createCounts(): { lookups: number; creates: number };
  /** Kernel thread ids of the threads that have served requests (mover/foreground.ts reads their run-queue wait). */
  servingThreads(): number[];
  /** Reads of handle fh may be served from these cells (native/fuse/cell-files.h); false when the kernel no longer holds fh. */
  serveCells(fh: number, fileSize: number, blockSize: number, cells: CellFileRef[]): boolean;
  /** Reads of handle fh go to JavaScript again. */
  dropCells(fh: number): void;
  /** What the binding served from cell files. */
  cellCounts(): CellCounts;
  /** The paths of the cell files the binding read since the last call. */
  takeCellsRead(): string[];
  /** parentAttr, with errno 0 of an unlink: the directory's attributes afterwards (Entry.parentAttr). */
  replyErr(id: number, errno: number, parentAttr?: Attr): boolean;
  /** A rename that moved no directory, with its directories' attributes afterwards and the moved file's to keep (file attributes kept, as keepAttrs). */
  replyRenamed(id: number, parentAttr: Attr, newParentAttr?: Attr, movedAttr?: Attr): boolean;
  /** keep: the binding keeps entry.attr for getattrs (keepAttrs) and, of a lookup, the name for lookups */
  replyEntry(id: number, entry: Entry, keep?: boolean): boolean;
  replyAttr(id: number, attr: Attr, timeout?: number, keep?: boolean): boolean;
  replyReadlink(id: number, target: string): boolean;
  replyOpen(id: number, open: OpenResult): boolean;
  replyCreate(id: number, entry: Entry, open: OpenResult): boolean;
  replyWrite(id: number, count: number): boolean;
  replyLseek(id: number, offset: number): boolean;
  replyData(id: number, data: Uint8Array): boolean;
  replyStatfs(id: number, st: StatFs): boolean;
  replyXattr(id: number, data: Uint8Array): boolean;
  /** Returns how many entries (a prefix) were packed, or -1 when not delivered. */
  replyDir(id: number, entries: DirEntry[]): number;
  /** readdirplus from a PackedDirPage: entries packed (a prefix), or -1 */
  replyDirPlus(id: number, names: string[], numbers: Float64Array): number;
  /** a page of names alone from a NamesDirPage: entries packed, or -1; the rest kept for the next pages */
  replyNames(id: number, joined: string, end: boolean): number;
}

export type OpName =
  | 'init' | 'forget' | 'lookup' | 'getattr' | 'setattr' | 'readlink' | 'mknod' | 'mkdir'
  | 'unlink' | 'rmdir' | 'symlink' | 'rename' | 'link' | 'open' | 'read' | 'write' | 'flush'
  | 'release' | 'fsync' | 'opendir' | 'readdir' | 'releasedir' | 'fsyncdir' | 'statfs'
  | 'setxattr' | 'getxattr' | 'listxattr' | 'removexattr' | 'access' | 'create' | 'fallocate'
  | 'copyFileRange' | 'lseek' | 'log' | 'exited' | 'created';

interface NativeModule {
  Session: new (opts: NativeSessionOptions, dispatch: (req: NativeRequest) => void) => NativeSession;
  opcodes: Record<OpName, number>;
  /** f*xattr on a descriptor; errors carry `code` like fs's. */
  xattrList(fd: number): string[];
  xattrGet(fd: number, name: string): Buffer | undefined;
  xattrSet(fd: number, name: string, value: Buffer): void;
  xattrRemove(fd: number, name: string): void;
  /** fallocate(2) with the kernel's FALLOC_FL_* mode bits. */
  fallocate(fd: number, mode: number, offset: number, length: number): void;
  /** renameat2(2) with RENAME_EXCHANGE: two existing names swapped at once. */
  exchangeNames(a: string, b: string): void;
  /** dup3(2): descriptor `to` now refers to `from`'s open file (close `from` after). */
  replaceDescriptor(from: number, to: number): void;
  /** lseek(2), for SEEK_DATA and SEEK_HOLE. */
  seek(fd: number, offset: number, whence: number): number;
  /** openat2(2) of rel below root, no symlink followed, no way out: a descriptor, or -errno. */
  openBeneath(root: string, rel: string, flags: number, mode: number): number;
  /** The entries of the directory open at fd, each lstat-ed, begun on a thread: a handle for scanDirFinish. */
  scanDirStart(fd: number): object;
  /** Waits for the scan; src/tiers/local/scan-dir.ts reads what it returns. */
  scanDirFinish(handle: object): RawScan;
}

let loaded: NativeModule | undefined;

export function nativeBinding(): NativeModule {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    loaded = require('../../build/Release/tierfs_fuse.node') as NativeModule;
  }
  return loaded;
}

/** opcode number → name, for dispatch tables. */
export function opNames(): Map<number, OpName> {
  const m = new Map<number, OpName>();
  for (const [name, code] of Object.entries(nativeBinding().opcodes)) m.set(code, name as OpName);
  return m;
}
