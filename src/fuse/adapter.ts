// FUSE operations → vfs calls. Only conversion lives here: attributes to the
// binding's shape, directory listings to entries, I/O counts to the recorder.
// Errors pass through; the session turns them into errno.
import type { DirAttrsTuple, InodeAttrs, XattrsStored } from '../catalog/catalog.js';
import type { FsError } from '../errors.js';
import { isDir, isReg, type Vfs } from '../vfs/vfs.js';
import { ListingHabits } from './listing-habits.js';
import { DirPlus, type AccessCount, type Attr, type Entry, type FuseOps, type MadeFile, type OpenResult, type NamesDirPage, type PackedDirPage, type RequestContext, type StatFs } from './types.js';

export interface AdapterOptions {
  attrTimeoutS: number;
  entryTimeoutS: number;
  /** how long the kernel keeps a lookup's "no such name" (0: not at all) */
  negativeTimeoutS: number;
  /** hand the backing fd to the binding so it serves reads and writes natively */
  fastPath: boolean;
  /** which listings carry attributes (mount.readdirplus; default: all the kernel asks for) */
  listings?: ListingHabits;
  /** let the binding answer creates in directories a create was answered in (mount.nativeCreates) */
  nativeCreates?: boolean;
}

/**
 * Names a page without attributes reads (the binding keeps what the kernel's buffer does not
 * hold): a directory's first page, small since many listings stop there (an emptiness check,
 * `ls | head`), and the pages after it.
 */
const NAMES_AHEAD_FIRST = 1024;
const NAMES_AHEAD = 4096;

/** Inode 0 in a lookup's reply: the name does not exist. */
const NO_INODE: Attr = { ino: 0, mode: 0, nlink: 0, uid: 0, gid: 0, rdev: 0, size: 0, blocks: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n };

export function toAttr(i: InodeAttrs): Attr {
  return {
    ino: i.ino,
    mode: i.mode,
    nlink: i.nlink,
    uid: i.uid,
    gid: i.gid,
    rdev: i.rdev,
    size: i.size,
    blocks: i.blocks ?? Math.ceil(i.size / 512),
    blksize: 4096,
    atimeNs: i.atimeNs,
    mtimeNs: i.mtimeNs,
    ctimeNs: i.ctimeNs,
  };
}

/**
 * Catalog rows of a readdirplus page into the binding's packed form: names, and
 * DirPlus.fields numbers per entry in the tuple's order, each entry given to the kernel
 * ('.' and '..' excepted). An object per entry, read back by the binding property by
 * property, was most of what listing a million names cost the daemon.
 */
export function packDir(rows: readonly DirAttrsTuple[]): PackedDirPage {
  const names: string[] = new Array(rows.length);
  const numbers = new Float64Array(rows.length * DirPlus.fields);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    const at = k * DirPlus.fields;
    names[k] = r[1];
    numbers[at] = r[0];
    for (let j = 2; j < r.length; j++) numbers[at + j - 1] = r[j] as number; // the tuple's order, less the name
    if (r[9] === null) numbers[at + DirPlus.blocks] = Math.ceil(r[8] / 512);
    numbers[at + DirPlus.hasEntry] = r[1] === '.' || r[1] === '..' ? 0 : 1;
  }
  return { names, numbers };
}

