// The bytes of a move onto a local volume are written, hashed and read back on a thread
// of their own, at the lowest CPU priority (nice 19): the daemon's main thread keeps
// answering requests while a move runs, and when the two cores are wanted by readers
// of the mount the scheduler runs them first. The thread uses synchronous calls, so
// all of a move's work — the hashing and the kernel's copies alike — is done at that
// priority, not on the shared thread pool.
//
// From another local volume the thread reads the source itself, asking the main thread
// before each piece (the mover's bandwidth limit is one bucket shared by every move)
// and reporting its progress after it. From an object tier the main thread fetches and
// checks the cells and hands the thread each piece in a buffer it transfers (no copy),
// which the thread hashes, writes and reads back while the next cells arrive, and gives
// back. A thread that dies fails the copies it had with EIO; the next copy starts another.
// (Node closes the descriptors a thread opened when it exits: a partial copy's blocks do
// not stay held by a dead thread's descriptor.)
// A copy told to stop (its file was deleted) stops before its next piece: a flag in
// shared memory, since a copy the thread reads itself does not wait for messages.
//
// Its code runs as an eval'd script (eval-worker.ts), with Node's own modules only.
import type { Worker } from 'node:worker_threads';
import { evalWorker } from '../../eval-worker.js';
import { FsError } from '../../errors.js';
import { moduleLogger } from '../../log.js';
import type { CopyAttrs } from './copy.js';
import type { ByteSource } from '../object/types.js';

const log = moduleLogger('copy-thread');

/** What the main thread asks of the thread. */
type Job =
  | { op: 'copy'; id: number; srcFd: number; size: number; path: string; attrs?: CopyAttrs; throttled: boolean; stop: Int32Array }
  | { op: 'hash'; id: number; path: string; stop: Int32Array }
  // a copy whose pieces the main thread hands over: opened, fed in order, then finished or abandoned
  | { op: 'receive'; id: number; size: number; path: string; attrs?: CopyAttrs }
  | { op: 'piece'; id: number; offset: number; length: number; data: ArrayBuffer }
  | { op: 'finish'; id: number }
  | { op: 'abandon'; id: number };

/** What the thread says back. */
type Reply =
  | { op: 'take'; id: number; bytes: number }
  | { op: 'progress'; id: number; bytes: number }
  | { op: 'stored'; id: number; bytes: number; data: ArrayBuffer }
  | { op: 'done'; id: number; sha256: string }
  | { op: 'failed'; id: number; code?: string; message: string };

/** The most bytes the thread reads or is handed at a time. */
const PIECE = 1 << 20;
/** Pieces of a received copy in the thread's hands at once: the fetches go on while it writes. */
const PIECES_IN_FLIGHT = 4;

