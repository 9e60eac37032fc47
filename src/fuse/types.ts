// The contract between the native FUSE binding (native/fuse, src/fuse/session.ts)
// and whatever serves a filesystem through it (the vfs adapter, test filesystems).
//
// Every handler receives the caller's identity and answers with a value or by
// throwing a FuseError (or any error carrying an errno `code` such as 'ENOENT',
// as node's fs errors do); the session turns that into the reply. Handlers are
// async: a FUSE thread never waits for JavaScript.

/** Who made the request, as the kernel reports it. */
export interface RequestContext {
  uid: number;
  gid: number;
  pid: number;
  umask: number;
}

/** Inode attributes. Times are nanoseconds since the epoch, exact. */
export interface Attr {
  ino: number;
  mode: number; // file type bits | permission bits
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blocks: number; // 512-byte units
  blksize?: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** The answer to lookup, mknod, mkdir, symlink, link, create. */
export interface Entry {
  attr: Attr;
  generation?: number;
  /** seconds the kernel may cache the name → inode binding and the attributes */
  entryTimeout?: number;
  attrTimeout?: number;
  /**
   * Whether the inode has extended attributes stored. false lets the binding answer
   * getxattr of every stored name itself (ENODATA: `ls -l` asks two of each file)
   * until a setxattr, removexattr or forget of the inode; absent: no word.
   */
  storedXattrs?: boolean;
  /**
   * Of an entry made by create, mkdir, mknod, symlink or link (and given by unlink): its directory's attributes
   * afterwards. The binding answers the getattr of the directory that follows (the kernel
   * drops what it held of a changed directory) without JavaScript (native/fuse/dir-attrs.h).
   */
  parentAttr?: Attr;
}

/** A setattr request: only the fields present are to be changed. */
export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** nanoseconds, or 'now' for UTIME_NOW; absent means UTIME_OMIT */
  atimeNs?: bigint | 'now';
  mtimeNs?: bigint | 'now';
  ctimeNs?: bigint;
  /** set when the request came through an open file (ftruncate, futimens) */
  fh?: number;
}

// Cells of a cold file held as files on local disk (FuseOps.cellFiles): the object tier's answer.
export type { CellFileRef, CellFileSet } from '../tiers/object/types.js';
import type { CellFileSet } from '../tiers/object/types.js';

export interface OpenResult {
  fh: number;
  /** a cold file's cells the handle's reads may be served from by the binding (FuseOps.cellFiles) */
  cells?: CellFileSet;
  /**
   * A file descriptor of the plain backing file. When given, the binding serves
   * read and write of this handle natively (no JavaScript on the path) and
   * reports the counts through FuseOps.accessBatch. JavaScript still owns the fd:
   * it closes it in release, after the binding has stopped using it (the binding
   * lets go of it before release is called). Open it without O_APPEND (writes
   * use pwrite at the kernel's offset) and without O_DIRECT; readable too
   * (O_RDWR) when the mount uses the writeback cache, which reads to fill pages.
   */
  fd?: number;
  directIo?: boolean;
  keepCache?: boolean;
  nonseekable?: boolean;
  /** create made a new inode (not an open of one that appeared meanwhile): it has no security.capability */
  created?: boolean;
  /**
   * A write must clear setuid/setgid or a file capability: never opened in passthrough,
   * whose writes go beneath the kernel's check (see MountOptions.passthrough).
   */
  privileged?: boolean;
}

export interface DirEntry {
  name: string;
  ino: number;
  /** file type bits at least; a full mode is fine */
  mode: number;
  /** opaque cookie of the NEXT entry: readdir(offset = this) continues after it */
  offset: number;
}

/**
 * A readdirplus page as the binding takes it: per entry a name, and DirPlus.fields numbers
 * in `numbers` at DirPlus offsets. Listing a large tree is most of what find and ls -l cost
 * the daemon; one typed array crosses into the binding instead of objects per entry.
 */
export interface PackedDirPage {
  names: string[];
  numbers: Float64Array;
}

