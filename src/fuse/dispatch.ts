// Turns requests from the native binding into calls of the FuseOps handlers and
// their results (or thrown errors) into replies. One table, one entry per op.
import type { Logger } from 'pino';
import { errnoOf } from '../errors.js';
import type { LookupCounts } from './lookup-counts.js';
import { opNames, type NativeRequest, type NativeSession, type OpName } from './native.js';
import { DirPlus, type CellFileSet, type Attr, type Entry, type FuseOps, type RequestContext, type SetAttr } from './types.js';
import { withoutPrivileges } from '../vfs/modes.js';

const ENOSYS = 38;
const FUSE_CAP_DONT_MASK = 1 << 6;
const FUSE_CAP_POSIX_ACL = 1 << 19;
const EOPNOTSUPP = 95;
const O_ACCMODE = 3;

type Handler = (r: NativeRequest, ctx: RequestContext) => Promise<void> | void;

/** Inode and handle numbers set aside for the binding's creates at a time. */
const CREATE_STOCK = 1024;

const KERNEL: RequestContext = Object.freeze({ uid: 0, gid: 0, pid: 0, umask: 0 });

/** Events that belong to the session rather than to the filesystem. */
export interface SessionEvents {
  init(r: NativeRequest): void;
  exited(): void;
}

/** libfuse log levels, as syslog's: 0 emerg … 7 debug. */
function logAt(log: Logger, level: number, msg: string): void {
  if (level <= 3) log.error({ src: 'libfuse' }, msg);
  else if (level <= 5) log.warn({ src: 'libfuse' }, msg);
  else log.debug({ src: 'libfuse' }, msg);
}

export class RequestDispatcher {
  private readonly names = opNames();
  private readonly handlers: Record<OpName, Handler>;
  /** Whether the binding keeps files' attributes (FuseOps.watchAttrs); false after the session ended. */
  private keepsAttrs = false;
  /** Attribute changes reported so far (FuseOps.watchAttrs). */
  private attrChanges = 0;

  constructor(
    private readonly native: NativeSession,
    private readonly ops: FuseOps,
    private readonly counts: LookupCounts,
    private readonly log: Logger,
    private readonly events: SessionEvents,
  ) {
    this.handlers = this.buildHandlers();
  }

  /** A cold handle's cells that the binding may serve reads from itself (FuseOps.cellFiles), if any. */
  private async cellFiles(fh: number, offset?: number, size?: number): Promise<CellFileSet | undefined> {
    if (!this.ops.cellFiles) return undefined;
    try {
      const set = await this.ops.cellFiles(fh, offset, size);
      return set && set.cells.length > 0 ? set : undefined;
    } catch (err) {
      // Only a missed chance: JavaScript goes on serving these reads.
      this.log.debug({ fh, err: (err as Error).message }, 'cannot hand cell files to the binding');
      return undefined;
    }
  }

  /** Called by the binding on the JavaScript thread; never throws. */
  readonly dispatch = (r: NativeRequest): void => {
    const name = this.names.get(r.op);
    const handler = name && this.handlers[name];
    if (!handler) {
      this.log.error({ op: r.op }, 'unknown request from the binding');
      if (r.id) this.native.replyErr(r.id, ENOSYS);
      return;
    }
    if (!r.id) {
      // notifications (init, forget, log, exited): nobody to answer, no caller
      const failed = (err: unknown) => this.log.error({ err, op: name }, 'notification handler failed');
      try {
        handler(r, KERNEL)?.catch(failed);
      } catch (err) {
        failed(err);
      }
      return;
    }
    const ctx: RequestContext = { uid: r.uid, gid: r.gid, pid: r.pid, umask: r.umask };
    let result: Promise<void> | void;
    try {
      result = handler(r, ctx);
    } catch (err) {
      this.fail(r, name, err);
      return;
    }
    if (result) result.catch((err: unknown) => this.fail(r, name, err));
  };

