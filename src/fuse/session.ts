// mount() and FuseSession: the TypeScript face of the native FUSE binding.
//
//   const session = await mount('/mnt/x', ops, { allowOther: true });
//   …
//   await session.unmount();
//
// The binding never blocks a FUSE thread on JavaScript: requests arrive here as
// calls of the dispatcher, handlers answer whenever their promises settle. Reads
// and writes of handles opened with an fd are served natively and reported
// through ops.accessBatch.
import { writeFile } from 'node:fs/promises';
import { FsError } from '../errors.js';
import { flushLogSync, moduleLogger } from '../log.js';
import { RequestDispatcher } from './dispatch.js';
import { LookupCounts } from './lookup-counts.js';
import { prepareMountpoint } from './mountpoint.js';
import { NO_CELL_COUNTS, nativeBinding, type CellCounts, type FileAttrCounts, type NativeSession, type NativeSessionOptions } from './native.js';
import type { FuseOps, Ino, MountOptions } from './types.js';

const log = moduleLogger('fuse');

/** How often natively served I/O is reported to ops.accessBatch. */
const ACCESS_BATCH_MS = 200;
const INIT_TIMEOUT_MS = 10_000;

export interface UnmountOptions {
  /** How long open files may keep the mount busy before the connection is aborted (ms). */
  timeoutMs?: number;
}

export interface FuseSession {
  /** Canonical absolute path of the mountpoint. */
  readonly mountpoint: string;
  /** The mount's kernel device number (names /sys/fs/fuse/connections/N). */
  readonly device: number;
  /** Resolves when the session has ended, by unmount() or from outside (fusermount3 -u). */
  readonly closed: Promise<void>;
  /**
   * Detaches the mount, waits up to timeoutMs (default 2000) for open files to
   * close, then aborts the connection. Idempotent.
   */
  unmount(opts?: UnmountOptions): Promise<void>;
  /** The kernel's current reference count on ino (lookups minus forgets). */
  lookupCount(ino: Ino): number;
  /** Requests handed to JavaScript and not answered yet. */
  inflight(): number;
  /** The kernel agreed to FUSE passthrough: local files' reads and writes bypass the daemon. */
  readonly passthrough: boolean;
  /** Opens answered in passthrough, and opens refused (see NativeSession). */
  passthroughCounts(): { opens: number; refused: number };
  /** getxattr requests the binding answered itself (no xattr stored: ENODATA). */
  xattrsAnswered(): number;
  /** getattr requests of a directory the binding answered itself (Entry.parentAttr). */
  dirAttrsAnswered(): number;
  /** getattr requests of a regular file, and lookups of its name, the binding answered itself (FuseOps.settledAttrs). */
  fileAttrsAnswered(): FileAttrCounts;
  /** Listing pages the binding answered itself from names read ahead with an earlier page. */
  listingPagesAnswered(): number;
  /** Lookups of missing names and creates the binding answered itself (FuseOps.createGrant). */
  createCounts(): { lookups: number; creates: number };
  /** Kernel thread ids of the threads that have served requests. */
  servingThreads(): number[];
  /** Reads the binding answered from recall cache files (FuseOps.cellFiles). */
  cellCounts(): CellCounts;
  /** Reads of handle fh go to JavaScript again: its file left the copy the binding was told of. */
  dropCells(fh: number): void;
}

function nativeOptions(mountpoint: string, o: MountOptions): NativeSessionOptions {
  return {
    mountpoint,
    fsname: o.fsname ?? 'tierfs',
    subtype: o.subtype ?? 'tierfs',
    maxRead: o.maxRead ?? 0,
    maxWrite: o.maxWrite ?? 1 << 20,
    splice: o.splice ?? true,
    spliceRequests: o.spliceRequests ?? false,
    attrTimeout: o.attrTimeout ?? 1,
    entryTimeout: o.entryTimeout ?? 1,
    negativeTimeout: o.negativeTimeout ?? 0,
    pageCache: o.pageCache ?? 'auto',
    writebackCache: o.writebackCache ?? false,
    defaultPermissions: o.defaultPermissions ?? true,
    posixAcl: o.posixAcl ?? false,
    allowOther: o.allowOther ?? false,
    fastPath: o.fastPath ?? true,
    passthrough: o.passthrough ?? false,
    readdirplus: o.readdirplus ?? 'always',
    maxThreads: o.maxThreads ?? 8,
    debug: o.debug ?? false,
  };
}