/**
 * A page of names alone (a plain readdir, or readdirplus without attributes) as the
 * binding takes it: JoinedNames of the catalog (`cookie,ino,type,name` per entry, '/'
 * between). It may hold more than the kernel's buffer: the binding keeps the rest for the
 * next pages; `end`: the names reach the end of the directory.
 */
export interface NamesDirPage {
  joined: string;
  end: boolean;
}

/**
 * The numbers of an entry of a PackedDirPage (native/fuse/binding.cc reads the same): the
 * catalog's DirAttrsTuple without the name, then whether the entry is given.
 */
export const DirPlus = {
  /** cookie of the next entry */
  offset: 0,
  ino: 1,
  mode: 2,
  nlink: 3,
  uid: 4,
  gid: 5,
  rdev: 6,
  size: 7,
  blocks: 8,
  atimeS: 9,
  atimeNsec: 10,
  mtimeS: 11,
  mtimeNsec: 12,
  ctimeS: 13,
  ctimeNsec: 14,
  /** Entry.storedXattrs: 0 none, 1 some */
  storedXattrs: 15,
  /** 1: the kernel gets the attributes and a lookup reference; 0: name and type only ('.', '..') */
  hasEntry: 16,
  fields: 17,
} as const;

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail?: number;
  namemax: number;
}

/** Per-handle counts of the I/O the binding served natively, delivered in batches. */
export interface AccessCount {
  ino: number;
  fh: number;
  reads: number;
  readBytes: number;
  writes: number;
  writeBytes: number;
  /** offset and length of the first read in this batch, for the access log */
  firstReadOffset?: number;
  /** ms since epoch of the last op counted */
  lastAtMs: number;
}

export type Ino = number;

/** The root directory's inode number: the kernel asks for it without a lookup and never forgets it. */
export const ROOT_INO: Ino = 1;

/**
 * A rename that moved no directory (so that, of directories, only its two changed): their
 * attributes afterwards, which the binding answers the next getattrs of them with, and
 * the moved file, whose attributes the binding may keep for the lookups of its new name.
 */
export interface Renamed {
  parentAttr: Attr;
  /** when the new parent is another directory */
  newParentAttr?: Attr;
  movedIno: Ino;
}