export function createFuseOps(vfs: Vfs, opts: AdapterOptions): FuseOps {
  const listings = opts.listings ?? new ListingHabits('always');
  const entry = (i: InodeAttrs & Partial<XattrsStored>): Entry => ({
    attr: toAttr(i),
    generation: 0,
    attrTimeout: opts.attrTimeoutS,
    entryTimeout: opts.entryTimeoutS,
    storedXattrs: i.storedXattrs ?? vfs.hasStoredXattrs(i.ino),
  });
  /** The entry of a name just made in `parent`, with the directory's attributes now (Entry.parentAttr). */
  const made = (i: InodeAttrs, parent: number): Entry => ({ ...entry(i), parentAttr: toAttr(vfs.getattr(parent)) });
  // Files on object tiers (fd < 0) are read through JavaScript; local ones natively, or by
  // the kernel itself in passthrough (which alone needs to know of privileges).
  const opened = (h: { fh: number; fd: number; ino: number }): OpenResult =>
    opts.fastPath && h.fd >= 0 ? { fh: h.fh, fd: h.fd, privileged: vfs.passthrough && vfs.writesClearPrivileges(h.ino) } : { fh: h.fh };

  const ops: FuseOps = {
    init(granted) {
      vfs.acls = { enforced: granted.posixAcl, umaskIsOurs: granted.dontMask };
      vfs.passthrough = granted.passthrough;
    },
    async lookup(_ctx, parent, name) {
      try {
        const found = vfs.lookup(parent, name);
        listings.lookedUp(parent, isDir(found.mode));
        return entry(found);
      } catch (err) {
        // A negative entry: the kernel answers the next lookups of this name itself (a
        // search path probed again, a build looking for its outputs). Names appear only
        // through the kernel (create, mkdir, link, rename…), which then drops it.
        if (opts.negativeTimeoutS > 0 && (err as FsError).code === 'ENOENT') return { attr: NO_INODE, entryTimeout: opts.negativeTimeoutS };
        throw err;
      }
    },
    async getattr(_ctx, ino) {
      return toAttr(vfs.getattr(ino));
    },
    async setattr(_ctx, ino, set) {
      return toAttr(await vfs.setattr(ino, set));
    },
    async readlink(_ctx, ino) {
      return vfs.readlink(ino);
    },
    async mknod(ctx, parent, name, mode, rdev) {
      return made(await vfs.mknod(ctx, parent, name, mode, rdev), parent);
    },
    async mkdir(ctx, parent, name, mode) {
      return made(vfs.mkdir(ctx, parent, name, mode), parent);
    },
    async unlink(_ctx, parent, name) {
      // Answered before its change commits only when the next mount would finish it.
      await vfs.unlink(parent, name);
      return toAttr(vfs.getattr(parent));
    },
    async rmdir(_ctx, parent, name) {
      vfs.rmdir(parent, name);
    },
    async symlink(ctx, target, parent, name) {
      return made(vfs.symlink(ctx, target, parent, name), parent);
    },
    async rename(_ctx, parent, name, newParent, newName, flags) {
      const { moved, freed } = vfs.rename(parent, name, newParent, newName, flags);
      await freed;
      // A directory moved changes too (its ctime, its `..`): then nothing is said.
      if (moved.length === 0 || moved.some((i) => isDir(i.mode))) return;
      return {
        parentAttr: toAttr(vfs.getattr(parent)),
        newParentAttr: newParent === parent ? undefined : toAttr(vfs.getattr(newParent)),
        movedIno: moved[0]!.ino,
      };
    },
    async link(_ctx, ino, newParent, newName) {
      return made(vfs.link(ino, newParent, newName), newParent);
    },
    async open(_ctx, ino, flags) {
      return opened(await vfs.open(ino, flags));
    },
    async create(ctx: RequestContext, parent, name, mode, flags) {
      const h = await vfs.create(ctx, parent, name, mode, flags);
      return { ...(h.created ? made(vfs.inode(h.ino), parent) : entry(vfs.getattr(h.ino))), ...opened(h), created: h.created };
    },
    async read(_ctx, _ino, fh, size, offset) {
      return vfs.read(fh, size, offset);
    },
    async write(_ctx, _ino, fh, data, offset) {
      return vfs.write(fh, data, offset);
    },
    // No flush: bytes go straight to the backing file and release updates the catalog,
    // so the kernel is told (ENOSYS) to spare every close that round trip.
    async release(_ctx, _ino, fh, _flags, synced) {
      vfs.release(fh, synced);
    },
    async lseek(_ctx, _ino, fh, offset, whence) {
      return vfs.seekData(fh, offset, whence);
    },
    async fallocate(_ctx, _ino, fh, mode, offset, length) {
      vfs.fallocate(fh, mode, offset, length);
    },
    async fsync(_ctx, _ino, fh, datasync) {
      await vfs.fsync(fh, datasync);
    },
    async opendir(_ctx, ino) {
      return { fh: vfs.opendir(ino) };
    },
    async readdir(ctx, ino, fh, offset, plus, bufferBytes) {
      // No more than the kernel's buffer can hold (an entry takes at least 24 bytes, over 150 in
      // a readdirplus page, with its attributes or without): it asks again from the last
      // cookie packed. Attributes are read now, not at opendir: the kernel takes them as
      // fresh for attrTimeout.
      const limit = Math.ceil(bufferBytes / (plus ? 150 : 24)) + 1;
      if (listings.attributes(ctx.pid, ino, plus)) return packDir(vfs.readdirPlus(ino, fh, offset, limit));
      // Names alone are read well ahead, in one query: the binding keeps what does not fit
      // and answers the next pages itself (native/fuse/dir-ahead.h). A walk by name asks for
      // five pages or more of a directory of a thousand files, and each trip here cost more
      // than the names.
      const ahead = Math.max(limit, offset === 0 ? NAMES_AHEAD_FIRST : NAMES_AHEAD);
      const page = vfs.readdir(ino, fh, offset, ahead);
      return { joined: page.joined, end: page.count < ahead };
    },
    async releasedir(_ctx, _ino, fh) {
      vfs.releasedir(fh);
    },
    async fsyncdir(_ctx, ino) {
      // A directory's names are catalog rows and backing entries: both synced (Vfs.syncDirectory).
      await vfs.syncDirectory(ino);
    },
    async statfs(): Promise<StatFs> {
      const s = vfs.statfs();
      return { ...s, frsize: s.bsize, favail: s.ffree };
    },
    async setxattr(ctx, ino, name, value, flags) {
      vfs.setxattr(ctx, ino, name, value, flags);
    },
    async getxattr(_ctx, ino, name) {
      return vfs.getxattr(ino, name);
    },
    async listxattr(ctx, ino) {
      return vfs.listxattr(ctx, ino);
    },
    async removexattr(ctx, ino, name) {
      vfs.removexattr(ctx, ino, name);
    },
    // Cold files' cached cells are the binding's to serve only on its fast path; without
    // it these are left out, and no read asks for them.
    ...(opts.fastPath && {
      async cellFiles(fh: number, offset?: number, size?: number) {
        return vfs.cellFiles(fh, offset, size);
      },
      cellsRead(paths: string[]) {
        vfs.cellsRead(paths);
      },
    }),
    // Creates the binding answers itself (native/fuse/create-grants.h): on its fast path
    // only, since the new file's handle serves its I/O there. Lookups of missing names go
    // with them: one switch for every directory's names handed over.
    ...(opts.fastPath &&
      opts.nativeCreates && {
        lookupGrant(parent: number) {
          return vfs.lookupGrant(parent);
        },
        createGrant(parent: number) {
          const g = vfs.createGrant(parent);
          if (!g) return undefined;
          const { attrs, ...grant } = g;
          return { ...grant, attr: toAttr(attrs) };
        },
        created(made: MadeFile) {
          // A change the backing tier holds too (the file is there): answered before it commits, as create is.
          vfs.catalog.group.open();
          return vfs.adoptCreate(made);
        },
        createNumbers(count: number) {
          vfs.catalog.group.open();
          return vfs.createNumbers(count);
        },
      }),
    // Files' attributes the binding answers getattrs with: on its fast path, as the rest
    // it answers itself.
    ...(opts.fastPath && {
      watchAttrs(changed: ((ino: number) => void) | null) {
        vfs.catalog.onAttrsChanged = changed ?? (() => {});
      },
      settledAttrs(ino: number, known?: Attr) {
        if (vfs.isOpenForWrite(ino)) return undefined;
        if (known) return isReg(known.mode) ? known : undefined;
        const i = vfs.catalog.getInode(ino);
        return i && isReg(i.mode) ? toAttr(i) : undefined;
      },
    }),
    accessBatch(counts: AccessCount[]) {
      for (const c of counts) {
        if (c.reads > 0) vfs.recordIo(c.ino, 'read', c.firstReadOffset ?? 0, c.readBytes, c.reads);
        if (c.writes > 0) vfs.recordIo(c.ino, 'write', 0, c.writeBytes, c.writes);
      }
    },
  };
  return withGroupCommit(ops, vfs);
}

