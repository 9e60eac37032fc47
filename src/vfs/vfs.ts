// File semantics over the catalog and the tiers: one place for lookup, create, rename,
// unlink … The catalog holds the namespace and attributes; a regular file's bytes
// live in a plain file at the same relative path on one volume of a local tier, and
// each of its hard links exists there as a hard link too.
import * as fs from 'node:fs';
import { constants as C } from 'node:fs';
import type { BackingIds, Catalog, DirAttrsTuple, PendingRename, Inode, InodeAttrs, JoinedNames, XattrsStored } from '../catalog/catalog.js';
import { joinedName, ROOT_INO } from '../catalog/catalog.js';
import { FsError } from '../errors.js';
import type { DirAttrs } from '../tiers/local/beneath.js';
import { TEMP_DIR, tempPathOf } from '../tiers/local/copy.js';
import { nameDigest, parseUnlinkTag, REPLACED_TAG_PREFIX, replacedTag, UNLINK_TAG_PREFIX, unlinkTag } from './unlinks.js';
import { backingIdentity, distinctFilesystems, type LocalTier, type VolumeUsage } from '../tiers/local/local-tier.js';
import { matchXattrs, type Xattr } from '../tiers/local/xattrs.js';
import { nativeBinding } from '../fuse/native.js';
import type { BackingStat, CreateGrant as GrantForBinding, MadeFile } from '../fuse/types.js';
import type { TierSet } from '../tiers/tier-set.js';
import type { CellFileSet, ObjectLayout } from '../tiers/object/types.js';
import type { AccessRecorder } from './access-recorder.js';
import { NamespaceMirror } from './namespace-mirror.js';
import { ListingAhead } from './listing-ahead.js';
import { admit } from '../policy/admission.js';
import { ACL_ACCESS, ACL_DEFAULT, aclWithMode, inheritAcl, modeOfAcl, parseAcl, serializeAcl } from './posix-acl.js';
import { moduleLogger } from '../log.js';
import { withoutPrivileges } from './modes.js';
import { inGroup } from './caller-groups.js';

const log = moduleLogger('vfs');

/** What a rename (or exchange) refused by a stray backing name logs beside its EEXIST. */
const STRAY_REFUSED = 'file not renamed: its new name on the volume holds a file the catalog does not have (a remount imports it; or move it away on the volume)';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
const S_ISGID = 0o2000;

export const isDir = (mode: number) => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number) => (mode & S_IFMT) === S_IFREG;
export const isSymlink = (mode: number) => (mode & S_IFMT) === S_IFLNK;

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
const O_ACCMODE = 3;

/** Whether an open with these flags may change the file (written to, or truncated). */
export function opensToChange(flags: number): boolean {
  return (flags & O_ACCMODE) !== C.O_RDONLY || (flags & C.O_TRUNC) !== 0;
}
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const SEEK_DATA = 3;
/** Virtual, read-only: the tier that holds a file. */
export const TIER_XATTR = 'user.tierfs.tier';
/** Virtual: the tier a file or directory is pinned to (set with tierfs pin, or here). */
export const PIN_XATTR = 'user.tierfs.pin';
/** Stored like any user xattr, and also an input of placement rules (match.class). */
export const CLASS_XATTR = 'user.tierfs.class';

export interface Caller {
  uid: number;
  gid: number;
  pid: number;
  /** the caller's umask, which the kernel leaves to us when we apply default ACLs */
  umask?: number;
}

export interface OpenFile {
  fh: number;
  ino: number;
  /** the backing file's descriptor; -1 for a file read from an object tier */
  fd: number;
  writable: boolean;
  /** the copy this handle reads when the file is on an object tier */
  layout?: ObjectLayout;
  /** the file's path when it was opened, for the access log */
  path: string;
  /** create made this file: its catalog attributes are exact (empty, nothing written yet) */
  created?: boolean;
}

/** Brings a file from an object tier to a local one before it is written (set by the daemon). */
/** Brings a cold file to a local tier; keepBytes: only so many of its first bytes, the file truncated to them (MoveRequest.keepBytes). */
export type CopyUp = (ino: number, keepBytes?: number) => Promise<void>;

const NS_PER_S = 1_000_000_000n;
/** Seconds and nanoseconds, as SQLite's integer division splits them (both negative before 1970). */
function splitNs(ns: bigint): [number, number] {
  return [Number(ns / NS_PER_S), Number(ns % NS_PER_S)];
}

function attrsTuple(cookie: number, name: string, i: Inode): DirAttrsTuple {
  return [cookie, name, i.ino, i.mode, i.nlink, i.uid, i.gid, i.rdev, i.size, i.blocks, ...splitNs(i.atimeNs), ...splitNs(i.mtimeNs), ...splitNs(i.ctimeNs), 0];
}

/** Cookies of '.' and '..'; an entry's cookie is its catalog position plus DOTDOT_COOKIE. */
const DOT_COOKIE = 1;
const DOTDOT_COOKIE = 2;

export const nowNs = () => BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);

/**
 * A missing name is the most common answer a filesystem gives (every create looks the
 * name up first): one error, made once, spares building a stack trace each time.
 */
const NOT_FOUND = new FsError('ENOENT', 'no such name');