/** What a release says of a writer's backing file (an fstat after its last write). */
export interface BackingStat {
  size: number;
  blocks: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** when it was taken (CLOCK_MONOTONIC, ns: process.hrtime's clock) */
  atNs: number;
}

export interface FuseOps {
  /** Called once the kernel connection is up; `granted` says what the kernel agreed to. */
  init?(granted: { posixAcl: boolean; dontMask: boolean; passthrough: boolean }): void;
  lookup(ctx: RequestContext, parent: Ino, name: string): Promise<Entry>;
  /** The kernel dropped its last reference to ino (the session keeps the counts). */
  forget?(ino: Ino): void;
  getattr(ctx: RequestContext, ino: Ino, fh?: number): Promise<Attr>;
  setattr(ctx: RequestContext, ino: Ino, set: SetAttr): Promise<Attr>;
  readlink(ctx: RequestContext, ino: Ino): Promise<string>;
  mknod(ctx: RequestContext, parent: Ino, name: string, mode: number, rdev: number): Promise<Entry>;
  /** mode carries permission bits only (the kernel applied the umask); add S_IFDIR yourself. */
  mkdir(ctx: RequestContext, parent: Ino, name: string, mode: number): Promise<Entry>;
  /** May give the directory's attributes afterwards, as Entry.parentAttr does. */
  unlink(ctx: RequestContext, parent: Ino, name: string): Promise<Attr | void>;
  rmdir(ctx: RequestContext, parent: Ino, name: string): Promise<void>;
  symlink(ctx: RequestContext, target: string, parent: Ino, name: string): Promise<Entry>;
  /** flags: RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2. May say what it left (Renamed) when it moved no directory. */
  rename(ctx: RequestContext, parent: Ino, name: string, newParent: Ino, newName: string, flags: number): Promise<Renamed | void>;
  link(ctx: RequestContext, ino: Ino, newParent: Ino, newName: string): Promise<Entry>;
  open(ctx: RequestContext, ino: Ino, flags: number): Promise<OpenResult>;
  /** Only for handles opened without an fd (or when the fast path is disabled). */
  read(ctx: RequestContext, ino: Ino, fh: number, size: number, offset: number): Promise<Buffer>;
  /**
   * Optional: for a handle read without an fd, the cells of its file (of [offset,
   * offset+size), or all) that are files on local disk, which the binding may then serve
   * reads from itself. Asked at open and after each read.
   */
  cellFiles?(fh: number, offset?: number, size?: number): Promise<CellFileSet | undefined>;
  /** Optional: the cell files the binding read since it last said, in batches (their recency in the cache). */
  cellsRead?(paths: string[]): void;
  write(ctx: RequestContext, ino: Ino, fh: number, data: Buffer, offset: number): Promise<number>;
  /** Optional: without it the kernel is told once (ENOSYS) and stops sending flush. */
  flush?(ctx: RequestContext, ino: Ino, fh: number): Promise<void>;
  /**
   * A release is a notification: the binding has answered the kernel already. synced: a
   * writer's backing file as the binding stat-ed it at release (when it serves the handle).
   */
  release(ctx: RequestContext, ino: Ino, fh: number, flags: number, synced?: BackingStat): Promise<void>;
  fsync(ctx: RequestContext, ino: Ino, fh: number, datasync: boolean): Promise<void>;
  opendir(ctx: RequestContext, ino: Ino, flags: number): Promise<{ fh: number }>;
  /**
   * Entries after cookie `offset` (0 = from the start); the session packs as many
   * as fit into the kernel's `bufferBytes` (usually 4 KiB, ~100 short names, fewer
   * with `plus`) and the kernel asks again from the last packed cookie, so a
   * large directory may be answered a slice at a time. Returning fewer than fit is
   * fine; an empty list means the end.
   */
  /** A page of entries: names and types, or with plus their attributes too (packed; names alone give the kernel no attributes). */
  readdir(ctx: RequestContext, ino: Ino, fh: number, offset: number, plus: boolean, bufferBytes: number): Promise<DirEntry[] | PackedDirPage | NamesDirPage>;
  releasedir(ctx: RequestContext, ino: Ino, fh: number): Promise<void>;
  fsyncdir?(ctx: RequestContext, ino: Ino, fh: number, datasync: boolean): Promise<void>;
  statfs(ctx: RequestContext, ino: Ino): Promise<StatFs>;
  setxattr(ctx: RequestContext, ino: Ino, name: string, value: Buffer, flags: number): Promise<void>;
  getxattr(ctx: RequestContext, ino: Ino, name: string): Promise<Buffer>;
  listxattr(ctx: RequestContext, ino: Ino): Promise<string[]>;
  removexattr(ctx: RequestContext, ino: Ino, name: string): Promise<void>;
  /** Only asked when default_permissions is off. */
  access?(ctx: RequestContext, ino: Ino, mask: number): Promise<void>;
  create(ctx: RequestContext, parent: Ino, name: string, mode: number, flags: number): Promise<Entry & OpenResult>;
  fallocate?(ctx: RequestContext, ino: Ino, fh: number, mode: number, offset: number, length: number): Promise<void>;
  /** SEEK_DATA / SEEK_HOLE of a handle JavaScript serves (the binding answers the others). */
  lseek?(ctx: RequestContext, ino: Ino, fh: number, offset: number, whence: number): Promise<number>;
  copyFileRange?(
    ctx: RequestContext,
    inoIn: Ino, fhIn: number, offIn: number,
    inoOut: Ino, fhOut: number, offOut: number,
    length: number, flags: number,
  ): Promise<number>;
  /**
   * Counts of natively served I/O: every 200 ms for handles that did I/O since,
   * and a handle's final counts just before its release handler runs.
   */
  accessBatch?(counts: AccessCount[]): void;
  /**
   * Creates the binding answers itself (native/fuse/create-grants.h). After a file was
   * created in `parent` here: what lets the binding answer the next lookups of missing
   * names and creates in it, or undefined when they are to come here.
   */
  createGrant?(parent: Ino): CreateGrant | undefined;
  /**
   * After a lookup of a name `parent` does not hold: all the names it holds, so that the
   * binding answers the next misses in it (native/fuse/create-grants.h), or undefined.
   */
  lookupGrant?(parent: Ino): string[] | undefined;
  /**
   * The binding made a file (a notification, handled before any request that came after
   * it): its catalog rows, its open handle. False when new files should now go elsewhere,
   * and every grant ends.
   */
  created?(made: MadeFile): boolean;
  /** Inode and handle numbers the binding's creates may use, set aside for it. */
  createNumbers?(count: number): { inoFrom: Ino; fhFrom: number };
  /**
   * Regular files' attributes the binding keeps and answers getattrs with
   * (native/fuse/file-attrs.h). `changed` must be called synchronously, before the reply
   * of whatever caused it, whenever a file's attributes may change (null: the session
   * ended).
   */
  watchAttrs?(changed: ((ino: Ino) => void) | null): void;
  /**
   * ino's attributes if they hold until `changed` says otherwise (a regular file nobody
   * has open for writing), else undefined. `known`: attributes just read, to check
   * rather than read again.
   */
  settledAttrs?(ino: Ino, known?: Attr): Attr | undefined;
}

/** A directory the binding may answer missing names and creates in. */
export interface CreateGrant {
  /** its backing directory on the volume new files go to; the binding closes it */
  dirfd: number;
  /** the tier and volume (MadeFile.placement) */
  placement: number;
  attr: Attr;
  /** every name the directory holds */
  names: string[];
  /** bytes the tier may take in files closed after writes before the grant must end */
  budget: number;
}

/** A file a create answered by the binding made. */
export interface MadeFile {
  parent: Ino;
  name: string;
  ino: Ino;
  /** its handle, open as `flags` ask, on backing descriptor fd (which JavaScript now owns) */
  fh: number;
  fd: number;
  flags: number;
  mode: number;
  uid: number;
  gid: number;
  /** its times, and its directory's new mtime and ctime */
  timeNs: bigint;
  placement: number;
}

export interface MountOptions {
  fsname?: string;
  subtype?: string;
  /** bytes; at least 1 MiB is useful for throughput */
  maxRead?: number;
  /** seconds the kernel may keep a missing name (the binding's own answers say it too) */
  negativeTimeout?: number;
  maxWrite?: number;
  /** fast-path reads splice file → pipe → /dev/fuse instead of copying through memory (default true) */
  splice?: boolean;
  /**
   * receive requests by splice, so that write payloads move pipe → file without
   * a copy into user memory (FUSE_CAP_SPLICE_READ). Default false: on this
   * kernel it measured slower than reading requests into memory.
   */
  spliceRequests?: boolean;
  attrTimeout?: number;
  entryTimeout?: number;
  /** 'keep' keeps cached pages across opens; 'auto' drops them when mtime changes; 'none' is direct I/O */
  pageCache?: 'keep' | 'auto' | 'none';
  writebackCache?: boolean;
  /** the kernel enforces POSIX ACLs the filesystem stores (system.posix_acl_* xattrs) */
  posixAcl?: boolean;
  defaultPermissions?: boolean;
  allowOther?: boolean;
  /** serve read/write of handles that registered an fd natively (default true) */
  fastPath?: boolean;
  /**
   * local files' reads, writes and mmap go from the kernel to the backing file (FUSE
   * passthrough, Linux 6.9+), when the kernel offers it; needs fastPath (default false)
   */
  passthrough?: boolean;
  /** listings carry attributes (READDIRPLUS): always (the default), as the kernel chooses per directory (auto), or never */
  readdirplus?: 'always' | 'auto' | 'off';
  /** FUSE worker threads upper bound (default 8; they never wait for JavaScript) */
  maxThreads?: number;
  /** raise the kernel's read-ahead for this mount (KiB; the kernel starts FUSE at 128) */
  readAheadKb?: number;
  /** unmount on SIGINT/SIGTERM/SIGHUP, then die of the signal if nobody else listens (default true) */
  handleSignals?: boolean;
  /** libfuse's debug output on stderr */
  debug?: boolean;
}
