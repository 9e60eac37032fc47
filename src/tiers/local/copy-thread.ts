// The bytes of a move from one local volume to another are read, hashed, written and
// read back on a thread of their own, at the lowest CPU priority (nice 19): the
// daemon's main thread keeps answering requests while a move runs, and when the two
// cores are wanted by readers of the mount the scheduler runs them first. The
// thread uses synchronous calls, so all of a move's work — the hashing and the
// kernel's copies alike — is done at that priority, not on the shared thread pool.
//
// The thread asks the main thread before each piece (the mover's bandwidth limit is
// one bucket shared by every move) and reports its progress after it. A thread that
// dies fails the copies it had with EIO; the next copy starts another.
//
// Its code is a function turned to text and run as a CommonJS script (eval), with
// Node's own modules only: the same text serves the built daemon and the tests that
// run the sources.
import { Worker } from 'node:worker_threads';
import { FsError } from '../../errors.js';
import { moduleLogger } from '../../log.js';
import type { CopyAttrs } from './copy.js';

const log = moduleLogger('copy-thread');

/** What the main thread asks of the thread. */
type Job =
  | { op: 'copy'; id: number; srcFd: number; size: number; path: string; attrs?: CopyAttrs; throttled: boolean }
  | { op: 'hash'; id: number; path: string };

/** What the thread says back. */
type Reply =
  | { op: 'take'; id: number; bytes: number }
  | { op: 'progress'; id: number; bytes: number }
  | { op: 'done'; id: number; sha256: string }
  | { op: 'failed'; id: number; code?: string; message: string };

// Runs in the thread. Everything it uses is required inside it: it is sent as text.
function threadMain(): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const C = fs.constants;
  const PIECE = 1 << 20;
  const BLOCK = 4096;
  const zeros = Buffer.alloc(BLOCK);
  const buf = Buffer.allocUnsafe(PIECE);
  const port = parentPort!;

  // Linux: a thread is a task with an id of its own, and setpriority on it sets its nice.
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) os.setPriority(tid, 19);
  } catch {
    // Another system, or not allowed: the copy runs at the daemon's priority.
  }

  const granted = new Map<number, () => void>();
  const take = (id: number, bytes: number) =>
    new Promise<void>((resolve) => {
      granted.set(id, resolve);
      port.postMessage({ op: 'take', id, bytes });
    });

  // All of buf[from, to) at pos: a write that meets the end of the space is short, the next fails.
  const writeAll = (fd: number, from: number, to: number, pos: number) => {
    for (let at = from; at < to; ) {
      const n = fs.writeSync(fd, buf, at, to - at, pos + (at - from));
      if (n === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      at += n;
    }
  };

  // Only the 4 KiB blocks that hold anything but zeros are written: holes stay holes.
  const writeData = (fd: number, length: number, pos: number) => {
    let runStart = -1;
    for (let at = 0; at < length; at += BLOCK) {
      const end = Math.min(at + BLOCK, length);
      const empty = buf.compare(zeros, 0, end - at, at, end) === 0;
      if (!empty && runStart < 0) runStart = at;
      if (empty && runStart >= 0) {
        writeAll(fd, runStart, at, pos + runStart);
        runStart = -1;
      }
    }
    if (runStart >= 0) writeAll(fd, runStart, length, pos + runStart);
  };

  const copy = async (job: Extract<Job, { op: 'copy' }>) => {
    const fd = fs.openSync(job.path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    const h = createHash('sha256');
    try {
      for (let offset = 0; offset < job.size; ) {
        const want = Math.min(PIECE, job.size - offset);
        if (job.throttled) await take(job.id, want);
        const n = fs.readSync(job.srcFd, buf, 0, want, offset);
        if (n !== want) throw new Error(`source ended early at ${offset + n} of ${job.size} bytes`);
        h.update(buf.subarray(0, n));
        writeData(fd, n, offset);
        offset += n;
        port.postMessage({ op: 'progress', id: job.id, bytes: offset });
      }
      fs.ftruncateSync(fd, job.size);
      const a = job.attrs;
      if (a) {
        // chown before chmod: chown clears setuid/setgid, and a root-owned setuid copy must never exist.
        fs.fchownSync(fd, a.uid, a.gid);
        fs.fchmodSync(fd, a.mode & 0o7777);
        fs.futimesSync(fd, Number(a.atimeNs) / 1e9, Number(a.mtimeNs) / 1e9);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return h.digest('hex');
  };

  const hash = (path: string) => {
    const fd = fs.openSync(path, C.O_RDONLY | C.O_NOFOLLOW);
    const h = createHash('sha256');
    try {
      for (let offset = 0, n = 0; (n = fs.readSync(fd, buf, 0, PIECE, offset)) > 0; offset += n) h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    return h.digest('hex');
  };

  // Copies that run together take turns by the piece, each awaiting its grant; a hash is
  // synchronous, so it runs whole between two pieces.
  port.on('message', (m: Job | { op: 'granted'; id: number }) => {
    if (m.op === 'granted') {
      const go = granted.get(m.id);
      granted.delete(m.id);
      go?.();
      return;
    }
    const run = async () => {
      try {
        const sha256 = m.op === 'copy' ? await copy(m) : hash(m.path);
        port.postMessage({ op: 'done', id: m.id, sha256 });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        port.postMessage({ op: 'failed', id: m.id, code: e.code, message: e.message });
      }
    };
    void run();
  });
}

interface Pending {
  resolve(sha256: string): void;
  reject(err: Error): void;
  onProgress?: (bytes: number) => void;
  throttle?: (bytes: number) => Promise<void>;
}

export class CopyThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /**
   * Copy the open file srcFd (size bytes) into a new file at path (created 0600, O_EXCL,
   * never through a symlink), writing only blocks that hold data, truncated to size,
   * given attrs, fsync'ed. Resolves with the SHA-256 of what was read from srcFd.
   */
  copy(
    srcFd: number,
    size: number,
    path: string,
    opts: { attrs?: CopyAttrs; onProgress?: (bytes: number) => void; throttle?: (bytes: number) => Promise<void> } = {},
  ): Promise<string> {
    return this.run({ op: 'copy', id: 0, srcFd, size, path, attrs: opts.attrs, throttled: !!opts.throttle }, opts);
  }

  /** The SHA-256 of the file at path (not followed if a symlink). */
  hash(path: string): Promise<string> {
    return this.run({ op: 'hash', id: 0, path }, {});
  }

  /** Tests: the thread dies as a crash would end it. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private run(job: Job, how: Omit<Pending, 'resolve' | 'reject'>): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...how });
      const w = this.thread();
      w.ref();
      w.postMessage({ ...job, id });
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(`(${threadMain.toString()})()`, { eval: true });
    w.on('message', (m: Reply) => this.heard(w, m));
    w.on('error', (err) => this.lost(w, err));
    w.on('exit', (code) => this.lost(w, new Error(`it exited (code ${code})`)));
    this.worker = w;
    return w;
  }

  private heard(w: Worker, m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.op) {
      case 'take':
        // A throttle that fails (it does not) must not leave the thread waiting for ever.
        void (p.throttle?.(m.bytes) ?? Promise.resolve()).finally(() => w.postMessage({ op: 'granted', id: m.id }));
        return;
      case 'progress':
        p.onProgress?.(m.bytes);
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
  private lost(w: Worker, err: Error): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    if (this.pending.size > 0) log.error({ err }, 'the copy thread stopped; its copies fail and are retried');
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new FsError('EIO', `the copy thread stopped: ${err.message}`));
  }
}