type AsyncOp = (...args: never[]) => Promise<unknown>;

/**
 * Changes whose result the backing tier holds too (a new file, directory or symlink, a
 * file's bytes and size; opens and closes of handles that change a file, in READS
 * below): should the daemon die before their group commits, the next mount's reconcile
 * finds them there. These requests are answered at once.
 */
const REPAIRED_AT_MOUNT = ['create', 'mkdir', 'symlink', 'write', 'fallocate'] as const;
/** Changes only the catalog holds (an rmdir, attributes, xattrs, a device node): answered once committed. */
const COMMITTED_FIRST = ['setattr', 'mknod', 'rmdir', 'link', 'setxattr', 'removexattr', 'fsync', 'fsyncdir'] as const;

/**
 * Requests that read the catalog, opens and closes among them (those of a handle that
 * writes or truncates change the file too, repaired at mount as writes are). They join the
 * open group for its transaction, and answer at once: a statement run outside one takes
 * and drops SQLite's locks on its own (three fcntl calls, ~4 µs here, ten times what a
 * lookup by key costs in a transaction), and a getattr or lookup runs several.
 */
const READS = ['lookup', 'getattr', 'readlink', 'open', 'release', 'opendir', 'readdir', 'releasedir', 'statfs', 'getxattr', 'listxattr', 'access'] as const;