/** Tests kill the daemon at a named point of a namespace change (TIERFS_TEST_CRASH_AT=renamed-backing). */
const CRASH_AT = process.env.TIERFS_TEST_CRASH_AT;
function crashForTests(point: string): void {
  if (CRASH_AT !== point) return;
  fs.writeSync(2, `test hook: crashing at ${point}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/**
 * Errors of renames whose backing names are left half changed (an exchange that could not
 * be taken back): their intent stays, for the next mount to finish.
 */
const HALF_DONE = new WeakSet<object>();

/** A data path no file has, for an exchange of two directories (Vfs.renameEntry). */
const PARKED_PATH = '/exchanging';

function childPath(parentPath: string, name: string): string {
  return parentPath === '' ? name : `${parentPath}/${name}`;
}

function validName(name: string): void {
  if (name.length === 0 || name === '.' || name === '..' || name.includes('/')) throw new FsError('EINVAL', `bad name: ${name}`);
  if (Buffer.byteLength(name) > 255) throw new FsError('ENAMETOOLONG');
}

/** What the binding is handed for creates in a directory (the adapter turns attrs into an Attr). */
type CreateGrant = Omit<GrantForBinding, 'attr'> & { attrs: Inode };

/** A directory with more names is not handed to the binding for creates or lookups (each name is kept there). */
const MAX_GRANTED_NAMES = 16384;
/** How often the placement of the binding's creates is checked against where new files go now. */
const PLACEMENT_CHECK_MS = 100;
/** How long a directory not handed to the binding for creates is left alone. */
const GRANT_RETRY_MS = 10_000;
/** How often a directory's names are listed at most for the binding's lookups (each listing is all its names). */
const LOOKUP_GRANT_EVERY_MS = 1000;
/**
 * Names listed at most at a directory's first miss: a larger one is listed (up to
 * MAX_GRANTED_NAMES, some milliseconds of the event loop) only once missed in again, not
 * for a one-off miss in each of many large directories.
 */
const FIRST_MISS_NAMES = 1024;
/** Room a tier keeps below its high watermark while the binding answers creates on it. */
const GRANT_MARGIN_BYTES = 64 * 2 ** 20;

/**
 * Names tierfs keeps for itself: the directory at each volume root where moves assemble
 * their copies. Through the mount it does not exist and cannot be made, so nobody can
 * remove in-flight copies by removing it.
 */
/** The name in parent that tierfs keeps for itself (its temporary files at the mount root), if any. */
function reservedIn(parent: number): string | null {
  return parent === ROOT_INO ? TEMP_DIR : null;
}

function isReserved(parent: number, name: string): boolean {
  return name === reservedIn(parent);
}

/** A name a caller may create (or rename onto) in parent. */
function validNewName(parent: number, name: string): void {
  validName(name);
  if (isReserved(parent, name)) throw new FsError('EPERM', `${name} is reserved for tierfs at the mount root`);
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

/**
 * Flags the backing file may be opened with: creation is the catalog's business,
 * O_DIRECT breaks on many filesystems, and O_APPEND is the kernel's: it sends each
 * write with the offset it resolved, which the binding writes with pwrite.
 */
function backingOpenFlags(flags: number): number {
  const drop = C.O_CREAT | C.O_EXCL | C.O_NOCTTY | C.O_APPEND | (C.O_DIRECT ?? 0);
  return flags & ~drop; // libuv adds O_CLOEXEC itself
}

export class Vfs {
  private readonly handles = new Map<number, OpenFile>();
  /** open directory handles: the directory each reads (its entries come from the catalog, page by page) */
  private readonly dirHandles = new Map<number, number>();
  /** object-tier copies held by readers other than handles (scrub), by fileId */
  private readonly heldCopies = new Map<string, number>();
  /** open handles per inode (an unlinked file lives until its last one closes): all, writers, and those on a local copy */
  private readonly openCount = new Map<number, { all: number; writers: Set<number>; local: number }>();
  private nextFh = 1;
  private readonly tiers: LocalTier[];
  copyUp: CopyUp = async () => {
    throw new FsError('EROFS', 'files on object tiers cannot be written in this mount');
  };
  /** Told of the bytes read and written through the mount, by the tier that holds them (the daemon's metrics). */
  onIo: (tier: string, op: 'read' | 'write', bytes: number) => void = () => {};

  constructor(
    readonly catalog: Catalog,
    readonly tierSet: TierSet,
    private readonly recorder: AccessRecorder,
  ) {
    this.tiers = tierSet.locals;
    this.mirror = new NamespaceMirror(this.tiers, this.dirAttrsAt);
    this.listingAhead = new ListingAhead({
      firstPage: (dir, limit) => {
        const dots = this.dotsOf(dir, 0);
        return dots && { page: this.namesPage(dir, dots, 0, limit), parent: dots[1]![2] };
      },
      nextSubdir: (dir, afterCookie) => this.catalog.nextSubdir(dir, afterCookie),
      nameOf: (dir) => this.catalog.nameOf(dir),
    });
    catalog.onNamesChanged = (dir) => this.listingAhead.namesChanged(dir);
  }

  /** First pages of names read ahead of a walk (vfs/listing-ahead.ts). */
  readonly listingAhead: ListingAhead;

  /** directories and symlinks, also on the first local tier (so a rebuild finds them) */
  private readonly mirror: NamespaceMirror;

  // ── helpers ────────────────────────────────────────────────────────────────

  inode(ino: number): Inode {
    const i = this.catalog.getInode(ino);
    if (!i) throw new FsError('ENOENT', `no inode ${ino}`);
    return i;
  }

  private dir(ino: number): Inode {
    const i = this.inode(ino);
    if (!isDir(i.mode)) throw new FsError('ENOTDIR');
    return i;
  }

  private dirPath(ino: number): string {
    const p = this.catalog.pathOf(ino);
    if (p === undefined) throw new FsError('ENOENT', `directory ${ino} has no path`);
    return p;
  }

  tier(name: string): LocalTier {
    if (!this.tierSet.has(name)) throw new FsError('EIO', `file is on tier "${name}", which is not configured`);
    return this.tierSet.local(name);
  }

  /** True when the file's bytes are a plain file on a local volume. */
  isLocalFile(i: Inode): boolean {
    return isReg(i.mode) && i.tier !== null && i.volume !== null;
  }

  /** The absolute path of a file's bytes on a local tier. */
  backingPath(i: Inode): string {
    if (!i.tier || !i.volume || i.dataPath === null) throw new FsError('EIO', `inode ${i.ino} has no local data location`);
    return this.tier(i.tier).pathOf(i.volume, i.dataPath);
  }

  /** A descriptor of a local file's backing file, opened with no symlink followed; the caller closes it. */
  private openBacking(i: Inode, flags: number): number {
    if (!i.tier || !i.volume || i.dataPath === null) throw new FsError('EIO', `inode ${i.ino} has no local data location`);
    if (i.nlink === 0) return this.reopenUnnamed(i, flags);
    return this.tier(i.tier).openFile(i.volume, i.dataPath, flags);
  }

  /**
   * A file whose last name went while it was open (unlinked, or renamed over) has no
   * backing name either: its dataPath is where its name was, which another file may hold
   * by now — another user's, whose bytes an open of /proc/self/fd/N would reach, or O_TRUNC
   * empty. Its bytes are reached through a descriptor a handle of it holds, as Linux
   * reopens such a file.
   */
  private reopenUnnamed(i: Inode, flags: number): number {
    // A writer's descriptor is on the current copy (no move while one is open); of the
    // others, the latest opened (a reader that opened before a move keeps the old copy).
    let best: OpenFile | undefined;
    for (const h of this.handles.values()) {
      if (h.ino !== i.ino || h.fd < 0) continue;
      if (!best || (h.writable && !best.writable) || (h.writable === best.writable && h.fh > best.fh)) best = h;
    }
    if (!best) throw new FsError('ENOENT', `inode ${i.ino} has no name left and no open descriptor of its bytes`);
    // (A descriptor's /proc link is not a symlink one can swap: no O_NOFOLLOW, which it refuses.)
    return fs.openSync(`/proc/self/fd/${best.fd}`, flags & ~(C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW));
  }

  /**
   * The mount's directory at a backing directory path: backing directories that tierfs
   * makes carry its mode and owner, so a volume shows no more than the mount does.
   */
  readonly dirAttrsAt = (dirPath: string): DirAttrs | undefined => {
    let ino = ROOT_INO;
    for (const name of dirPath.split('/')) {
      const next = this.catalog.lookupIno(ino, name);
      if (next === undefined) return undefined;
      ino = next;
    }
    const d = this.catalog.getInode(ino);
    return d && isDir(d.mode) ? { mode: d.mode & 0o7777, uid: d.uid, gid: d.gid } : undefined;
  };

  /** Remove one backing name of a file (a hard link among others, or its last); a missing one is fine. */
  private unlinkBacking(tierName: string, volume: string, path: string): void {
    try {
      this.tier(tierName).unlinkFile(volume, path);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
    }
  }

  /** A path of ino by another name than parent/name, if it has one. */
  private otherPath(ino: number, parent: number, name: string): string | undefined {
    for (const n of this.catalog.namesOf(ino)) {
      if (n.parent === parent && n.name === name) continue;
      const dir = this.catalog.pathOf(n.parent);
      if (dir !== undefined) return childPath(dir, n.name);
    }
    return undefined;
  }

  /**
   * Before the name parent/name (at path) of a hard-linked file goes, let its bytes be
   * known by another name: both exist at this point, so whichever step follows may fail
   * or be cut short by a crash without the catalog pointing at a name that is gone.
   */
  private moveDataPathOff(i: Inode, parent: number, name: string, path: string): void {
    if (i.dataPath !== path || i.nlink < 2) return;
    const other = this.otherPath(i.ino, parent, name);
    if (other !== undefined) this.catalog.setDataPath(i.ino, other);
  }

  /** The copy of a file on an object tier. */
  layoutOf(i: Inode): ObjectLayout {
    if (!i.layout) throw new FsError('EIO', `inode ${i.ino} has no object layout`);
    return JSON.parse(i.layout) as ObjectLayout;
  }

  /**
   * What the kernel agreed to at mount: whether it enforces the POSIX ACLs we store, and
   * whether it left the umask to us (it does when ACLs are on: a default ACL replaces it).
   */
  acls = { enforced: false, umaskIsOurs: false };

  /**
   * The kernel reads and writes local files itself (FUSE passthrough): it keeps one
   * backing file per open inode and cannot be told of another, so a local file that is
   * open in any way does not move until it is closed (see openHold).
   */
  passthrough = false;

  /**
   * Owner, group and mode of a new entry in parent, and the ACLs it starts with: its
   * directory's default ACL (a new directory inherits that too), else the caller's umask.
   */
  private newOwner(caller: Caller, parent: Inode, mode: number): { uid: number; gid: number; mode: number; acls: Xattr[] } {
    const acls: Xattr[] = [];
    const defaults = this.acls.enforced && !isSymlink(mode) ? this.catalog.getXattr(parent.ino, ACL_DEFAULT) : undefined;
    if (defaults) {
      const inherited = inheritAcl(parseAcl(defaults), mode);
      mode = inherited.mode;
      if (inherited.access) acls.push({ name: ACL_ACCESS, value: serializeAcl(inherited.access) });
      if (isDir(mode)) acls.push({ name: ACL_DEFAULT, value: defaults });
    } else if (this.acls.umaskIsOurs && !isSymlink(mode)) {
      mode &= ~(caller.umask ?? 0o022);
    }
    // BSD group semantics under a setgid directory, as ext4 does.
    if (parent.mode & S_ISGID) return { uid: caller.uid, gid: parent.gid, mode: isDir(mode) ? mode | S_ISGID : mode, acls };
    return { uid: caller.uid, gid: caller.gid, mode, acls };
  }

  /** The ACLs a new entry starts with, into the catalog (inside its creating transaction). */
  private storeAcls(ino: number, acls: Xattr[]): void {
    for (const x of acls) this.catalog.setXattr(ino, x.name, x.value);
  }

  /**
   * The first local tier with room under its high watermark, and a volume on it; when
   * every one is above it, the first with space left (pressure demotion makes room).
   */
  /** refused: volumes a new file was just refused on (placeNewFile) */
  place(size = 0, refused: ReadonlySet<string> = new Set()): { tier: LocalTier; volume: string } {
    const usage = this.catalog.usageByTier();
    const tiers = this.tiers.filter((t) => t.volumes.some((v) => !refused.has(v)));
    const at = admit(tiers.map((t) => ({ ...t.usage(usage.get(t.name)?.bytes ?? 0), high: t.config.watermarks.high })), size);
    if (!at) throw new FsError('ENOSPC', 'every local tier is full');
    const tier = tiers[at.index]!;
    if (at.aboveHigh && Date.now() - this.warnedAboveHigh > 60_000) {
      this.warnedAboveHigh = Date.now();
      log.warn({ tier: tier.name }, 'every local tier is above its high watermark: new files go where there is space while pressure demotion makes room');
    }
    return { tier, volume: tier.pickVolume(refused) };
  }
  private warnedAboveHigh = 0;

  /**
   * Makes a new file where place() says, and where that volume refuses it for want of
   * space (out of inodes, filled since its free space was looked at, a quota), on another
   * volume of the tier or the next tier that has room: a full tier falls back to the next one.
   */
  private placeNewFile(make: (tier: LocalTier, volume: string) => number): { tier: LocalTier; volume: string; fd: number } {
    const refused = new Set<string>();
    for (;;) {
      const { tier, volume } = this.place(0, refused);
      try {
        return { tier, volume, fd: make(tier, volume) };
      } catch (err) {
        const code = errCode(err);
        if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
        log.warn({ tier: tier.name, volume, code }, 'a new file found no space on its volume (out of inodes, filled meanwhile, or a quota): trying elsewhere');
        tier.forgetVolumeUsage();
        refused.add(volume);
      }
    }
  }

  private touchParent(parent: number, t = nowNs()): void {
    this.catalog.touchDir(parent, t);
  }

  /** Current attributes; a file open for writing reports its backing file's size and times. */
  attrs<T extends InodeAttrs>(i: T): T {
    const open = this.openCount.get(i.ino);
    if (open && open.writers.size > 0) {
      const fh = open.writers.values().next().value as number;
      const h = this.handles.get(fh);
      if (h) {
        const st = fs.fstatSync(h.fd, { bigint: true });
        return { ...i, size: Number(st.size), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs > i.ctimeNs ? st.ctimeNs : i.ctimeNs };
      }
    }
    return i;
  }

  // ── namespace ──────────────────────────────────────────────────────────────

  /** The kernel only looks names up in directories, so the parent is not checked again. */
  lookup(parent: number, name: string): Inode & XattrsStored {
    if (Buffer.byteLength(name) > 255) throw new FsError('ENAMETOOLONG');
    if (isReserved(parent, name)) throw NOT_FOUND;
    const i = this.catalog.lookupEntry(parent, name);
    if (!i) throw NOT_FOUND;
    return this.attrs(i);
  }

  getattr(ino: number): Inode {
    return this.attrs(this.inode(ino));
  }

  mkdir(caller: Caller, parent: number, name: string, mode: number): Inode {
    validNewName(parent, name);
    const p = this.dir(parent);
    if (this.catalog.lookupIno(parent, name) !== undefined) throw new FsError('EEXIST');
    const { acls, ...owner } = this.newOwner(caller, p, S_IFDIR | (mode & 0o7777));
    const t = nowNs();
    const ino = this.catalog.tx(() => {
      const ino = this.catalog.createInode(
        { ...owner, nlink: 2, rdev: 0, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: null, volume: null, dataPath: null, target: null },
        parent,
        name,
      );
      this.storeAcls(ino, acls);
      this.catalog.setNlink(parent, p.nlink + 1, t);
      this.touchParent(parent, t);
      return ino;
    });
    this.mirror.directory(childPath(this.dirPath(parent), name));
    if (acls.length > 0) this.mirrorXattrs(ino);
    return this.inode(ino);
  }

  /** Regular files, FIFOs, sockets and device nodes. Only regular files have bytes on a tier. */
  async mknod(caller: Caller, parent: number, name: string, mode: number, rdev: number): Promise<Inode> {
    if (isReg(mode) || (mode & S_IFMT) === 0) {
      const { fh } = await this.create(caller, parent, name, S_IFREG | (mode & 0o7777), C.O_WRONLY);
      const ino = this.handles.get(fh)!.ino;
      this.release(fh);
      return this.inode(ino);
    }
    validNewName(parent, name);
    const p = this.dir(parent);
    if (this.catalog.lookupIno(parent, name) !== undefined) throw new FsError('EEXIST');
    const { acls, ...owner } = this.newOwner(caller, p, mode);
    const t = nowNs();
    const ino = this.catalog.tx(() => {
      const ino = this.catalog.createInode(
        { ...owner, nlink: 1, rdev, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: null, volume: null, dataPath: null, target: null },
        parent,
        name,
      );
      this.storeAcls(ino, acls);
      this.touchParent(parent, t);
      return ino;
    });
    return this.inode(ino);
  }

  symlink(caller: Caller, target: string, parent: number, name: string): Inode {
    validNewName(parent, name);
    const p = this.dir(parent);
    if (this.catalog.lookupIno(parent, name) !== undefined) throw new FsError('EEXIST');
    if (Buffer.byteLength(target) > 4095) throw new FsError('ENAMETOOLONG');
    const { acls: _none, ...owner } = this.newOwner(caller, p, S_IFLNK | 0o777);
    const t = nowNs();
    const ino = this.catalog.tx(() => {
      const ino = this.catalog.createInode(
        { ...owner, nlink: 1, rdev: 0, size: Buffer.byteLength(target), atimeNs: t, mtimeNs: t, ctimeNs: t, tier: null, volume: null, dataPath: null, target },
        parent,
        name,
      );
      this.touchParent(parent, t);
      return ino;
    });
    this.mirror.symlink(childPath(this.dirPath(parent), name), target, { ...owner, atimeNs: t, mtimeNs: t });
    return this.inode(ino);
  }

  readlink(ino: number): string {
    const i = this.inode(ino);
    if ((i.mode & S_IFMT) !== S_IFLNK || i.target === null) throw new FsError('EINVAL');
    return i.target;
  }

  async create(caller: Caller, parent: number, name: string, mode: number, flags: number): Promise<OpenFile> {
    validNewName(parent, name);
    const p = this.dir(parent);
    const existing = this.catalog.lookup(parent, name);
    if (existing) {
      if (flags & C.O_EXCL) throw new FsError('EEXIST');
      return this.open(existing.ino, flags);
    }
    const dataPath = childPath(this.dirPath(parent), name);
    const { acls, ...owner } = this.newOwner(caller, p, S_IFREG | (mode & 0o7777));
    // O_TRUNC: a stray backing file (left by a crash before its catalog entry) is replaced.
    const { tier, volume, fd } = this.placeNewFile((t, v) =>
      t.openFile(v, dataPath, backingOpenFlags(flags) | C.O_CREAT | C.O_TRUNC, { mode: owner.mode & 0o777, dirAttrs: this.dirAttrsAt }),
    );
    let ino: number;
    try {
      // The backing file's mode is the catalog's exactly: open(2) applied the daemon's
      // umask, and chown clears setuid/setgid — so chmod comes after chown. Each is a
      // journalled change of the inode: skipped when open(2) gave what is wanted already
      // (a file created by root with no setuid/setgid bits).
      const st = fs.fstatSync(fd);
      const chown = st.uid !== owner.uid || st.gid !== owner.gid;
      if (chown) fs.fchownSync(fd, owner.uid, owner.gid);
      if (chown || (st.mode & 0o7777) !== (owner.mode & 0o7777)) fs.fchmodSync(fd, owner.mode & 0o7777);
      ino = this.addFileRows({ parent, name, ...owner, timeNs: nowNs(), tier: tier.name, volume, dataPath, acls });
    } catch (err) {
      // Nothing names the new file yet: its backing goes with the failure.
      fs.closeSync(fd);
      try {
        this.unlinkBacking(tier.name, volume, dataPath);
      } catch (rmErr) {
        log.warn({ err: rmErr, path: dataPath, volume }, 'could not remove the backing file of a failed create');
      }
      throw err;
    }
    if (acls.length > 0) this.mirrorXattrs(ino);
    return { ...this.openNewFile(ino, fd, flags, dataPath), created: true };
  }

  /** A new regular file's catalog rows (its inode, its name, its ACLs) and its directory's new times; returns its inode. */
  private addFileRows(f: { parent: number; name: string; ino?: number; mode: number; uid: number; gid: number; timeNs: bigint; tier: string; volume: string; dataPath: string; acls?: Xattr[] }): number {
    const t = f.timeNs;
    return this.catalog.tx(() => {
      const row = { mode: f.mode, uid: f.uid, gid: f.gid, nlink: 1, rdev: 0, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: f.tier, volume: f.volume, dataPath: f.dataPath, target: null };
      const ino = this.catalog.createInode(row, f.parent, f.name, f.ino);
      this.storeAcls(ino, f.acls ?? []);
      this.touchParent(f.parent, t);
      return ino;
    });
  }

  /** The handle of a file just created, and the open the access log records of it. */
  private openNewFile(ino: number, fd: number, flags: number, dataPath: string, fh?: number): OpenFile {
    this.recorder.record({ timeMs: Date.now(), ino, path: dataPath, op: 'open', offset: 0, length: 0, size: 0, count: 1 });
    return this.addHandle(ino, fd, flags, undefined, dataPath, fh);
  }

  // ── creates the binding answers (native/fuse/create-grants.h) ──────────────────

  /**
   * What the binding needs to answer the next creates in parent itself: a descriptor of
   * its backing directory where new files go now, every name it holds (the reserved one
   * too, so that its lookups still come here), and its attributes. Undefined for a
   * directory whose new files inherit a default ACL (made here), or one too large to
   * hand over whole.
   */
  createGrant(parent: number): CreateGrant | undefined {
    // A directory refused lately is not looked at again at every create in it (its names
    // alone are up to MAX_GRANTED_NAMES rows).
    const refusedAt = this.grantsRefused.get(parent);
    if (refusedAt !== undefined && Date.now() - refusedAt < GRANT_RETRY_MS) return undefined;
    const grant = this.makeGrant(parent);
    if (grant) this.grantsRefused.delete(parent);
    else {
      if (this.grantsRefused.size >= 4096) this.grantsRefused.clear();
      this.grantsRefused.set(parent, Date.now());
    }
    return grant;
  }
  private readonly grantsRefused = new Map<number, number>();

  private makeGrant(parent: number): CreateGrant | undefined {
    if (this.acls.enforced && this.catalog.getXattr(parent, ACL_DEFAULT) !== undefined) return undefined;
    const { tier, volume } = this.place();
    // What the tier may take below its high watermark, less a margin: files written and
    // closed meanwhile come off it (the binding's budget); near the mark, creates come here.
    const usage = tier.usage(this.catalog.usageByTier().get(tier.name)?.bytes ?? 0);
    const budget = Math.min(usage.capacityBytes * tier.config.watermarks.high - usage.usedBytes, usage.freeBytes) - GRANT_MARGIN_BYTES;
    if (budget < 0) return undefined;
    const names = this.grantableNames(parent);
    if (!names) return undefined;
    const dirfd = tier.openDir(volume, this.dirPath(parent));
    return { dirfd, placement: this.placementOf(tier.name, volume), attrs: this.getattr(parent), names, budget: Math.floor(budget) };
  }

  /**
   * Every name directory parent holds (reserved ones too), for the binding to answer
   * lookups of the others after one missed (FuseOps.lookupGrant): at most once a second
   * per directory, a large one only at its second miss (FIRST_MISS_NAMES), and one too
   * large to hand over once in GRANT_RETRY_MS.
   */
  lookupGrant(parent: number): string[] | undefined {
    const now = Date.now();
    const due = this.lookupMisses.get(parent);
    if (due !== undefined && due > now) return undefined;
    const limit = due === undefined ? FIRST_MISS_NAMES : MAX_GRANTED_NAMES;
    const names = this.grantableNames(parent, limit);
    if (this.lookupMisses.size >= 4096) this.lookupMisses.clear();
    this.lookupMisses.set(parent, names ? now + LOOKUP_GRANT_EVERY_MS : limit < MAX_GRANTED_NAMES ? now : now + GRANT_RETRY_MS);
    return names;
  }
  /** Directories missed in lately: when their names may next be listed for lookupGrant. */
  private readonly lookupMisses = new Map<number, number>();

  private grantableNames(parent: number, limit = MAX_GRANTED_NAMES): string[] | undefined {
    const names = this.catalog.dirNames(parent, limit);
    if (!names) return undefined;
    const reserved = reservedIn(parent);
    if (reserved !== null) names.push(reserved);
    return names;
  }

  /**
   * The catalog rows, handle and access record of a file the binding made (as create()
   * makes them once its backing file is open). False when new files should now go to
   * another tier or volume than this one did: the binding's grants must end.
   */
  adoptCreate(m: MadeFile): boolean {
    const { tier, volume } = this.placements[m.placement]!;
    const dataPath = childPath(this.dirPath(m.parent), m.name);
    this.addFileRows({ ...m, tier, volume, dataPath });
    this.openNewFile(m.ino, m.fd, m.flags, dataPath, m.fh);
    // Whether new files still go there: a tier filled by files closed after writes ends
    // the grants in the binding at once (their budget); this catches the rest (moves onto
    // the tier, a changed watermark), within PLACEMENT_CHECK_MS.
    if (Date.now() - this.placementCheckedAt < PLACEMENT_CHECK_MS) return true;
    this.placementCheckedAt = Date.now();
    try {
      const now = this.place();
      return now.tier.name === tier && now.volume === volume;
    } catch {
      return false; // every local tier full: creates come here, which says ENOSPC
    }
  }
  private placementCheckedAt = 0;

  /** Numbers for `count` creates the binding makes: inodes set aside in the catalog, handle numbers here. */
  createNumbers(count: number): { inoFrom: number; fhFrom: number } {
    const fhFrom = this.nextFh;
    this.nextFh += count;
    return { inoFrom: this.catalog.reserveInos(count), fhFrom };
  }

  /** A tier and volume as a number the binding carries (never reused: a grant may outlive a change of tiers). */
  private placementOf(tier: string, volume: string): number {
    const at = this.placements.findIndex((p) => p.tier === tier && p.volume === volume);
    return at >= 0 ? at : this.placements.push({ tier, volume }) - 1;
  }
  private readonly placements: { tier: string; volume: string }[] = [];

  link(ino: number, newParent: number, newName: string): Inode {
    validNewName(newParent, newName);
    const i = this.inode(ino);
    if (isDir(i.mode)) throw new FsError('EPERM', 'hard links to directories are not allowed');
    this.dir(newParent);
    if (this.catalog.lookupIno(newParent, newName) !== undefined) throw new FsError('EEXIST');
    if (i.nlink === 0) throw new FsError('ENOENT');
    if (this.isLocalFile(i)) {
      const tier = this.tier(i.tier!);
      const volume = i.volume!;
      const newPath = childPath(this.dirPath(newParent), newName);
      tier.withName(volume, i.dataPath!, (from) => tier.withName(volume, newPath, (to) => fs.linkSync(from, to), this.dirAttrsAt));
    }
    const t = nowNs();
    this.catalog.tx(() => {
      this.catalog.addName(newParent, newName, ino);
      this.catalog.setNlink(ino, i.nlink + 1, t);
      this.touchParent(newParent, t);
    });
    // A symlink's new name is a symlink on the tier too (a copy: an import makes each
    // name its own symlink, which reads the same).
    if (isSymlink(i.mode) && i.target !== null) this.mirror.symlink(childPath(this.dirPath(newParent), newName), i.target, i);
    return this.attrs(this.inode(ino));
  }

  /**
   * Removes a name that is not a directory's, on its volume first, then in the catalog (the
   * other order would bring the file back: the next mount imports a backing name the
   * catalog does not hold). A local file's backing name is moved into its volume's temp
   * directory under a name that says which catalog name it was (unlinks.ts), and removed
   * there once the change has committed; a mount in between finishes the unlink
   * (finishUnlinks) instead of finding the name without its bytes, so the caller need not
   * wait for that commit: undefined. Otherwise (a cold file, a symlink, a backing name
   * already gone), and where the bytes freed must be free when it returns, a promise the
   * caller waits for before saying it is done.
   */
  unlink(parent: number, name: string): Promise<void> | undefined {
    this.dir(parent);
    if (isReserved(parent, name)) throw new FsError('ENOENT');
    const i = this.catalog.lookup(parent, name);
    if (!i) throw new FsError('ENOENT');
    if (isDir(i.mode)) throw new FsError('EISDIR');
    const path = childPath(this.dirPath(parent), name);
    this.moveDataPathOff(i, parent, name, path);
    const remove = this.isLocalFile(i) ? this.tier(i.tier!).setAside(i.volume!, path, unlinkTag(parent, i.ino, name)) : undefined;
    if (isSymlink(i.mode)) this.mirror.removeSymlink(path);
    this.forgetName(parent, name, i);
    const freed = this.nameGone(i);
    if (remove) {
      this.catalog.group.afterCommit(remove);
      return freed;
    }
    return freed ? Promise.all([this.catalog.group.settled(), freed]).then(() => undefined) : this.catalog.group.settled();
  }

  /**
   * i (as it was) has lost a name. If that was its last, a move of it stops; and if the
   * volume its bytes are on is short of room, the blocks must be free when the caller
   * returns: the write that comes next may need them. They go with the backing name set
   * aside or replaced (removed at the commit, a large file's off the event loop), and with
   * the source of the move that was copying the file away. Undefined when there is nothing
   * to wait for.
   */
  private nameGone(i: Inode): Promise<void> | undefined {
    if (i.nlink !== 1) return undefined;
    const moveEnded = this.onLastNameGone(i.ino);
    if (this.openCount.has(i.ino) || !this.isLocalFile(i)) return undefined;
    const tier = this.tier(i.tier!);
    if (!tier.shortOfRoom(i.volume!, i.size)) return undefined;
    return Promise.all([this.catalog.group.settled().then(() => tier.unlinksDone(i.volume!)), moveEnded]).then(() => undefined);
  }

  /**
   * Finishes, at mount (after finishRenames, before anything empties the temp
   * directories), the unlinks whose backing names were set aside and whose catalog change
   * did not commit before the daemon died; removes the names set aside.
   */
  finishUnlinks(): number {
    let finished = 0;
    for (const tier of this.tiers) {
      for (const volume of tier.volumes) {
        for (const aside of tier.tempNames(volume, UNLINK_TAG_PREFIX)) {
          const u = parseUnlinkTag(aside);
          const n = u && this.catalog.namesOf(u.ino).find((x) => x.parent === u.parent && nameDigest(x.name) === u.nameDigest);
          const i = n && this.catalog.getInode(u.ino);
          if (n && i) {
            this.moveDataPathOff(i, n.parent, n.name, childPath(this.dirPath(n.parent), n.name));
            this.forgetName(n.parent, n.name, i);
            finished++;
            log.warn({ parent: n.parent, name: n.name }, 'finished an unlink the daemon had died in');
          }
          tier.unlinkAt(volume, tempPathOf(volume, aside));
        }
      }
    }
    return finished;
  }

  /** The catalog's part of removing a name of a non-directory inode (its backing name gone already). */
  private forgetName(parent: number, name: string, i: Inode): void {
    const t = nowNs();
    this.catalog.tx(() => {
      this.catalog.removeName(parent, name);
      this.catalog.setNlink(i.ino, i.nlink - 1, t);
      this.touchParent(parent, t);
    });
    if (i.nlink - 1 === 0) this.dropIfUnused(i.ino);
  }

  /** An inode with no name left goes with its last handle; its objects, if cold, go to the garbage list. */
  private dropIfUnused(ino: number): void {
    if (this.openCount.has(ino)) return;
    this.catalog.dropInode(ino);
  }

  rmdir(parent: number, name: string): void {
    const p = this.dir(parent);
    if (isReserved(parent, name)) throw new FsError('ENOENT');
    const i = this.catalog.lookup(parent, name);
    if (!i) throw new FsError('ENOENT');
    if (!isDir(i.mode)) throw new FsError('ENOTDIR');
    if (this.catalog.hasChildren(i.ino)) throw new FsError('ENOTEMPTY');
    const path = childPath(this.dirPath(parent), name);
    this.removeBackingDirs(path);
    const t = nowNs();
    this.catalog.tx(() => {
      this.catalog.removeName(parent, name);
      this.catalog.setNlink(parent, p.nlink - 1, t);
      this.touchParent(parent, t);
      this.catalog.deleteInode(i.ino);
    });
  }

  /**
   * Remove the backing directories of an empty directory on every volume that has one.
   * One that still holds a name (a file put on the volume beside the mount, a name
   * reconcile could not import) stays, and the rmdir fails with ENOTEMPTY: removing it
   * would delete what the mount cannot show (the log says what is there).
   */
  private removeBackingDirs(path: string): void {
    const held: { tier: LocalTier; volume: string }[] = [];
    for (const tier of this.tiers) {
      for (const volume of tier.volumes) {
        try {
          tier.withName(volume, path, (p) => fs.rmdirSync(p));
        } catch (err) {
          const code = errCode(err);
          if (code === 'ENOTEMPTY') held.push({ tier, volume });
          else if (code !== 'ENOENT') log.warn({ err, path, volume }, 'could not remove backing directory');
        }
      }
    }
    if (held.length === 0) return;
    this.mirror.directory(path); // as it was on the first tier, for a rebuild
    throw this.heldByBacking(path, held);
  }

  /** ENOTEMPTY for an empty directory whose backing holds names on these volumes; the log says which. */
  private heldByBacking(path: string, volumes: { tier: LocalTier; volume: string }[]): FsError {
    for (const { tier, volume } of volumes) {
      const names = this.backingNames(tier, volume, path);
      log.warn(
        { path, volume, names: names.slice(0, 10), count: names.length },
        'directory not removed: its backing directory holds names the catalog does not have (a remount imports them; or move them away on the volume)',
      );
    }
    return new FsError('ENOTEMPTY');
  }

  /** Whether the backing name at path on a volume is anything but absent or an empty directory (a stray file, a symlink, names). */
  private holdsUnseen(tier: LocalTier, volume: string, path: string): boolean {
    const st = this.backingStat(tier, volume, path);
    return st !== undefined && (!st.isDirectory() || this.backingNames(tier, volume, path).length > 0);
  }

  /** The names in the backing directory at path on a volume (none when there is none). */
  private backingNames(tier: LocalTier, volume: string, path: string): string[] {
    try {
      return tier.withName(volume, path, (p) => fs.readdirSync(p));
    } catch {
      return [];
    }
  }

  /** The lstat of the backing name at path on a volume (no symlink followed); undefined when there is none. */
  private backingStat(tier: LocalTier, volume: string, path: string): fs.BigIntStats | undefined {
    try {
      return tier.withName(volume, path, (p) => fs.lstatSync(p, { bigint: true, throwIfNoEntry: false }));
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  /**
   * Move the backing of `from` to `to`: a local file's on its volume, a directory's on every
   * volume that holds it. `begin` is told what moves (each volume's backingIdentity) just before
   * anything does: the rename's intent records it.
   * replacing: the mount's entry at `to` (a file, a symlink, or an empty directory), whose
   * backing name the rename replaces where it has one; a file's backing name there that is
   * not the entry's is a stray's, and the rename is refused.
   * redo: finishing a rename the daemon died in, with what its intent recorded (null: an
   * intent written before that was recorded). On a volume where `from` is not what the
   * intent recorded — gone, or a file or directory made under that name since — the rename
   * was done there already, and nothing moves: moving the newcomer would replace the one
   * renamed, with its bytes.
   */
  private renameBacking(
    i: Inode,
    from: string,
    to: string,
    o: { begin?: (ids: BackingIds) => void; replacing?: Inode; redo?: BackingIds | null } = {},
  ): void {
    const begin = o.begin ?? (() => undefined);
    const redo = o.redo;
    const replaced = o.replacing;
    // The entry renamed over has a backing name at `to` on a volume only where its bytes
    // (or its symlink's copy) are: anything else there is a stray, never replaced.
    const replacedOn = (volume: string) =>
      replaced !== undefined &&
      ((this.isLocalFile(replaced) && replaced.volume === volume) ||
        // a file renamed over a symlink: the symlink's copy on the file's volume
        (isSymlink(replaced.mode) && this.isLocalFile(i) && this.mirror.holdsSymlink(i.tier!, volume, to)));
    const moves = (volume: string, st: fs.BigIntStats | undefined): boolean =>
      st !== undefined && !st.isDirectory() && (!redo || backingIdentity(st) === redo[volume]);
    if (isReg(i.mode) && this.isLocalFile(i)) {
      const tier = this.tier(i.tier!);
      const volume = i.volume!;
      // (Its directory may be gone since, with the file renamed out of it.)
      if (redo !== undefined && !moves(volume, this.backingStat(tier, volume, from))) return;
      tier.withNames(
        volume,
        from,
        to,
        (src, dst) => {
          const st = fs.lstatSync(src, { bigint: true, throwIfNoEntry: false });
          try {
            // The intent is written only for a rename that goes ahead (a stray refuses it).
            tier.renameAt(volume, src, dst, replacedOn(volume), () => begin(st ? { [volume]: backingIdentity(st) } : {}));
          } catch (err) {
            if (errCode(err) === 'EEXIST') {
              log.warn({ path: to, volume }, STRAY_REFUSED);
            }
            throw err;
          }
        },
        this.dirAttrsAt,
      );
    } else if (isDir(i.mode)) {
      const ids = Object.fromEntries(Object.entries(this.backingIds(i, from)).filter(([volume, id]) => !redo || id === redo[volume]));
      begin(ids);
      for (const tier of this.tiers) {
        for (const volume of tier.volumes) {
          if (ids[volume] === undefined) {
            // Redone, `to` on this volume may be the directory renamed before the crash.
            if (replaced && redo === undefined) tier.removeTree(volume, to);
            continue;
          }
          tier.removeTree(volume, to);
          tier.withNames(volume, from, to, (src, dst) => fs.renameSync(src, dst), this.dirAttrsAt);
        }
      }
    } else if (isSymlink(i.mode)) {
      // (An intent written before identities were recorded moves what is there.)
      const ids = redo === undefined ? this.mirror.symlinkIds(from) : (redo ?? undefined);
      begin(ids ?? {});
      this.mirror.renameSymlink(from, to, ids, replacedOn);
    } else {
      begin({});
    }
  }

  /**
   * Returns the inodes that moved: the source's, and the target's of an exchange (none when
   * the two names were one file's); and, when the file renamed over lost
   * its last name on a volume short of room, what to wait for until its blocks are free
   * (as an unlink does).
   */
  rename(parent: number, name: string, newParent: number, newName: string, flags: number): { moved: Inode[]; freed?: Promise<void> } {
    const { moved, replaced } = this.renameEntry(parent, name, newParent, newName, flags);
    return replaced ? { moved, freed: this.nameGone(replaced) } : { moved };
  }

  /**
   * Finishes the renames the daemon died in the middle of (at mount, before reconcile):
   * the backing names may have changed on some volumes and not on others, the catalog
   * not at all. Each is done again, skipping what was done; the outcome is as if the
   * rename had returned. One that cannot be finished is logged, and reconcile reports
   * what it left.
   */
  finishRenames(): number {
    let finished = 0;
    for (const r of this.catalog.pendingRenames()) {
      try {
        this.renameEntry(r.parent, r.name, r.newParent, r.newName, r.flags ?? 0, r);
        finished++;
        log.warn({ parent: r.parent, name: r.name, newParent: r.newParent, newName: r.newName }, 'finished a rename the daemon had died in');
      } catch (err) {
        if (!HALF_DONE.has(err as object)) this.catalog.endRename(r.id);
        log.error({ err, parent: r.parent, name: r.name, newParent: r.newParent, newName: r.newName }, 'could not finish a rename the daemon had died in');
      }
    }
    return finished;
  }

  /**
   * The inodes that moved (see rename), and the file (not a directory) whose name the rename
   * took, as it was. resumed: the pending rename being finished (finishRenames).
   */
  private renameEntry(
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
    resumed?: { id: number; backing?: BackingIds; exchanged?: BackingIds },
  ): { moved: Inode[]; replaced?: Inode } {
    validNewName(newParent, newName);
    if (isReserved(parent, name)) throw new FsError('ENOENT');
    const p = this.dir(parent);
    const np = this.dir(newParent);
    const src = this.catalog.lookup(parent, name);
    if (!src) throw new FsError('ENOENT');
    const dst = this.catalog.lookup(newParent, newName);
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) || (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE)) {
      throw new FsError('EINVAL');
    }
    if (flags & RENAME_NOREPLACE && dst) throw new FsError('EEXIST');
    if (flags & RENAME_EXCHANGE && !dst) throw new FsError('ENOENT');
    if (dst && dst.ino === src.ino) return { moved: [] }; // two names of one file: POSIX says do nothing
    // A directory cannot move below itself.
    if (isDir(src.mode)) this.assertNotBelow(newParent, src.ino);
    if (flags & RENAME_EXCHANGE && isDir(dst!.mode)) this.assertNotBelow(parent, dst!.ino);

    const fromPath = childPath(this.dirPath(parent), name);
    const toPath = childPath(this.dirPath(newParent), newName);
    const t = nowNs();

    if (flags & RENAME_EXCHANGE) {
      // As a rename: the backings trade names first, under an intent, the catalog after.
      this.underIntent(
        { parent, name, newParent, newName, flags },
        resumed?.id,
        (begin) => this.exchangeBacking(src, fromPath, dst!, toPath, { begin, redo: resumed && { backing: resumed.backing ?? {}, exchanged: resumed.exchanged ?? {} } }),
        () => {
          this.catalog.pointName(parent, name, dst!.ino);
          this.catalog.pointName(newParent, newName, src.ino);
          if (parent !== newParent && isDir(src.mode) !== isDir(dst!.mode)) {
            const delta = isDir(src.mode) ? 1 : -1;
            this.catalog.setNlink(newParent, np.nlink + delta, t);
            this.catalog.setNlink(parent, p.nlink - delta, t);
          }
          // Two directories' files trade paths through one no file has (none begins with
          // '/'): one after the other, the second would take the first's back too.
          const bothDirs = isDir(src.mode) && isDir(dst!.mode);
          this.afterRename(src, fromPath, bothDirs ? PARKED_PATH : toPath, t);
          this.afterRename(dst!, toPath, fromPath, t);
          if (bothDirs) this.catalog.renameDataPaths(PARKED_PATH, toPath);
          this.touchParent(parent, t);
          this.touchParent(newParent, t);
        },
      );
      return { moved: [src, dst!] };
    }

    if (dst) {
      if (isDir(src.mode) && !isDir(dst.mode)) throw new FsError('ENOTDIR');
      if (!isDir(src.mode) && isDir(dst.mode)) throw new FsError('EISDIR');
      if (isDir(dst.mode) && this.catalog.hasChildren(dst.ino)) throw new FsError('ENOTEMPTY');
      if (!isDir(dst.mode)) this.moveDataPathOff(dst, newParent, newName, toPath);
    }
    if (isDir(src.mode) && !resumed) {
      // The directory's backing replaces what is at `to` on each volume (renameBacking), the
      // empty directory renamed over or one at a name the catalog does not have: never with
      // names in it that the mount does not show. (Finishing a rename, `to` may hold the
      // renamed directory already.)
      const held = this.tiers.flatMap((tier) => tier.volumes.filter((v) => this.holdsUnseen(tier, v, toPath)).map((volume) => ({ tier, volume })));
      if (held.length > 0) throw this.heldByBacking(toPath, held);
    }
    // The bytes move first, the names after: when the backing rename fails (ENOSPC while
    // making a directory, EIO), the replaced file is still whole, under its name and on
    // its volume. On one volume the rename itself replaces the target's backing name.
    // A row in the catalog says the rename is under way, and what it moves on the tiers,
    // until the names have changed there too: a daemon that dies between the two finishes
    // it at the next mount.
    const intent = this.underIntent(
      { parent, name, newParent, newName },
      resumed?.id,
      (begin) =>
        this.renameBacking(src, fromPath, toPath, {
          begin,
          replacing: dst,
          redo: resumed && (resumed.backing ?? null),
        }),
      () => {
        if (dst) {
          this.catalog.removeName(newParent, newName);
          if (isDir(dst.mode)) {
            this.catalog.deleteInode(dst.ino);
            this.catalog.setNlink(newParent, this.inode(newParent).nlink - 1, t);
          } else {
            this.catalog.setNlink(dst.ino, dst.nlink - 1, t);
          }
        }
        this.catalog.moveName(parent, name, newParent, newName);
        if (isDir(src.mode) && parent !== newParent) {
          this.catalog.setNlink(parent, this.inode(parent).nlink - 1, t);
          this.catalog.setNlink(newParent, this.inode(newParent).nlink + 1, t);
        }
        this.afterRename(src, fromPath, toPath, t);
        this.touchParent(parent, t);
        this.touchParent(newParent, t);
      },
    );
    if (dst && !isDir(dst.mode)) {
      const sameBacking =
        this.sameVolume(src, dst) ||
        // a symlink renamed over the file on its volume: the file's name there is the symlink now
        (isSymlink(src.mode) && this.isLocalFile(dst) && this.mirror.holdsSymlink(dst.tier!, dst.volume!, toPath));
      if (this.isLocalFile(dst) && !sameBacking) this.removeReplaced(dst, toPath, intent, resumed !== undefined);
      if (isSymlink(dst.mode) && !isSymlink(src.mode)) this.mirror.removeSymlink(toPath);
      if (dst.nlink - 1 === 0) this.dropIfUnused(dst.ino);
      return { moved: [src], replaced: dst };
    }
    return { moved: [src] };
  }

  /**
   * A rename's two halves: `backing` changes the tiers' names, and calls `begin` with what
   * it moves just before anything does — the intent, committed then, which a mount after a
   * crash finishes from (finishRenames); `names` changes the catalog's, in the transaction
   * that ends the intent. Finishing one (`resumed`, its id), the intent exists already.
   * Returns the intent's id.
   */
  private underIntent(
    r: Omit<PendingRename, 'backing' | 'exchanged'>,
    resumed: number | undefined,
    backing: (begin: (ids: BackingIds, exchanged?: BackingIds) => void) => void,
    names: () => void,
  ): number {
    let intent = resumed;
    const begin = (ids: BackingIds, exchanged?: BackingIds) => {
      // Names changing on more than one volume: a power cut may keep one volume's change
      // and not the other's, which only the intent tells from two directories — so it is
      // on disk before either (a synced commit; one volume's rename is all or nothing).
      const volumes = new Set([...Object.keys(ids), ...Object.keys(exchanged ?? {})]);
      if (resumed === undefined) intent = this.catalog.beginRename({ ...r, backing: ids, exchanged }, { durable: volumes.size > 1 });
    };
    try {
      backing(begin);
    } catch (err) {
      if (intent !== undefined && !HALF_DONE.has(err as object)) this.catalog.endRename(intent);
      throw err;
    }
    crashForTests('renamed-backing');
    this.catalog.tx(() => {
      if (intent !== undefined) this.catalog.endRename(intent);
      names();
    });
    return intent!;
  }

  /**
   * The backing name of a file a rename replaced on another volume (or tier) than the
   * renamed file's, which the rename itself did not replace: it stays until the catalog
   * has let go of the file (a crash before this leaves a duplicate that the next mount
   * reports, never a loss), then is set aside until the rename's names commit. Finishing
   * the rename after a crash (redo) removes it only if it was not set aside: the daemon
   * died within the rename, before anything else could make a file under that name; once
   * set aside, whatever the name holds is a file made since, which stays.
   */
  private removeReplaced(dst: Inode, toPath: string, intent: number, redo: boolean): void {
    const tier = this.tier(dst.tier!);
    const volume = dst.volume!;
    try {
      if (!redo) {
        const remove = tier.setAside(volume, toPath, replacedTag(intent));
        if (remove) this.catalog.group.afterCommit(remove);
      } else if (tier.tempNames(volume, `${REPLACED_TAG_PREFIX}${intent}-`).length === 0) {
        tier.unlinkFile(volume, toPath);
      }
    } catch (err) {
      log.warn({ err, path: toPath, volume }, 'could not remove the backing file of a replaced file');
    }
  }

  /** Whether two files' bytes are on one volume of one local tier. */
  private sameVolume(a: Inode, b: Inode): boolean {
    return this.isLocalFile(a) && this.isLocalFile(b) && a.volume === b.volume && a.tier === b.tier;
  }

  private assertNotBelow(dirIno: number, ancestor: number): void {
    for (let cur = dirIno; ; ) {
      if (cur === ancestor) throw new FsError('EINVAL', 'cannot move a directory below itself');
      if (cur === ROOT_INO) return;
      const n = this.catalog.nameOf(cur);
      if (!n) return;
      cur = n.parent;
    }
  }

  /**
   * Catalog side of a rename: data paths follow the name; ctime moves. A new path can meet
   * another path rule: the classifier looks at the file, or at every file (a directory moved).
   */
  private afterRename(i: Inode, from: string, to: string, t: bigint): void {
    if (isDir(i.mode)) {
      this.catalog.renameDataPaths(from, to);
      this.catalog.noteDirectoryRenamed();
    } else {
      if (i.dataPath === from) this.catalog.setDataPath(i.ino, to);
      this.catalog.markDirty(i.ino);
    }
    this.catalog.touchCtime(i.ino, t);
  }

  /**
   * Swap the backings of two names (RENAME_EXCHANGE). On each volume, what holds a's entry
   * at aPath and b's at bPath trade names in one renameat2(RENAME_EXCHANGE), or the one
   * there takes the other name: each volume's step is atomic (a filesystem without
   * RENAME_EXCHANGE says EINVAL, which the caller gets). `begin` is told, before anything
   * moves, what each name holds where (backingIdentity). A step that fails, or a volume
   * whose names hold something else when the exchange is finished after a crash, takes
   * every volume back.
   */
  private exchangeBacking(
    a: Inode,
    aPath: string,
    b: Inode,
    bPath: string,
    o: { begin?: (backing: BackingIds, exchanged: BackingIds) => void; redo?: { backing: BackingIds; exchanged: BackingIds } },
  ): void {
    const ofA = o.redo?.backing ?? this.backingIds(a, aPath);
    const ofB = o.redo?.exchanged ?? this.backingIds(b, bPath);
    o.begin?.(ofA, ofB);
    const step = (v: { tier: LocalTier; volume: string }, fromA: boolean, fromB: boolean) => {
      if (fromA && fromB) v.tier.withNames(v.volume, aPath, bPath, (x, y) => nativeBinding().exchangeNames(x, y));
      // (The other name holds nothing of the mount's there: a stray is not replaced.)
      else if (fromA) v.tier.withNames(v.volume, aPath, bPath, (x, y) => v.tier.renameAt(v.volume, x, y, false), this.dirAttrsAt);
      else v.tier.withNames(v.volume, bPath, aPath, (x, y) => v.tier.renameAt(v.volume, x, y, false), this.dirAttrsAt);
    };
    const volumes = this.tiers.flatMap((tier) =>
      tier.volumes.filter((v) => ofA[v] !== undefined || ofB[v] !== undefined).map((volume) => ({ tier, volume, idA: ofA[volume], idB: ofB[volume] })),
    );
    // Finishing after a crash, a volume is stepped only where its names still hold what was
    // recorded, and passed over only where they hold each other's (stepped before the crash).
    const stateOf = (v: (typeof volumes)[number]): 'recorded' | 'exchanged' | 'other' => {
      if (!o.redo) return 'recorded';
      const idAt = (path: string) => {
        const st = this.backingStat(v.tier, v.volume, path);
        return st && backingIdentity(st);
      };
      const [atA, atB] = [idAt(aPath), idAt(bPath)];
      if ((v.idA === undefined || atA === v.idA) && (v.idB === undefined || atB === v.idB)) return 'recorded';
      if ((v.idA === undefined || atB === v.idA) && (v.idB === undefined || atA === v.idB)) return 'exchanged';
      return 'other';
    };
    // A volume that holds only symlinks' copies of the two names (a mirror, namespace-mirror.ts)
    // costs its copies, never the exchange: where they cannot trade places (a stray at the
    // other name, a full volume) they are removed once the exchange has gone through, as a
    // rename of a symlink does; finishing one, copies that are neither is no reason to stop.
    type Volume = (typeof volumes)[number];
    const mirrorOnly = (v: Volume) => (v.idA === undefined || isSymlink(a.mode)) && (v.idB === undefined || isSymlink(b.mode));
    const states = volumes.map(stateOf);
    const exchanged = volumes.filter((_, k) => states[k] === 'exchanged');
    const copiesLeft: Volume[] = [];
    try {
      const other = volumes.find((v, k) => states[k] === 'other' && !mirrorOnly(v));
      if (other) throw new FsError('EIO', `the backing names of ${aPath} and ${bPath} on ${other.volume} hold neither what the exchange recorded nor each other's`);
      volumes.forEach((v, k) => {
        if (states[k] !== 'recorded') return;
        try {
          step(v, v.idA !== undefined, v.idB !== undefined);
        } catch (err) {
          if (mirrorOnly(v)) {
            log.warn({ err, volume: v.volume, aPath, bPath }, "symlink's copy not exchanged on the volume; the copy is removed");
            return void copiesLeft.push(v);
          }
          if (errCode(err) === 'EEXIST') log.warn({ path: v.idA !== undefined ? bPath : aPath, volume: v.volume }, STRAY_REFUSED);
          throw err;
        }
        exchanged.push(v);
        crashForTests('exchanged-volume');
      });
    } catch (err) {
      // Every volume goes back as the catalog has it; one that cannot keeps the intent, and
      // the next mount tries again.
      for (const v of exchanged.reverse()) {
        try {
          step(v, v.idB !== undefined, v.idA !== undefined);
        } catch (undoErr) {
          log.error({ err: undoErr, volume: v.volume, aPath, bPath }, 'could not take back an exchange of backing names; the next mount finishes it');
          if (typeof err === 'object' && err !== null) HALF_DONE.add(err);
        }
      }
      throw err;
    }
    if (copiesLeft.length === 0) return;
    const idsLeft = (id: (v: Volume) => string | undefined): BackingIds =>
      Object.fromEntries(copiesLeft.flatMap((v) => (id(v) === undefined ? [] : [[v.volume, id(v)!]])));
    this.mirror.removeSymlink(aPath, idsLeft((v) => v.idA));
    this.mirror.removeSymlink(bPath, idsLeft((v) => v.idB));
  }

  /**
   * What backs entry i at path, volume by volume (backingIdentity): a local file's copy on
   * its volume, a directory on every volume, a symlink's copies on the first tier.
   */
  private backingIds(i: Inode, path: string): BackingIds {
    if (isSymlink(i.mode)) return this.mirror.symlinkIds(path);
    const ids: BackingIds = {};
    if (isDir(i.mode)) {
      for (const tier of this.tiers) {
        for (const volume of tier.volumes) {
          const st = this.backingStat(tier, volume, path);
          if (st?.isDirectory()) ids[volume] = backingIdentity(st);
        }
      }
    } else if (isReg(i.mode) && this.isLocalFile(i)) {
      const st = this.backingStat(this.tier(i.tier!), i.volume!, path);
      if (st?.isFile()) ids[i.volume!] = backingIdentity(st);
    }
    return ids;
  }

  async setattr(
    ino: number,
    set: { mode?: number; uid?: number; gid?: number; size?: number; atimeNs?: bigint | 'now'; mtimeNs?: bigint | 'now'; fh?: number },
  ): Promise<Inode> {
    // Truncating a cold file changes its bytes: bring it to a local tier first (what it keeps of them).
    if (set.size !== undefined && this.isColdFile(this.inode(ino))) await this.copyUp(ino, set.size);
    const stored = this.inode(ino);
    // With a writer open, the backing file's size and mtime: what it wrote, not recorded yet.
    const i = this.attrs(stored);
    // (At the microsecond: a utimes reaches the backing file with µs, the catalog keeps ns.)
    const written = i.size !== stored.size || i.mtimeNs / 1000n !== stored.mtimeNs / 1000n;
    const t = nowNs();
    const next = { ...i, ctimeNs: t };
    if (set.mode !== undefined) next.mode = (i.mode & S_IFMT) | (set.mode & 0o7777);
    if (set.uid !== undefined) next.uid = set.uid;
    if (set.gid !== undefined) next.gid = set.gid;
    if (set.atimeNs !== undefined) next.atimeNs = set.atimeNs === 'now' ? t : set.atimeNs;
    if (set.mtimeNs !== undefined) next.mtimeNs = set.mtimeNs === 'now' ? t : set.mtimeNs;
    const regular = this.isLocalFile(i);
    let blocks: number | undefined; // of the backing file, after a truncate
    if (set.size !== undefined) {
      if (isDir(i.mode)) throw new FsError('EISDIR');
      if (!isReg(i.mode)) throw new FsError('EINVAL');
      const h = set.fh !== undefined ? this.handles.get(set.fh) : undefined;
      if (h && h.fd >= 0) {
        fs.ftruncateSync(h.fd, set.size);
        blocks = fs.fstatSync(h.fd).blocks;
      } else {
        const fd = this.openBacking(i, C.O_WRONLY);
        try {
          fs.ftruncateSync(fd, set.size);
          blocks = fs.fstatSync(fd).blocks;
        } finally {
          fs.closeSync(fd);
        }
      }
      next.size = set.size;
      if (set.mtimeNs === undefined) next.mtimeNs = t;
    }
    if (regular) this.mirrorAttrs(i, next, set);
    if (set.size !== undefined || set.mtimeNs !== undefined || set.atimeNs !== undefined) this.dataChanged(ino);
    if (isDir(i.mode) && (set.mode !== undefined || set.uid !== undefined || set.gid !== undefined)) this.mirrorDirAttrs(ino, next, set);
    else if (isSymlink(i.mode) && this.catalog.pathOf(ino)) this.mirror.symlinkAttrs(this.catalog.pathOf(ino)!, next);
    // A chmod of an entry with an access ACL changes its owner, mask and other entries (the
    // backing file's, changed by the chmod above, stay the same as this one).
    const acl = set.mode !== undefined ? this.catalog.getXattr(ino, ACL_ACCESS) : undefined;
    this.catalog.tx(() => {
      this.catalog.updateAttrs(next);
      // Recorded as a change of the data (a new generation), as the writer's close would
      // have: it finds the catalog already holding its size and mtime, and a move that
      // copied the file before that write must not commit.
      if (set.size !== undefined || written) this.catalog.updateData(ino, next.size, next.mtimeNs, t, true);
      if (blocks !== undefined) this.catalog.setBlocks(ino, blocks);
      if (acl) this.catalog.setXattr(ino, ACL_ACCESS, serializeAcl(aclWithMode(parseAcl(acl), next.mode)));
    });
    if (acl) this.mirrorXattrs(ino);
    return next;
  }

  /**
   * Keep the plain backing file's mode, owner and times the same as the catalog's (no
   * lock-in), through a descriptor: a symlink put in the file's place is refused (the
   * change fails with ELOOP), never followed. Other failures are logged: the catalog is
   * what the mount serves.
   */
  private mirrorAttrs(i: Inode, next: Inode, set: { mode?: number; uid?: number; gid?: number; atimeNs?: unknown; mtimeNs?: unknown }): void {
    let fd: number;
    try {
      fd = this.openBacking(i, C.O_RDONLY);
    } catch (err) {
      if (err instanceof FsError) throw err;
      log.warn({ err, ino: i.ino }, 'could not mirror attributes to the backing file');
      return;
    }
    try {
      // chown first: it clears setuid and setgid, which the mode then sets as the catalog has them.
      if (set.uid !== undefined || set.gid !== undefined) fs.fchownSync(fd, next.uid, next.gid);
      if (set.mode !== undefined) fs.fchmodSync(fd, next.mode & 0o7777);
      if (set.atimeNs !== undefined || set.mtimeNs !== undefined) {
        fs.futimesSync(fd, Number(next.atimeNs / 1000n) / 1e6, Number(next.mtimeNs / 1000n) / 1e6);
      }
    } catch (err) {
      log.warn({ err, ino: i.ino }, 'could not mirror attributes to the backing file');
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * A directory's mode and owner go to its backing directories on every volume, so a
   * volume never shows what the mount hides. The mount root's are the volume roots,
   * which stay private to root.
   */
  private mirrorDirAttrs(ino: number, next: Inode, set: { mode?: number; uid?: number; gid?: number }): void {
    const path = this.catalog.pathOf(ino);
    if (!path) return;
    const failed = (err: unknown, volume: string) => log.warn({ err, path, volume }, 'could not mirror attributes to a backing directory');
    const opened = this.backingDirs(path, (err, volume) => {
      if (err instanceof FsError) throw err;
      if (errCode(err) !== 'ENOENT') failed(err, volume);
    });
    for (const { volume, fd } of opened) {
      try {
        if (set.uid !== undefined || set.gid !== undefined) fs.fchownSync(fd, next.uid, next.gid);
        if (set.mode !== undefined || set.uid !== undefined || set.gid !== undefined) fs.fchmodSync(fd, next.mode & 0o7777);
      } catch (err) {
        failed(err, volume);
      }
    }
  }

  /**
   * The backing directory of path on each volume where it opens, open while the loop's
   * body runs (closed after). An open that fails goes to onOpenError, which skips the
   * volume by returning or stops the loop by throwing.
   */
  private *backingDirs(path: string, onOpenError: (err: unknown, volume: string) => void): Generator<{ volume: string; fd: number }> {
    for (const tier of this.tiers) {
      for (const volume of tier.volumes) {
        let fd: number;
        try {
          fd = tier.openDir(volume, path);
        } catch (err) {
          onOpenError(err, volume);
          continue;
        }
        try {
          yield { volume, fd };
        } finally {
          fs.closeSync(fd);
        }
      }
    }
  }

  // ── open files ─────────────────────────────────────────────────────────────

  private addHandle(ino: number, fd: number, flags: number, layout?: ObjectLayout, path = '', fh = this.nextFh++): OpenFile {
    const writable = (flags & O_ACCMODE) !== C.O_RDONLY;
    const h: OpenFile = { fh, ino, fd, writable, layout, path };
    this.handles.set(fh, h);
    let open = this.openCount.get(ino);
    if (!open) this.openCount.set(ino, (open = { all: 0, writers: new Set(), local: 0 }));
    open.all++;
    if (writable) {
      open.writers.add(fh);
      // Its size and times now follow the backing file (attrs()), not the catalog row.
      this.catalog.onAttrsChanged(ino);
    }
    if (fd >= 0) open.local++;
    return h;
  }

  /** Undo addHandle: the handle goes, its descriptor is closed, and an unlinked file goes with its last handle. */
  private forgetHandle(h: OpenFile, known?: Inode): void {
    const held = this.openHold(h.ino) !== null;
    this.handles.delete(h.fh);
    const open = this.openCount.get(h.ino)!;
    open.all--;
    open.writers.delete(h.fh);
    if (h.fd >= 0) open.local--;
    const unlinked = open.all === 0 && (known ?? this.catalog.getInode(h.ino))?.nlink === 0;
    // The last descriptor of a file unlinked while open frees its blocks as it closes:
    // on the thread pool, not the event loop (see LocalTier.unlinkAt).
    if (h.fd >= 0 && unlinked) fs.close(h.fd, (err) => err && log.warn({ err, ino: h.ino }, 'could not close an unlinked file'));
    else if (h.fd >= 0) fs.closeSync(h.fd);
    if (held && this.openHold(h.ino) === null) this.onHoldEnded(h.ino);
    if (h.layout && this.isOldCopy(h.ino, h.layout.fileId, known) && !this.isReadingCopy(h.layout.fileId)) this.onOldCopyUnread();
    if (open.all === 0) {
      this.openCount.delete(h.ino);
      this.dataChangedAt.delete(h.ino);
      // An unlinked file (nlink 0) goes with its last handle.
      if (unlinked) this.dropIfUnused(h.ino);
    }
  }

  handle(fh: number): OpenFile {
    const h = this.handles.get(fh);
    if (!h) throw new FsError('EBADF');
    return h;
  }

  /** A regular file whose bytes are on an object tier. */
  isColdFile(i: Inode): boolean {
    return isReg(i.mode) && i.layout !== null;
  }

  async open(ino: number, flags: number): Promise<OpenFile> {
    let i = this.inode(ino);
    if (isDir(i.mode)) throw new FsError('EISDIR');
    if (!isReg(i.mode)) throw new FsError('ENXIO');
    const writing = opensToChange(flags);
    if (this.isColdFile(i) && writing) {
      // Opened to be overwritten (O_TRUNC): none of its bytes are fetched.
      await this.copyUp(ino, flags & C.O_TRUNC ? 0 : undefined);
      i = this.inode(ino);
    }
    if (i.state === 'missing') throw new FsError('EIO', `the bytes of ${i.dataPath} are missing from tier ${i.tier}`);
    const h = this.isColdFile(i)
      ? this.addHandle(ino, -1, flags, this.layoutOf(i), i.dataPath ?? '')
      : this.addHandle(ino, this.openBacking(i, backingOpenFlags(flags)), flags);
    try {
      if (flags & C.O_TRUNC && i.size > 0) {
        const t = nowNs();
        this.catalog.updateData(ino, 0, t, t, true);
      }
      this.recorder.record({ timeMs: Date.now(), ino, path: i.dataPath ?? '', op: 'open', offset: 0, length: 0, size: i.size, count: 1 });
    } catch (err) {
      // The kernel never hears of this handle, so it never releases it: give back what it took
      // (a descriptor, and a writer mark that would keep the file from ever moving).
      this.forgetHandle(h);
      throw err;
    }
    return h;
  }

  async read(fh: number, size: number, offset: number): Promise<Buffer> {
    const h = this.handle(fh);
    if (h.layout) {
      const layout = h.layout;
      // Held while this read fetches it: a move that commits meanwhile points the handle
      // at the new copy, and its garbage collection, finding no handle on this one, would
      // delete cells under the read (EIO for a file that is whole).
      const letGo = this.holdCopy(layout.fileId);
      let data: Buffer;
      try {
        data = await this.tierSet.object(layout.tier).read(layout, offset, size);
      } finally {
        letGo();
      }
      // A cold file does not change while open for reading: its path and size as of open serve the log.
      this.recorder.record({ timeMs: Date.now(), ino: h.ino, path: h.path, op: 'read', offset, length: data.length, size: layout.size, count: 1 });
      this.onIo(layout.tier, 'read', data.length);
      return data;
    }
    const buf = Buffer.allocUnsafe(size);
    const bytesRead = await new Promise<number>((resolve, reject) =>
      fs.read(h.fd, buf, 0, size, offset, (err, n) => (err ? reject(err) : resolve(n))),
    );
    this.recordIo(h.ino, 'read', offset, bytesRead, 1);
    return bytesRead === size ? buf : buf.subarray(0, bytesRead);
  }

  /**
   * The cells of a cold handle's copy (of a range, or all) that are files in its tier's
   * disk cache: the FUSE binding serves reads that lie in them itself (without JavaScript,
   * hence without a record per read: it counts them in batches, as for local files).
   */
  async cellFiles(fh: number, offset?: number, size?: number): Promise<CellFileSet | undefined> {
    const h = this.handles.get(fh);
    if (!h?.layout) return undefined;
    return this.tierSet.object(h.layout.tier).cellFiles(h.layout, offset, size);
  }

  /** Cell files the binding read (see cellFiles): recently used, for their tiers' disk caches. */
  cellsRead(paths: string[]): void {
    for (const tier of this.tierSet.objects) tier.noteCellsRead(paths);
  }

  async write(fh: number, data: Buffer, offset: number): Promise<number> {
    const h = this.handle(fh);
    const bytesWritten = await new Promise<number>((resolve, reject) =>
      fs.write(h.fd, data, 0, data.length, offset, (err, n) => (err ? reject(err) : resolve(n))),
    );
    this.dataChanged(h.ino);
    this.recordIo(h.ino, 'write', offset, bytesWritten, 1);
    return bytesWritten;
  }

  /**
   * fallocate(2) on the backing file, in whatever mode its filesystem supports (else its
   * errno): a handle open for writing always has one, a cold file having come back to a
   * local tier when it was opened. Size and times reach the catalog at release, as a
   * write's do.
   */
  fallocate(fh: number, mode: number, offset: number, length: number): void {
    const h = this.handle(fh);
    if (!h.writable || h.fd < 0) throw new FsError('EBADF');
    nativeBinding().fallocate(h.fd, mode, offset, length);
    this.dataChanged(h.ino);
    this.catalog.setBlocks(h.ino, fs.fstatSync(h.fd).blocks);
    this.recordIo(h.ino, 'write', offset, 0, 1);
  }

  /**
   * SEEK_DATA / SEEK_HOLE for a handle JavaScript serves: a local backing file answers
   * for itself (lseek on its descriptor); a file read from an object tier is all data,
   * with the hole at its end (the layout records no holes).
   */
  seekData(fh: number, offset: number, whence: number): number {
    const h = this.handle(fh);
    if (h.fd >= 0) return nativeBinding().seek(h.fd, offset, whence);
    const size = this.inode(h.ino).size;
    if (offset >= size) throw new FsError('ENXIO');
    return whence === SEEK_DATA ? offset : size;
  }

  /** Account I/O that happened on a handle (JavaScript reads, or counts from the native fast path). */
  recordIo(ino: number, op: 'read' | 'write', offset: number, length: number, count: number): void {
    const i = this.catalog.getInode(ino);
    if (!i) return;
    this.recorder.record({ timeMs: Date.now(), ino: i.ino, path: i.dataPath ?? '', op, offset, length, size: i.size, count });
    if (i.tier) this.onIo(i.tier, op, length);
  }

  /**
   * fsync(2) of a directory: its names on disk, in the catalog (its log synced) and on
   * every volume that has the directory (the backing entries a rename or unlink changed).
   */
  async syncDirectory(ino: number): Promise<void> {
    await this.catalog.syncLog();
    const path = this.catalog.pathOf(ino);
    if (path === undefined) return; // removed while open: nothing of it left to sync
    const opened = this.backingDirs(path, (err) => {
      if (errCode(err) !== 'ENOENT') throw err; // (ENOENT: never made on this volume)
    });
    for (const { fd } of opened) await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  }

  async fsync(fh: number, datasync: boolean): Promise<void> {
    const h = this.handle(fh);
    await new Promise<void>((resolve, reject) => (datasync ? fs.fdatasync : fs.fsync)(h.fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Persist what writes changed (size, mtime, generation) at release, with the backing
   * file's fstat when the binding took it (it served the handle). Returns the inode as it
   * was read (before the update), or undefined when nothing was read.
   */
  private syncData(fh: number, synced?: BackingStat): Inode | undefined {
    const h = this.handles.get(fh);
    if (!h || !h.writable || h.fd < 0) return undefined;
    const i = this.catalog.getInode(h.ino);
    if (!i) return undefined;
    // The binding's stat is stale if, after it was taken, JavaScript changed the file's size
    // or times (a utimes or truncate right after the close) or recorded a later stat (another
    // writer's release, handled first): then the backing file says.
    const st = synced && synced.atNs > (this.dataChangedAt.get(h.ino) ?? 0) ? synced : releaseStat(fs.fstatSync(h.fd, { bigint: true }), monotonicNs());
    this.dataChanged(h.ino, st.atNs);
    this.catalog.tx(() => {
      if (st.size !== i.size || st.mtimeNs !== i.mtimeNs) {
        this.catalog.updateData(h.ino, st.size, st.mtimeNs, st.ctimeNs > i.ctimeNs ? st.ctimeNs : i.ctimeNs, true);
      }
      if (st.blocks !== i.blocks) this.catalog.setBlocks(h.ino, st.blocks);
      // Closing a writer can free the file to move: the classifier looks at it again.
      this.catalog.markDirty(h.ino);
    });
    return i;
  }

  release(fh: number, synced?: BackingStat): void {
    const h = this.handles.get(fh);
    if (!h) return;
    let known: Inode | undefined;
    try {
      known = this.syncData(fh, synced);
    } finally {
      this.forgetHandle(h, known);
    }
  }

  /**
   * Whether a write to ino must clear something: setuid, setgid with group execute, or a
   * file capability. Such files are never opened in FUSE passthrough: Linux 6.18 still
   * clears them on a passthrough write (it asks the daemon, as the kill-privileges tests
   * show), but passthrough is new, and a kernel whose passthrough write skipped that would
   * leave a setuid file writable by others without losing its bit.
   */
  writesClearPrivileges(ino: number): boolean {
    const i = this.catalog.getInode(ino);
    if (!i) return false;
    if (withoutPrivileges(i.mode) !== i.mode) return true;
    return this.catalog.getXattr(ino, 'security.capability') !== undefined;
  }

  /**
   * When JavaScript last changed the size or times of a file that has handles open, or
   * recorded them from a stat taken then (CLOCK_MONOTONIC ns): what a release's stat
   * taken before that is older than (syncData). Forgotten with the file's last handle.
   */
  private readonly dataChangedAt = new Map<number, number>();

  private dataChanged(ino: number, atNs = monotonicNs()): void {
    if (this.openCount.has(ino)) this.dataChangedAt.set(ino, Math.max(this.dataChangedAt.get(ino) ?? 0, atNs));
  }

  isOpenForWrite(ino: number): boolean {
    return (this.openCount.get(ino)?.writers.size ?? 0) > 0;
  }

  /**
   * Why ino cannot move now, or null. A file open for writing would change under the
   * copy. With passthrough, a local file open at all waits too: its openers read the
   * backing file through the kernel, which would refuse new opens of the moved copy
   * while they last (one backing file per inode). Opens of a file on an object tier
   * are JavaScript's, which follows a move (relocated).
   */
  openHold(ino: number): string | null {
    const open = this.openCount.get(ino);
    if (!open) return null;
    if (open.writers.size > 0) return 'open for writing';
    return this.passthrough && open.local > 0 ? 'open (read by the kernel directly: moves once closed)' : null;
  }

  /** Called when a handle stops reading an object-tier copy (relocated): what served it from that copy must stop. */
  onHandleLeftCopy: (fh: number) => void = () => {};

  /**
   * Called when a file loses its last name, to stop a move of it under way; returns
   * what to wait for until that move has let go of the file's bytes.
   */
  onLastNameGone: (ino: number) => Promise<void> | undefined = () => undefined;

  /**
   * Called when the last handle reading an object-tier copy that is no longer its file's
   * (a move between object tiers committed while it read) closes: the copy is garbage
   * now, and waiting for the collector's next round would keep its cells, and the move
   * 'committed' rather than 'done', for seconds after the reader is gone.
   */
  onOldCopyUnread: () => void = () => {};

  private isOldCopy(ino: number, fileId: string, known?: Inode): boolean {
    const i = known ?? this.catalog.getInode(ino);
    return !i?.layout || this.layoutOf(i).fileId !== fileId;
  }

  /** Called when the last open that held ino from moving closes (see openHold). */
  onHoldEnded: (ino: number) => void = () => {};

  /** True while some handle (or a scrub) still reads the object-tier copy fileId (its objects must stay). */
  isReadingCopy(fileId: string): boolean {
    if (this.heldCopies.has(fileId)) return true;
    for (const h of this.handles.values()) if (h.layout?.fileId === fileId) return true;
    return false;
  }

  /** Keep an object-tier copy from garbage collection until the returned function is called. */
  holdCopy(fileId: string): () => void {
    this.heldCopies.set(fileId, (this.heldCopies.get(fileId) ?? 0) + 1);
    return () => {
      const n = this.heldCopies.get(fileId)! - 1;
      if (n > 0) this.heldCopies.set(fileId, n);
      else this.heldCopies.delete(fileId);
    };
  }

  /**
   * A move of ino committed. Handles reading the old copy follow the file when it is on a
   * local tier now: it may be written there, and a reader must not keep serving bytes
   * older than that write (tail -f of a log the mover moved). One that read an object
   * tier's copy gets a descriptor; one that held a descriptor of the old local copy (a
   * reader: no move while a writer is open) has it pointed at the new copy in one step,
   * for the binding's threads that read through it too. (After a move between object
   * tiers the bytes are the same, and the reader keeps its copy until it closes.)
   */
  relocated(ino: number): void {
    const i = this.catalog.getInode(ino);
    if (!i || !this.isLocalFile(i)) return;
    for (const h of this.handles.values()) {
      if (h.ino !== ino) continue;
      if (h.layout) {
        h.fd = this.openBacking(i, C.O_RDONLY);
        h.layout = undefined;
        this.onHandleLeftCopy(h.fh);
        this.openCount.get(ino)!.local++;
      } else if (h.fd >= 0) {
        const fresh = this.openBacking(i, C.O_RDONLY);
        try {
          nativeBinding().replaceDescriptor(fresh, h.fd);
        } finally {
          fs.closeSync(fresh);
        }
      }
    }
  }

  // ── directories ────────────────────────────────────────────────────────────

  opendir(ino: number): number {
    this.dir(ino);
    const fh = this.nextFh++;
    this.dirHandles.set(fh, ino);
    return fh;
  }

  /**
   * Up to `limit` entries after cookie `offset` (0: from the start): '.', '..', then the
   * entries in catalog position order, each with its attributes as they are now. Nothing
   * is kept per handle, so an open handle costs nothing however large the directory, and
   * entries created or removed meanwhile never make one that exists throughout appear
   * twice or not at all (its position does not change). Any cookie given out may be
   * returned to (seekdir). Names, numbers and types alone, joined into one string (the
   * binding parses it); readdirPlus gives attributes, as tuples.
   */
  readdir(ino: number, fh: number, offset: number, limit: number): JoinedNames {
    this.dirHandle(ino, fh);
    // A walk by name lists directory after directory: the next one's page is read while
    // the walker goes through this one (vfs/listing-ahead.ts).
    const ahead = offset === 0 ? this.listingAhead.asked(ino, limit) : undefined;
    if (ahead) return ahead;
    const dots = this.dotsOf(ino, offset);
    if (!dots) return { count: 0, joined: '' }; // removed while open: nothing left to list
    return this.namesPage(ino, dots, offset, limit);
  }

  private namesPage(ino: number, dots: DirAttrsTuple[], offset: number, limit: number): JoinedNames {
    const page = this.catalog.listDirNames(ino, Math.max(0, offset - DOTDOT_COOKIE), Math.max(1, limit - dots.length), DOTDOT_COOKIE, reservedIn(ino));
    const joined = [...dots.map(([cookie, name, ino, mode]) => joinedName(cookie, ino, mode, name)), ...(page.count ? [page.joined] : [])];
    return { count: dots.length + page.count, joined: joined.join('/') };
  }

  /**
   * readdir with each entry's attributes as they are now (those of a file open for writing
   * from its backing file, as getattr gives them), as arrays (DirAttrsTuple) whose cookie
   * is the one to give out. '.' and '..' come with their attributes too.
   */
  readdirPlus(ino: number, fh: number, offset: number, limit: number): DirAttrsTuple[] {
    this.dirHandle(ino, fh);
    const out = this.dotsOf(ino, offset);
    if (!out) return [];
    // One more than wanted: a reserved name skipped must not make a page look like the end.
    for (const r of this.catalog.listDirAttrs(ino, Math.max(0, offset - DOTDOT_COOKIE), Math.max(1, limit - out.length) + 1)) {
      if (out.length >= limit) break;
      if (isReserved(ino, r[1])) continue;
      r[0] += DOTDOT_COOKIE;
      if (this.openCount.get(r[2])?.writers.size) {
        const live = this.attrs(this.inode(r[2]));
        [r[8], r[12], r[13], r[14], r[15]] = [live.size, ...splitNs(live.mtimeNs), ...splitNs(live.ctimeNs)];
      }
      out.push(r);
    }
    return out;
  }

  /** '.' and '..' as a listing from `offset` has them (none past their cookies); undefined when the directory is gone. */
  private dotsOf(ino: number, offset: number): DirAttrsTuple[] | undefined {
    const self = this.catalog.getInode(ino);
    if (!self) return undefined;
    const out: DirAttrsTuple[] = [];
    if (offset < DOT_COOKIE) out.push(attrsTuple(DOT_COOKIE, '.', self));
    if (offset < DOTDOT_COOKIE) {
      const parent = this.catalog.getInode(this.catalog.nameOf(ino)?.parent ?? ROOT_INO) ?? self;
      out.push(attrsTuple(DOTDOT_COOKIE, '..', parent));
    }
    return out;
  }

  private dirHandle(ino: number, fh: number): void {
    if (this.dirHandles.get(fh) !== ino) throw new FsError('EBADF');
  }

  releasedir(fh: number): void {
    this.dirHandles.delete(fh);
  }

  // ── filesystem ─────────────────────────────────────────────────────────────

  /**
   * df's view: each filesystem under the local tiers once (two tiers on one disk share
   * it), a tier with a configured capacity as that capacity, object tiers with one as
   * theirs (without one an object store adds nothing: it has no size to give). Free
   * inodes are the filesystems'.
   */
  statfs(): { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number; namemax: number } {
    const bsize = 4096;
    const usage = this.catalog.usageByTier();
    const held = (name: string) => usage.get(name)?.bytes ?? 0;
    // Per filesystem: its own figures if any uncapped tier is on it, else its capped tiers' (never more than it has).
    const byDev = new Map<number, { fs: VolumeUsage; uncapped: boolean; capTotal: number; capFree: number }>();
    for (const tier of this.tiers) {
      const capped = tier.config.capacity !== undefined;
      const u = tier.usage(held(tier.name));
      const vols = distinctFilesystems(tier.volumeUsage()).filter((v) => v.error === undefined);
      vols.forEach((v, k) => {
        const d = byDev.get(v.dev) ?? { fs: v, uncapped: false, capTotal: 0, capFree: 0 };
        if (!capped) d.uncapped = true;
        else if (k === 0) [d.capTotal, d.capFree] = [d.capTotal + u.capacityBytes, d.capFree + u.freeBytes]; // a capped tier's figures once
        byDev.set(v.dev, d);
      });
    }
    let total = 0;
    let free = 0;
    let ffree = 0;
    for (const d of byDev.values()) {
      total += d.uncapped ? d.fs.totalBytes : Math.min(d.fs.totalBytes, d.capTotal);
      free += Math.min(d.fs.freeBytes, d.uncapped ? d.fs.freeBytes : d.capFree);
      ffree += d.fs.freeInodes;
    }
    for (const t of this.tierSet.ordered) {
      if (t.kind !== 'object' || !t.capacity) continue;
      total += t.capacity.bytes;
      free += Math.max(0, t.capacity.bytes - held(t.name));
    }
    return {
      bsize,
      blocks: Math.floor(total / bsize),
      bfree: Math.floor(free / bsize),
      bavail: Math.floor(free / bsize),
      files: this.catalog.inodeCount() + ffree,
      ffree,
      namemax: 255,
    };
  }

  // ── extended attributes ────────────────────────────────────────────────────

  /**
   * The names stored: user.*, trusted.* and security.* (the kernel has checked who may
   * set them), and POSIX ACLs when the kernel enforces them. system.* is otherwise the
   * kernel's own, as on ext4.
   */
  private checkXattrName(name: string): void {
    if (name.length === 0) throw new FsError('EINVAL');
    if (Buffer.byteLength(name) > 255) throw new FsError('ERANGE');
    if (!this.isStoredXattr(name)) throw new FsError('EOPNOTSUPP', `extended attributes named ${name.split('.')[0]}.* are not stored`);
  }

  private isStoredXattr(name: string): boolean {
    if (name === ACL_ACCESS || name === ACL_DEFAULT) return this.acls.enforced;
    return name.startsWith('user.') || name.startsWith('trusted.') || name.startsWith('security.');
  }

  /**
   * An ACL set (setfacl): only the owner or root. An access ACL is the mode's permission
   * bits too: the mode changes with it, and one that says no more than the mode is not
   * kept (ext4 does the same). A default ACL belongs on directories only.
   */
  private setAcl(caller: Caller, i: Inode, name: string, value: Buffer): void {
    if (caller.uid !== 0 && caller.uid !== i.uid) throw new FsError('EPERM');
    const entries = parseAcl(value);
    const t = nowNs();
    if (name === ACL_DEFAULT) {
      if (!isDir(i.mode)) throw new FsError('EACCES', 'a default ACL belongs on a directory');
      this.catalog.tx(() => {
        this.catalog.setXattr(i.ino, name, serializeAcl(entries));
        this.catalog.touchCtime(i.ino, t);
      });
    } else {
      const { perms, equivalent } = modeOfAcl(entries);
      let mode = (i.mode & ~0o777) | perms;
      // Linux's posix_acl_update_mode, which it leaves to a FUSE daemon: setgid goes when
      // the caller is neither in the file's group nor privileged, as a chmod's would.
      if (mode & S_ISGID && caller.uid !== 0 && !inGroup(caller, i.gid)) mode &= ~S_ISGID;
      const next = { ...i, mode, ctimeNs: t };
      if (this.isLocalFile(i)) this.mirrorAttrs(i, next, { mode: next.mode });
      else if (isDir(i.mode)) this.mirrorDirAttrs(i.ino, next, { mode: next.mode });
      this.catalog.tx(() => {
        this.catalog.updateAttrs(next);
        if (equivalent) this.catalog.removeXattr(i.ino, name);
        else this.catalog.setXattr(i.ino, name, serializeAcl(entries));
      });
    }
    this.mirrorXattrs(i.ino);
  }

  getxattr(ino: number, name: string): Buffer {
    const i = this.inode(ino);
    if (name === TIER_XATTR && isReg(i.mode) && i.tier) return Buffer.from(i.tier);
    if (name === PIN_XATTR) {
      const pin = this.catalog.effectivePin(ino);
      if (!pin) throw new FsError('ENODATA');
      return Buffer.from(pin.tier);
    }
    if (!this.isStoredXattr(name)) throw new FsError(name.startsWith('system.') ? 'EOPNOTSUPP' : 'ENODATA');
    const v = this.catalog.getXattr(ino, name);
    if (v === undefined) throw new FsError('ENODATA');
    return v;
  }

  /**
   * A pin reaches every file below a directory, whoever owns them: only the owner of the
   * pinned file or directory (or root) may set or remove it. The kernel asks no more than
   * write permission for user.* names, which a shared directory gives to everyone.
   */
  private checkMayPin(caller: Caller, i: Inode): void {
    if (caller.uid !== 0 && caller.uid !== i.uid) throw new FsError('EPERM', 'only the owner (or root) may pin or unpin this');
  }

  setxattr(caller: Caller, ino: number, name: string, value: Buffer, flags: number): void {
    this.checkXattrName(name);
    const i = this.inode(ino);
    if (name === TIER_XATTR) throw new FsError('EPERM', `${TIER_XATTR} is read-only; use tierfs move`);
    if (name === PIN_XATTR) {
      this.checkMayPin(caller, i);
      return this.pin(ino, value.toString('utf8'));
    }
    if (name === ACL_ACCESS || name === ACL_DEFAULT) return this.setAcl(caller, i, name, value);
    if (!isReg(i.mode) && !isDir(i.mode)) throw new FsError('EPERM');
    if (value.length > 65536) throw new FsError('E2BIG');
    const exists = this.catalog.getXattr(ino, name) !== undefined;
    if (flags & XATTR_CREATE && exists) throw new FsError('EEXIST');
    if (flags & XATTR_REPLACE && !exists) throw new FsError('ENODATA');
    this.catalog.tx(() => {
      this.catalog.setXattr(ino, name, value);
      this.catalog.touchCtime(ino, nowNs());
      if (name === CLASS_XATTR) this.catalog.setClass(ino, value.toString('utf8'));
    });
    this.mirrorXattrs(ino);
  }

  /** Whether ino has extended attributes stored (not counting the computed user.tierfs.tier and .pin). */
  hasStoredXattrs(ino: number): boolean {
    return this.catalog.hasXattrs(ino);
  }

  listxattr(caller: Caller, ino: number): string[] {
    const i = this.inode(ino);
    // The kernel keeps trusted.* values from all but root, not their names, which the
    // caller's program was never meant to see.
    const names = this.catalog.listXattrs(ino).filter((n) => caller.uid === 0 || !n.startsWith('trusted.'));
    if (this.catalog.effectivePin(ino)) names.push(PIN_XATTR);
    return isReg(i.mode) && i.tier ? [...names, TIER_XATTR] : names;
  }

  removexattr(caller: Caller, ino: number, name: string): void {
    this.checkXattrName(name);
    const i = this.inode(ino);
    if (name === TIER_XATTR) throw new FsError('EPERM');
    if (name === PIN_XATTR) {
      if (!i.pin) throw new FsError('ENODATA');
      this.checkMayPin(caller, i);
      this.catalog.setPin(ino, null);
      return this.mirrorXattrs(ino);
    }
    if ((name === ACL_ACCESS || name === ACL_DEFAULT) && caller.uid !== 0 && caller.uid !== i.uid) throw new FsError('EPERM');
    if (!this.catalog.removeXattr(ino, name)) throw new FsError('ENODATA');
    this.catalog.touchCtime(ino, nowNs());
    if (name === CLASS_XATTR) this.catalog.setClass(ino, null);
    this.mirrorXattrs(ino);
  }

  /** Pin a file or directory (and what is below it) to a tier; every move honours it. */
  pin(ino: number, tier: string | null): void {
    if (tier !== null && !this.tierSet.has(tier)) throw new FsError('EINVAL', `no tier named "${tier}"`);
    this.inode(ino);
    this.catalog.setPin(ino, tier);
    this.mirrorXattrs(ino);
  }

  /** What a backing file or directory carries as xattrs: the catalog's user.* ones, and the pin. */
  xattrsToMirror(i: Inode): Xattr[] {
    const stored = this.catalog.xattrsOf(i.ino);
    return i.pin ? [...stored, { name: PIN_XATTR, value: Buffer.from(i.pin) }] : stored;
  }

  /**
   * A file's or directory's xattrs to its backing entry (a local file's backing file, a
   * directory's on the first local tier), so the tiers alone keep them (reconcile.ts reads
   * them back). Best effort, as the other mirrors: the catalog is what the mount serves.
   */
  private mirrorXattrs(ino: number): void {
    const i = this.inode(ino);
    const want = this.xattrsToMirror(i);
    const onFd = (open: () => number, where: object) => {
      let fd: number | undefined;
      try {
        fd = open();
        matchXattrs(fd, want);
      } catch (err) {
        if (err instanceof FsError) throw err;
        if (errCode(err) !== 'ENOENT') log.warn({ err, ino, ...where }, 'could not mirror xattrs to the backing entry');
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
    };
    if (this.isLocalFile(i)) onFd(() => this.openBacking(i, C.O_RDONLY), { volume: i.volume });
    else if (isDir(i.mode) && ino !== ROOT_INO) {
      const path = this.catalog.pathOf(ino);
      const first = this.tiers[0];
      if (path && first) for (const volume of first.volumes) onFd(() => first.openDir(volume, path), { path, volume });
    }
  }

  /** Close every handle (unmount). */
  closeAll(): void {
    for (const fh of [...this.handles.keys()]) this.release(fh);
    this.dirHandles.clear();
    this.listingAhead.stop();
  }
}

/** What syncData records of an fstat JavaScript took itself, as the binding's at a release. */
function releaseStat(st: fs.BigIntStats, atNs: number): BackingStat {
  return { size: Number(st.size), blocks: Number(st.blocks), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, atNs };
}

/** CLOCK_MONOTONIC in ns, the binding's clock for the stats it takes at release. */
const monotonicNs = () => Number(process.hrtime.bigint());