  private fail(r: NativeRequest, op: string, err: unknown): void {
    const errno = errnoOf(err);
    // An error without an errno code is a bug (it becomes EIO): worth a log line.
    if ((err as { code?: unknown } | null)?.code === undefined) this.log.error({ err, op, ino: r.ino }, 'handler failed');
    try {
      this.native.replyErr(r.id, errno);
    } catch (replyErr) {
      this.log.error({ err: replyErr, op }, 'could not reply');
    }
  }

  /** Replies with an entry and, if the kernel took it, counts its reference (a negative entry, inode 0, holds none). */
  private entry(r: NativeRequest, e: Entry, keep = false): void {
    if (this.native.replyEntry(r.id, e, keep) && e.attr.ino !== 0) this.counts.add(e.attr.ino);
  }

  /**
   * Whether the binding may keep attr, read when attrChanges was `mark`, for the getattrs
   * of its file that follow (FuseOps.settledAttrs). Not if anything changed in between: a
   * handler that awaits lets others run, and attr may be older than their change.
   */
  private settled(attr: Attr, mark: number): boolean {
    return this.keepsAttrs && attr.ino !== 0 && mark === this.attrChanges && this.ops.settledAttrs!(attr.ino, attr) !== undefined;
  }

  /** After a release of a writer, the file's attributes as the release left them (synced from the backing file). */
  private keepAfterRelease(ino: number): void {
    if (!this.keepsAttrs) return;
    const attr = this.ops.settledAttrs!(ino);
    if (attr) this.native.keepAttrs(ino, attr);
  }

  /** Success with no data; parentAttr: the changed directory's attributes (an unlink's, Entry.parentAttr). */
  private ok(r: NativeRequest, parentAttr?: Attr): void {
    this.native.replyErr(r.id, 0, parentAttr);
  }

  /**
   * Clears setuid/setgid of ino before a write-like request of an unprivileged
   * caller is carried out (the binding flags those requests: killPrivileges),
   * in the filesystem, which keeps the mode, and then in the kernel's cache.
   */
  private async killPrivileges(ctx: RequestContext, ino: number): Promise<void> {
    const attr = await this.ops.getattr(ctx, ino);
    const mode = withoutPrivileges(attr.mode);
    if (mode !== attr.mode) await this.ops.setattr(ctx, ino, { mode: mode & 0o7777 });
    this.native.privilegesKilled(ino);
  }

  /** Hands directory parent to the binding for creates, when the filesystem offers it (FuseOps.createGrant). */
  private grantCreates(parent: number): void {
    try {
      const grant = this.ops.createGrant?.(parent);
      if (!grant) return;
      this.stockCreates();
      this.native.grantCreates(parent, grant.dirfd, grant.placement, grant.attr, grant.names, grant.budget);
    } catch (err) {
      // Only a missed chance: creates in it go on coming here.
      this.log.debug({ parent, err: (err as Error).message }, 'cannot hand a directory to the binding for creates');
    }
  }

  /** Hands directory parent's names to the binding for lookups, when the filesystem offers them (FuseOps.lookupGrant). */
  private grantLookups(parent: number): void {
    try {
      const names = this.ops.lookupGrant?.(parent);
      if (names) this.native.grantLookups(parent, names);
    } catch (err) {
      this.log.debug({ parent, err: (err as Error).message }, 'cannot hand a directory to the binding for lookups');
    }
  }

  /** Numbers for the binding's creates, set aside again when a quarter is left. */
  private stockCreates(): void {
    if (this.native.supplyCreates() >= CREATE_STOCK / 4) return;
    const { inoFrom, fhFrom } = this.ops.createNumbers!(CREATE_STOCK);
    this.native.supplyCreates(inoFrom, CREATE_STOCK, fhFrom, CREATE_STOCK);
  }

  private releaseQuietly(what: string, release: () => Promise<void>): void {
    release().catch((err: unknown) => this.log.warn({ err }, `${what} of an undelivered open failed`));
  }