function within<T>(p: Promise<T>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((res) => {
      timer = setTimeout(() => res(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

class Session implements FuseSession {
  device = 0;
  passthrough = false;
  readonly closed: Promise<void>;
  private readonly counts = new LookupCounts();
  private readonly native: NativeSession;
  private readonly dispatcher: RequestDispatcher;
  private batchTimer: NodeJS.Timeout | undefined;
  private markInitialized!: () => void;
  private readonly initialized = new Promise<void>((res) => (this.markInitialized = res));
  private markExited!: () => void;
  private readonly loopExited = new Promise<void>((res) => (this.markExited = res));
  private markClosed!: () => void;
  private unmounting: Promise<void> | undefined;
  private joined = false;

  constructor(
    readonly mountpoint: string,
    private readonly ops: FuseOps,
    private readonly opts: MountOptions,
  ) {
    this.closed = new Promise<void>((res) => (this.markClosed = res));
    const binding = nativeBinding();
    let dispatch: RequestDispatcher['dispatch'] = () => {};
    this.native = new binding.Session(nativeOptions(mountpoint, opts), (r) => dispatch(r));
    this.dispatcher = new RequestDispatcher(this.native, ops, this.counts, log, {
      init: (r) => {
        this.passthrough = r.passthrough === true;
        log.info({ mountpoint, maxWrite: r.maxWrite, maxReadahead: r.maxReadahead, passthrough: this.passthrough }, 'mounted');
        this.markInitialized();
      },
      exited: () => this.onLoopExited(),
    });
    dispatch = this.dispatcher.dispatch;
  }

  async start(): Promise<void> {
    try {
      this.device = this.native.start();
    } catch (err) {
      throw new FsError('EIO', (err as Error).message);
    }
    if (!(await within(this.initialized, INIT_TIMEOUT_MS))) {
      this.forceClose();
      throw new FsError('ETIMEDOUT', `${this.mountpoint}: the kernel did not initialise the mount`);
    }
    if (this.opts.readAheadKb) await this.setReadAhead(this.opts.readAheadKb);
    this.batchTimer = setInterval(() => this.flushCounts(), ACCESS_BATCH_MS);
    this.batchTimer.unref();
  }

  /** The kernel caps read-ahead at 128 KiB for FUSE; only sysfs can raise it. */
  private async setReadAhead(kb: number): Promise<void> {
    const bdi = `/sys/class/bdi/${this.device >>> 20}:${this.device & 0xfffff}/read_ahead_kb`;
    await writeFile(bdi, String(kb)).catch((err: Error) => log.warn({ err, bdi }, 'cannot set read-ahead'));
  }

  lookupCount(ino: Ino): number {
    return this.counts.get(ino);
  }

  inflight(): number {
    return this.joined ? 0 : this.native.inflight();
  }

  passthroughCounts(): { opens: number; refused: number } {
    return this.joined ? { opens: 0, refused: 0 } : this.native.passthroughCounts();
  }

  xattrsAnswered(): number {
    return this.joined ? 0 : this.native.xattrsAnswered();
  }

  dirAttrsAnswered(): number {
    return this.joined ? 0 : this.native.dirAttrsAnswered();
  }

  fileAttrsAnswered(): FileAttrCounts {
    return this.joined ? { getattrs: 0, lookups: 0 } : this.native.fileAttrsAnswered();
  }

  listingPagesAnswered(): number {
    return this.joined ? 0 : this.native.listingPagesAnswered();
  }

  createCounts(): { lookups: number; creates: number } {
    return this.joined ? { lookups: 0, creates: 0 } : this.native.createCounts();
  }

  servingThreads(): number[] {
    return this.joined ? [] : this.native.servingThreads();
  }

  cellCounts(): CellCounts {
    return this.joined ? NO_CELL_COUNTS : this.native.cellCounts();
  }

  dropCells(fh: number): void {
    if (!this.joined) this.native.dropCells(fh);
  }

  private flushCounts(): void {
    if (this.joined) return;
    this.dispatcher.deliverCounts(this.native.takeAccessCounts());
    this.dispatcher.deliverCellsRead(this.native.takeCellsRead());
  }

  unmount(opts: UnmountOptions = {}): Promise<void> {
    this.unmounting ??= this.doUnmount(opts.timeoutMs ?? 2000);
    return this.unmounting;
  }

  private async doUnmount(timeoutMs: number): Promise<void> {
    this.flushCounts();
    this.native.detach();
    if (!(await within(this.loopExited, timeoutMs))) {
      log.warn({ mountpoint: this.mountpoint }, 'mount still busy after unmount; aborting the connection');
      if (!this.native.abort()) log.error({ mountpoint: this.mountpoint }, 'cannot abort the FUSE connection');
      if (!(await within(this.loopExited, 5000))) {
        throw new FsError('EBUSY', `${this.mountpoint}: the FUSE session does not end`);
      }
    }
    this.finish();
  }

  /** For process exit: no event loop any more, so everything happens now. */
  forceClose(): void {
    if (this.joined) return;
    this.native.detach();
    // Waiting for open files is not possible here; a loop that is still serving
    // would keep join() waiting, so cut the connection unless it already ended.
    if (this.native.isRunning() && !this.native.abort()) return;
    this.finish();
  }

  private onLoopExited(): void {
    this.markExited();
    if (!this.unmounting) {
      log.warn({ mountpoint: this.mountpoint }, 'FUSE session ended from outside');
      this.unmounting = Promise.resolve().then(() => this.finish());
    }
  }

  private finish(): void {
    if (this.joined) return;
    clearInterval(this.batchTimer);
    this.flushCounts();
    this.native.join();
    this.joined = true;
    sessions.delete(this);
    if (sessions.size === 0) removeProcessHooks();
    log.info({ mountpoint: this.mountpoint }, 'unmounted');
    this.markClosed();
  }
}

// ---- process hooks: a mount must not outlive its process ---------------------

const sessions = new Set<Session>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let hooked = false;

let signalled = false;

/**
 * Unmounts everything, then dies of the signal as the process would have,
 * unless the program listens for it too. Repeats of the signal during the
 * (bounded) unmount are ignored so that a mount is never left half-closed.
 */
async function onSignal(sig: NodeJS.Signals): Promise<void> {
  if (signalled) return;
  signalled = true;
  log.info({ sig }, 'signal: unmounting');
  await Promise.allSettled([...sessions].map((s) => s.unmount()));
  removeProcessHooks();
  if (process.listenerCount(sig) === 0) {
    flushLogSync();
    process.kill(process.pid, sig);
  }
}

const signalHandlers = new Map<NodeJS.Signals, () => void>(SIGNALS.map((sig) => [sig, () => void onSignal(sig)]));

function onExit(): void {
  for (const s of [...sessions]) s.forceClose();
}

function installProcessHooks(handleSignals: boolean): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', onExit);
  if (handleSignals) for (const [sig, h] of signalHandlers) process.on(sig, h);
}

function removeProcessHooks(): void {
  if (!hooked) return;
  hooked = false;
  process.removeListener('exit', onExit);
  for (const [sig, h] of signalHandlers) process.removeListener(sig, h);
}

/**
 * Mounts `ops` at `mountpoint`. Resolves once the kernel has initialised the
 * connection. A stale mount left by a crashed daemon is detached first.
 * Throws FsError: ENOENT/ENOTDIR (mountpoint), EBUSY (already mounted), ENODEV
 * (/dev/fuse unusable), EIO (mount refused, with libfuse's reason).
 */
export async function mount(mountpoint: string, ops: FuseOps, opts: MountOptions = {}): Promise<FuseSession> {
  const prepared = await prepareMountpoint(mountpoint);
  if (prepared.recoveredStale) log.warn({ mountpoint: prepared.path }, 'detached a stale mount left by a dead daemon');
  const session = new Session(prepared.path, ops, opts);
  installProcessHooks(opts.handleSignals ?? true);
  sessions.add(session);
  try {
    await session.start();
  } catch (err) {
    sessions.delete(session);
    if (sessions.size === 0) removeProcessHooks();
    throw err;
  }
  return session;
}