// Runs in the thread. Everything it uses is required inside it: it is sent as text.
function threadMain(): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const C = fs.constants;
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const PIECE = (workerData as { piece: number }).piece;
  const BLOCK = 4096;
  const zeros = Buffer.alloc(BLOCK);
  const buf = Buffer.allocUnsafe(PIECE);
  const port = parentPort!;

  const granted = new Map<number, () => void>();
  const take = (id: number, bytes: number) =>
    new Promise<void>((resolve) => {
      granted.set(id, resolve);
      port.postMessage({ op: 'take', id, bytes });
    });

  // All of data[from, to) at pos: a write that meets the end of the space is short, the next fails.
  const writeAll = (fd: number, data: Buffer, from: number, to: number, pos: number) => {
    for (let at = from; at < to; ) {
      const n = fs.writeSync(fd, data, at, to - at, pos + (at - from));
      if (n === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      at += n;
    }
  };

  // Only the 4 KiB blocks that hold anything but zeros are written: holes stay holes.
  // Returns whether the last block was written (else the file may end before data's end).
  const writeData = (fd: number, data: Buffer, pos: number) => {
    let runStart = -1;
    for (let at = 0; at < data.length; at += BLOCK) {
      const end = Math.min(at + BLOCK, data.length);
      const empty = data.compare(zeros, 0, end - at, at, end) === 0;
      if (!empty && runStart < 0) runStart = at;
      if (empty && runStart >= 0) {
        writeAll(fd, data, runStart, at, pos + runStart);
        runStart = -1;
      }
    }
    if (runStart >= 0) writeAll(fd, data, runStart, data.length, pos + runStart);
    return runStart >= 0;
  };

  // A copy's bytes go to the disk as it is written, every 16 MiB, on the thread pool and
  // not waited for: the fsync that seals it then has little left to write, not the whole
  // file at the end (a 256 MiB recall here: 130 of its 1,000 ms, now a few). One sync at a
  // time per copy (the pool is the whole process's), through a descriptor of its own:
  // a write-back error is told once to each open file, so the copy's own descriptor still
  // hears it at that last fsync, and fails the copy, whatever the early syncs were told.
  const SYNC_EVERY = 16 << 20;
  interface EarlySyncs { path: string; fd?: number; busy: boolean; ended: boolean }
  const syncAhead = (s: EarlySyncs, end: number) => {
    if (end % SYNC_EVERY !== 0 || s.busy || s.ended) return;
    try {
      s.fd ??= fs.openSync(s.path, C.O_RDONLY | C.O_NOFOLLOW);
    } catch {
      return void (s.ended = true); // (no early syncs then: the last fsync does it all)
    }
    s.busy = true;
    fs.fdatasync(s.fd, () => {
      s.busy = false;
      if (s.ended) endSyncs(s);
    });
  };
  const endSyncs = (s: EarlySyncs) => {
    s.ended = true;
    if (s.fd === undefined || s.busy) return;
    fs.close(s.fd, () => undefined);
    s.fd = undefined;
  };

  // A complete copy: its length (a trailing hole was not written), owner, mode and times, on disk.
  const seal = (fd: number, size: number, a: CopyAttrs | undefined) => {
    fs.ftruncateSync(fd, size);
    if (a) {
      // chown before chmod: chown clears setuid/setgid, and a root-owned setuid copy must never exist.
      fs.fchownSync(fd, a.uid, a.gid);
      fs.fchmodSync(fd, a.mode & 0o7777);
      fs.futimesSync(fd, Number(a.atimeNs) / 1e9, Number(a.mtimeNs) / 1e9);
    }
    fs.fsyncSync(fd);
  };

  const stopIfTold = (stop: Int32Array) => {
    if (Atomics.load(stop, 0) !== 0) throw Object.assign(new Error('the copy was stopped: its file was deleted'), { code: 'ECANCELED' });
  };

  const copy = async (job: Extract<Job, { op: 'copy' }>) => {
    const fd = fs.openSync(job.path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    const h = createHash('sha256');
    const syncs: EarlySyncs = { path: job.path, busy: false, ended: false };
    try {
      for (let offset = 0; offset < job.size; ) {
        const want = Math.min(PIECE, job.size - offset);
        stopIfTold(job.stop);
        if (job.throttled) await take(job.id, want);
        stopIfTold(job.stop);
        const n = fs.readSync(job.srcFd, buf, 0, want, offset);
        if (n !== want) throw new Error(`source ended early at ${offset + n} of ${job.size} bytes`);
        h.update(buf.subarray(0, n));
        writeData(fd, buf.subarray(0, n), offset);
        offset += n;
        syncAhead(syncs, offset);
        port.postMessage({ op: 'progress', id: job.id, bytes: offset });
      }
      seal(fd, job.size, job.attrs);
    } finally {
      fs.closeSync(fd);
      endSyncs(syncs);
    }
    return h.digest('hex');
  };

  // Between two pieces the thread's loop runs: a copy waiting for its bandwidth gets its
  // grant (and a stopped one finds out) while a large file is read back, not after.
  const hash = async (path: string, stop: Int32Array) => {
    const fd = fs.openSync(path, C.O_RDONLY | C.O_NOFOLLOW);
    const h = createHash('sha256');
    try {
      for (let offset = 0; ; ) {
        stopIfTold(stop);
        const n = fs.readSync(fd, buf, 0, PIECE, offset);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        offset += n;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      fs.closeSync(fd);
    }
    return h.digest('hex');
  };

  // Received copies: each piece is hashed, written, and read back from the target at once
  // and compared with what was given (from the page cache, as a read-back after the
  // fsync would be), so no second pass over the file is needed once the last piece is in.
  const receiving = new Map<number, { fd: number; job: Extract<Job, { op: 'receive' }>; h: ReturnType<typeof createHash>; syncs: EarlySyncs }>();
  const backBuf = Buffer.allocUnsafe(PIECE);
  const receive = (m: Extract<Job, { op: 'receive' | 'piece' | 'finish' | 'abandon' }>) => {
    if (m.op === 'receive') {
      const fd = fs.openSync(m.path, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      receiving.set(m.id, { fd, job: m, h: createHash('sha256'), syncs: { path: m.path, busy: false, ended: false } });
      return;
    }
    const r = receiving.get(m.id);
    if (!r) return; // failed already: that was said
    if (m.op === 'piece') {
      const piece = Buffer.from(m.data, 0, m.length);
      r.h.update(piece);
      // A piece that ends in a hole extends the file to its end, so that it reads back whole.
      if (!writeData(r.fd, piece, m.offset)) fs.ftruncateSync(r.fd, m.offset + m.length);
      const back = backBuf.subarray(0, fs.readSync(r.fd, backBuf, 0, m.length, m.offset));
      if (!back.equals(piece)) throw Object.assign(new Error('copy on the target does not match the source'), { code: 'EIO' });
      syncAhead(r.syncs, m.offset + m.length);
      port.postMessage({ op: 'stored', id: m.id, bytes: m.offset + m.length, data: m.data }, [m.data]);
      return;
    }
    receiving.delete(m.id);
    try {
      if (m.op === 'finish') seal(r.fd, r.job.size, r.job.attrs);
    } finally {
      fs.closeSync(r.fd);
      endSyncs(r.syncs);
    }
    if (m.op === 'finish') port.postMessage({ op: 'done', id: m.id, sha256: r.h.digest('hex') });
    else port.postMessage({ op: 'failed', id: m.id, message: 'the copy was abandoned' });
  };

  const failed = (id: number, err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ op: 'failed', id, code: e.code, message: e.message });
  };

  // Copies and read-backs that run together take turns by the piece (a copy awaits its
  // grant, a read-back yields); each step of a received copy is synchronous, so it runs
  // whole between two pieces.
  port.on('message', (m: Job | { op: 'granted'; id: number }) => {
    if (m.op === 'granted') {
      const go = granted.get(m.id);
      granted.delete(m.id);
      go?.();
      return;
    }
    if (m.op !== 'copy' && m.op !== 'hash') {
      try {
        receive(m);
      } catch (err) {
        const r = receiving.get(m.id);
        receiving.delete(m.id);
        if (r) {
          fs.closeSync(r.fd);
          endSyncs(r.syncs);
        }
        failed(m.id, err);
      }
      return;
    }
    const run = async () => {
      try {
        const sha256 = m.op === 'copy' ? await copy(m) : await hash(m.path, m.stop);
        port.postMessage({ op: 'done', id: m.id, sha256 });
      } catch (err) {
        failed(m.id, err);
      }
    };
    void run();
  });
}

/** A flag in shared memory that the thread reads between pieces, set once `stopped` is aborted. */
function withStopFlag(stopped: AbortSignal | undefined, run: (stop: Int32Array) => Promise<string>): Promise<string> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const tell = () => Atomics.store(stop, 0, 1);
  if (stopped?.aborted) tell();
  stopped?.addEventListener('abort', tell, { once: true });
  return run(stop).finally(() => stopped?.removeEventListener('abort', tell));
}