  private buildHandlers(): Record<OpName, Handler> {
    const ops = this.ops;
    const nat = this.native;
    return {
      init: (r) => {
        // the capabilities wanted and granted (libfuse FUSE_CAP_*)
        const flags = r.capabilities ?? 0;
        ops.init?.({ posixAcl: (flags & FUSE_CAP_POSIX_ACL) !== 0, dontMask: (flags & FUSE_CAP_DONT_MASK) !== 0, passthrough: r.passthrough === true });
        if (ops.watchAttrs && ops.settledAttrs) {
          ops.watchAttrs((ino) => {
            this.attrChanges++;
            nat.dropAttrs(ino);
          });
          this.keepsAttrs = true;
        }
        this.events.init(r);
      },
      exited: () => {
        this.keepsAttrs = false;
        ops.watchAttrs?.(null);
        this.events.exited();
      },
      log: (r) => logAt(this.log, r.level ?? 6, r.name ?? ''),
      forget: (r) => {
        const list = r.forgets ?? [];
        for (let i = 0; i + 1 < list.length; i += 2) {
          const ino = list[i]!;
          if (this.counts.forget(ino, list[i + 1]!)) ops.forget?.(ino);
        }
      },
      lookup: async (r, c) => {
        const mark = this.attrChanges;
        const e = await ops.lookup(c, r.ino, r.name!);
        // Before the reply: the next misses in the directory may be the binding's.
        if (e.attr.ino === 0) this.grantLookups(r.ino);
        this.entry(r, e, this.settled(e.attr, mark));
      },
      getattr: async (r, c) => {
        const mark = this.attrChanges;
        const attr = await ops.getattr(c, r.ino, r.fh);
        nat.replyAttr(r.id, attr, undefined, this.settled(attr, mark));
      },
      setattr: async (r, c) => {
        const set = { ...(r.set as SetAttr) };
        if (r.killPrivileges) {
          // A truncate: the cleared mode goes along in the same change, and the
          // reply tells the kernel (and the binding) the new mode.
          const { mode } = await ops.getattr(c, r.ino);
          if (withoutPrivileges(mode) !== mode) set.mode = withoutPrivileges(mode) & 0o7777;
        }
        nat.replyAttr(r.id, await ops.setattr(c, r.ino, set));
      },
      readlink: async (r, c) => {
        nat.replyReadlink(r.id, await ops.readlink(c, r.ino));
      },
      mknod: async (r, c) => this.entry(r, await ops.mknod(c, r.ino, r.name!, r.mode!, r.rdev ?? 0)),
      mkdir: async (r, c) => this.entry(r, await ops.mkdir(c, r.ino, r.name!, r.mode!)),
      unlink: async (r, c) => {
        this.ok(r, (await ops.unlink(c, r.ino, r.name!)) ?? undefined);
      },
      rmdir: async (r, c) => {
        await ops.rmdir(c, r.ino, r.name!);
        this.ok(r);
      },
      symlink: async (r, c) => this.entry(r, await ops.symlink(c, r.target!, r.ino, r.name!)),
      rename: async (r, c) => {
        const renamed = await ops.rename(c, r.ino, r.name!, r.newParent!, r.newName!, r.flags ?? 0);
        if (!renamed) return this.ok(r);
        // Read now, with nothing between it and the reply (as after a release).
        const moved = this.keepsAttrs ? this.ops.settledAttrs!(renamed.movedIno) : undefined;
        nat.replyRenamed(r.id, renamed.parentAttr, renamed.newParentAttr, moved);
      },
      link: async (r, c) => this.entry(r, await ops.link(c, r.ino, r.newParent!, r.newName!)),
      open: async (r, c) => {
        if (r.killPrivileges) await this.killPrivileges(c, r.ino);
        const res = await ops.open(c, r.ino, r.flags ?? 0);
        // Given with the reply, so that the binding may answer the handle's first read.
        const cells = res.fd === undefined ? await this.cellFiles(res.fh) : undefined;
        if (!nat.replyOpen(r.id, cells ? { ...res, cells } : res)) {
          this.releaseQuietly('release', () => ops.release(c, r.ino, res.fh, r.flags ?? 0));
        }
      },
      read: async (r, c) => {
        const data = await ops.read(c, r.ino, r.fh!, r.size!, r.offset!);
        // Before the reply: the reader's next request may be answered by the binding.
        const cells = await this.cellFiles(r.fh!, r.offset!, r.size!);
        if (cells) nat.serveCells(r.fh!, cells.fileSize, cells.blockSize, cells.cells);
        nat.replyData(r.id, data);
      },
      write: async (r, c) => {
        if (r.killPrivileges) await this.killPrivileges(c, r.ino);
        nat.replyWrite(r.id, await ops.write(c, r.ino, r.fh!, r.data!, r.offset!));
      },
      flush: async (r, c) => {
        // ENOSYS tells the kernel to stop sending flush: one round trip less per close.
        if (!ops.flush) return void nat.replyErr(r.id, ENOSYS);
        await ops.flush(c, r.ino, r.fh!);
        this.ok(r);
      },
      // A notification (the binding answered it): what fails here is logged.
      release: async (r, c) => {
        if (r.counts) this.deliverCounts([r.counts]);
        const synced =
          r.mtimeNs === undefined ? undefined : { size: r.size!, blocks: r.blocks!, mtimeNs: r.mtimeNs, ctimeNs: r.ctimeNs!, atNs: r.syncedAtNs! };
        await ops.release(c, r.ino, r.fh!, r.flags ?? 0, synced);
        if ((r.flags ?? 0) & O_ACCMODE) this.keepAfterRelease(r.ino);
      },
      fsync: async (r, c) => {
        await ops.fsync(c, r.ino, r.fh!, r.datasync ?? false);
        this.ok(r);
      },
      opendir: async (r, c) => {
        const res = await ops.opendir(c, r.ino, r.flags ?? 0);
        if (!nat.replyOpen(r.id, res)) this.releaseQuietly('releasedir', () => ops.releasedir(c, r.ino, res.fh));
      },
      readdir: async (r, c) => {
        const page = await ops.readdir(c, r.ino, r.fh!, r.offset!, r.plus ?? false, r.size!);
        if (Array.isArray(page)) return void nat.replyDir(r.id, page);
        if ('joined' in page) return void nat.replyNames(r.id, page.joined, page.end);
        // Each entry given with its attributes is a lookup reference the kernel now holds.
        const { names, numbers } = page;
        const packed = nat.replyDirPlus(r.id, names, numbers);
        for (let i = 0, at = 0; i < packed; i++, at += DirPlus.fields) if (numbers[at + DirPlus.hasEntry]) this.counts.add(numbers[at + DirPlus.ino]!);
      },
      // A notification: the binding answered the kernel already (native/fuse/ops.cc).
      releasedir: async (r, c) => {
        await ops.releasedir(c, r.ino, r.fh!);
      },
      fsyncdir: async (r, c) => {
        if (!ops.fsyncdir) return void nat.replyErr(r.id, ENOSYS);
        await ops.fsyncdir(c, r.ino, r.fh!, r.datasync ?? false);
        this.ok(r);
      },
      statfs: async (r, c) => {
        nat.replyStatfs(r.id, await ops.statfs(c, r.ino));
      },
      setxattr: async (r, c) => {
        await ops.setxattr(c, r.ino, r.name!, r.data!, r.flags ?? 0);
        this.ok(r);
      },
      getxattr: async (r, c) => {
        nat.replyXattr(r.id, await ops.getxattr(c, r.ino, r.name!));
      },
      listxattr: async (r, c) => {
        const names = await ops.listxattr(c, r.ino);
        nat.replyXattr(r.id, Buffer.from(names.map((n) => `${n}\0`).join('')));
      },
      removexattr: async (r, c) => {
        await ops.removexattr(c, r.ino, r.name!);
        this.ok(r);
      },
      access: async (r, c) => {
        // ENOSYS tells the kernel to stop asking: every access is then allowed.
        if (!ops.access) return void nat.replyErr(r.id, ENOSYS);
        await ops.access(c, r.ino, r.mask ?? 0);
        this.ok(r);
      },
      create: async (r, c) => {
        const res = await ops.create(c, r.ino, r.name!, r.mode!, r.flags ?? 0);
        // Before the reply: the next lookups and creates in the directory may be the binding's.
        if (res.created) this.grantCreates(r.ino);
        if (nat.replyCreate(r.id, res, res)) this.counts.add(res.attr.ino);
        else this.releaseQuietly('release', () => ops.release(c, res.attr.ino, res.fh, r.flags ?? 0));
      },
      created: (r) => {
        const ino = r.newIno!;
        if (r.refused) {
          // The kernel took neither the inode nor the handle.
          if (this.counts.forget(ino, 1)) ops.forget?.(ino);
          return this.releaseQuietly('release', () => ops.release(KERNEL, ino, r.fh!, r.flags ?? 0));
        }
        this.counts.add(ino);
        const made = { parent: r.ino, name: r.name!, ino, fh: r.fh!, fd: r.fd!, flags: r.flags ?? 0, mode: r.mode!, uid: r.uid, gid: r.gid, timeNs: r.timeNs!, placement: r.placement! };
        let placed: boolean;
        try {
          placed = ops.created!(made);
        } catch (err) {
          // The binding's names and the catalog disagree: none of its answers is trusted
          // any more. (The backing file is there: the next mount's reconcile imports it.)
          nat.revokeCreates();
          throw err;
        }
        if (!placed) nat.revokeCreates();
        this.stockCreates();
      },
      fallocate: async (r, c) => {
        if (!ops.fallocate) return void nat.replyErr(r.id, EOPNOTSUPP);
        if (r.killPrivileges) await this.killPrivileges(c, r.ino);
        await ops.fallocate(c, r.ino, r.fh!, r.mode ?? 0, r.offset!, r.length!);
        this.ok(r);
      },
      lseek: async (r, c) => {
        // Never ENOSYS (the kernel would stop asking for the whole mount): without a
        // handler the file is all data, as the kernel's own answer would have it.
        if (!ops.lseek) return void nat.replyErr(r.id, EOPNOTSUPP);
        nat.replyLseek(r.id, await ops.lseek(c, r.ino, r.fh!, r.offset!, r.whence!));
      },
      copyFileRange: async (r, c) => {
        // EOPNOTSUPP, not ENOSYS: the kernel then copies this one by read and
        // write but keeps asking, so handles with fds still get the native copy.
        if (!ops.copyFileRange) return void nat.replyErr(r.id, EOPNOTSUPP);
        if (r.killPrivileges) await this.killPrivileges(c, r.inoOut!);
        const n = await ops.copyFileRange(
          c, r.ino, r.fh!, r.offset!, r.inoOut!, r.fhOut!, r.offsetOut!, r.length!, r.flags ?? 0,
        );
        nat.replyWrite(r.id, n);
      },
    };
  }

  /** Hands counts of natively served I/O to the filesystem; never throws. */
  deliverCounts(counts: Parameters<NonNullable<FuseOps['accessBatch']>>[0]): void {
    if (counts.length) this.quietly('accessBatch', () => this.ops.accessBatch?.(counts));
  }

  /** Hands the cell files the binding read to the filesystem; never throws. */
  deliverCellsRead(paths: string[]): void {
    if (paths.length) this.quietly('cellsRead', () => this.ops.cellsRead?.(paths));
  }

  private quietly(handler: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, `${handler} handler failed`);
    }
  }
}