/**
 * The catalog changes of requests join the group of their turn of the event loop
 * (catalog/group-commit.ts); what a caller is told is either committed or found again at
 * the next mount. Requests that change nothing join it to read in its transaction.
 */
function withGroupCommit(ops: FuseOps, vfs: Vfs): FuseOps {
  const group = vfs.catalog.group;
  // waits: whether the answer waits for the group's commit (a function: on success, from
  // the request's arguments). An error waits unless the request never does: it may say
  // what an uncommitted change did (EEXIST, ENOTEMPTY).
  const grouped = (op: AsyncOp, waits: boolean | ((args: unknown[]) => boolean)): AsyncOp => {
    // Most requests (every lookup and getattr JavaScript answers): no promise of our own.
    if (waits === false) {
      return (...args) => {
        group.open();
        return op(...args);
      };
    }
    return async (...args) => {
      group.open();
      let answered = false;
      try {
        const result = await op(...args);
        answered = true;
        return result;
      } finally {
        if (waits === true || !answered || waits(args)) await group.settled();
      }
    };
  };
  const wrapped: Record<string, unknown> = { ...ops };
  const all = ops as unknown as Record<string, AsyncOp | undefined>;
  for (const name of [...REPAIRED_AT_MOUNT, ...READS]) if (all[name]) wrapped[name] = grouped(all[name].bind(ops), false);
  for (const name of COMMITTED_FIRST) if (all[name]) wrapped[name] = grouped(all[name].bind(ops), true);
  // A rename (or exchange) is answered before its names commit: a row saying it is under
  // way committed before its backing names changed (Catalog.beginRename), and the next
  // mount finishes it.
  wrapped.rename = grouped(ops.rename.bind(ops) as AsyncOp, () => false);
  // An unlink waits in ops.unlink when it must (Vfs.unlink).
  wrapped.unlink = grouped(ops.unlink.bind(ops) as AsyncOp, () => false);
  return wrapped as unknown as FuseOps;
}