export interface CopyOptions {
  attrs?: CopyAttrs;
  onProgress?: (bytes: number) => void;
  /** waits for the bandwidth of a piece before it is read */
  throttle?: (bytes: number) => Promise<void>;
  /** aborted: the copy stops before its next piece */
  stopped?: AbortSignal;
}

interface Pending {
  resolve(sha256: string): void;
  reject(err: Error): void;
  onProgress?: (bytes: number) => void;
  throttle?: (bytes: number) => Promise<void>;
  /** a received copy's piece is written: its buffer is back */
  stored?: (data: ArrayBuffer) => void;
}

export class CopyThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /**
   * Copy the open file srcFd (size bytes) into a new file at path (created 0600, O_EXCL,
   * never through a symlink), writing only blocks that hold data, truncated to size,
   * given attrs, fsync'ed. Resolves with the SHA-256 of what was read from srcFd; fails
   * with ECANCELED before the next piece once `stopped` is aborted.
   */
  copy(srcFd: number, size: number, path: string, opts: CopyOptions = {}): Promise<string> {
    return withStopFlag(opts.stopped, (stop) => this.run({ op: 'copy', id: 0, srcFd, size, path, attrs: opts.attrs, throttled: !!opts.throttle, stop }, opts).result);
  }

  /** The SHA-256 of the file at path (not followed if a symlink); fails with ECANCELED once `stopped` is aborted. */
  hash(path: string, stopped?: AbortSignal): Promise<string> {
    return withStopFlag(stopped, (stop) => this.run({ op: 'hash', id: 0, path, stop }, {}).result);
  }

  /**
   * Copy a source this thread reads (an object tier's cells) into a new file at path, as
   * copy() does, a piece at a time: this thread reads each piece straight into a buffer
   * it hands over, and the copy thread hashes, writes and reads it back (a piece that
   * reads back different fails the copy with EIO) while the next is read. Resolves with
   * the SHA-256 of the source's bytes.
   */
  async copyFrom(src: ByteSource, path: string, opts: CopyOptions = {}): Promise<string> {
    const free = Array.from({ length: Math.min(PIECES_IN_FLIGHT, Math.ceil(src.size / PIECE)) }, () => new ArrayBuffer(Math.min(PIECE, src.size)));
    let wake = () => {};
    const { id, worker, result } = this.run(
      { op: 'receive', id: 0, size: src.size, path, attrs: opts.attrs },
      { onProgress: opts.onProgress, stored: (data) => (free.push(data), wake()) },
    );
    // A failure in the thread ends the wait for a buffer at once.
    const failed = new Promise<never>((_, reject) => result.catch(reject));
    failed.catch(() => undefined);
    try {
      for (let offset = 0; offset < src.size; ) {
        const want = Math.min(PIECE, src.size - offset);
        opts.stopped?.throwIfAborted();
        await opts.throttle?.(want);
        while (free.length === 0) await Promise.race([new Promise<void>((r) => (wake = r)), failed]);
        opts.stopped?.throwIfAborted();
        const data = free.pop()!;
        const into = Buffer.from(data, 0, want);
        const piece = await src.read(offset, want, into);
        if (piece.length !== want) throw new Error(`source ended early at ${offset + piece.length} of ${src.size} bytes`);
        if (piece.buffer !== data || piece.byteOffset !== 0) piece.copy(into);
        worker.postMessage({ op: 'piece', id, offset, length: want, data }, [data]);
        offset += want;
      }
      worker.postMessage({ op: 'finish', id });
    } catch (err) {
      // The thread closes the file (the caller removes it) and settles the copy.
      worker.postMessage({ op: 'abandon', id });
      await result.catch(() => undefined);
      throw err;
    }
    return result;
  }

  /** Tests: the thread dies as a crash would end it. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Send a job; `result` settles with its 'done' (a SHA-256) or 'failed'. */
  private run(job: Job, how: Omit<Pending, 'resolve' | 'reject'>): { id: number; worker: Worker; result: Promise<string> } {
    const id = this.nextId++;
    const worker = this.thread();
    const result = new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...how });
      worker.ref();
      worker.postMessage({ ...job, id });
    });
    return { id, worker, result };
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w: Worker = evalWorker<Reply>(threadMain, { piece: PIECE }, { message: (m) => this.heard(w, m), lost: (err) => this.lost(w, err) }, { lowestPriority: true });
    this.worker = w;
    return w;
  }

  private heard(w: Worker, m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.op) {
      case 'take': {
        // A throttle that fails (the copy was told to stop) lets the thread go on, to find out.
        const grant = () => w.postMessage({ op: 'granted', id: m.id });
        void (p.throttle?.(m.bytes) ?? Promise.resolve()).then(grant, grant);
        return;
      }
      case 'progress':
        p.onProgress?.(m.bytes);
        return;
      case 'stored':
        p.onProgress?.(m.bytes);
        p.stored?.(m.data);
        return;
      case 'done':
        this.settle(m.id);
        p.resolve(m.sha256);
        return;
      case 'failed':
        this.settle(m.id);
        // The error as the thread met it: its code (ENOSPC, EEXIST…) is what the move reports.
        p.reject(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
        return;
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    // An idle thread does not keep the process alive.
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** The thread is gone: every copy it had fails (the mover retries them), the next one starts another. */
  private lost(w: Worker, err: unknown): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    if (this.pending.size > 0) log.error({ err }, 'the copy thread stopped; its copies fail and are retried');
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new FsError('EIO', `the copy thread stopped: ${(err as Error).message ?? String(err)}`));
  }
}
