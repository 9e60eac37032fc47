// The digests of an object tier's cells — the CRC-32s the layout records (the cell's and
// its blocks'), and what a put sends with the body: MD5 (Content-MD5), SHA-256 (the
// signature's payload hash), CRC-32 (S3's flexible checksum) — computed on a thread of
// their own when the body lives in shared memory, as cells do (ec/alloc.ts): the thread
// reads the cell where it is, and the event loop does not spend the ~20 ms that hashing
// an 8 MiB cell takes while the mount's requests wait (DESIGN: bulk bytes off the event
// loop). Any other body is digested inline, as is every body while the thread is down: a
// thread that fails or dies costs its digests a second computation here, never a put.
//
// A file's SHA-256, which runs over all its bytes in order, is computed there too
// (sha256InOrder): the thread keeps the running hash, and each piece is read where it is.
// That state dies with the thread, so such a hash fails (and the write with it, to be
// tried again) when the thread ends before its digest; it is never made up from part of
// the bytes.
import type { Worker } from 'node:worker_threads';
import { evalWorker } from '../eval-worker.js';
import { createHash } from 'node:crypto';
import { addonPath } from '../ec/native.js';
import { crc32 } from '../ec/crc32.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('digest-thread');

export type DigestName = 'md5' | 'sha256' | 'crc32' | 'blockCrc32';

export interface Digests {
  /** in base64, as Content-MD5 takes it */
  md5?: string;
  /** hex, as SigV4's x-amz-content-sha256 takes it */
  sha256?: string;
  /** the CRC-32 as an unsigned number */
  crc32?: number;
  /** the CRC-32 of each blockSize bytes in turn, as 8 hex digits each (an object tier's block checksums) */
  blockCrc32?: string;
}

interface Job {
  op: 'digests';
  id: number;
  memory: SharedArrayBuffer;
  offset: number;
  length: number;
  want: DigestName[];
  blockSize: number;
}

/** A running SHA-256 on the thread: begun, fed pieces in order (each answered), ended (answered with the hex digest) or dropped. */
type HashJob =
  | { op: 'begin' | 'drop'; hash: number }
  | { op: 'update'; id: number; hash: number; memory: SharedArrayBuffer; offset: number; length: number }
  | { op: 'end'; id: number; hash: number };

type Reply = { id: number; digests: Digests } | { id: number; hex?: string } | { id: number; error: string };

/** A SHA-256 of bytes given in order, computed on the digest thread. */
export interface RunningHash {
  /** Hashes view after those given before; resolves once hashed (until then view must not change). */
  update(view: Uint8Array): Promise<void>;
  /** The hex digest of everything given; the hash is done with. */
  digest(): Promise<string>;
  /** The hash is not needed any more (a write that failed). */
  drop(): void;
}

/**
 * The digests of body, computed by the thread that calls it: the digest thread (its text
 * goes with the thread's) or, inline, the main thread. What it uses comes as arguments.
 */
function computeDigests(body: Uint8Array, want: readonly DigestName[], blockSize: number, hash: typeof createHash, crc: (data: Uint8Array) => number): Digests {
  const digests: Digests = {};
  if (want.includes('md5')) digests.md5 = hash('md5').update(body).digest('base64');
  if (want.includes('sha256')) digests.sha256 = hash('sha256').update(body).digest('hex');
  if (want.includes('crc32')) digests.crc32 = crc(body);
  if (want.includes('blockCrc32')) {
    let hex = '';
    for (let at = 0; at < body.length; at += blockSize) hex += crc(body.subarray(at, at + blockSize)).toString(16).padStart(8, '0');
    digests.blockCrc32 = hex;
  }
  return digests;
}

// Runs in the thread. Everything it uses is required inside it: it is sent as text.
function threadMain(): void {
  const { createHash: hash } = require('node:crypto') as typeof import('node:crypto');
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  // the addon's CRC-32 (ec/crc32.ts), which this thread loads for itself
  const { crc32: crc } = require((workerData as { addonPath: string }).addonPath) as { crc32(data: Uint8Array): number };
  const running = new Map<number, ReturnType<typeof hash>>();
  parentPort!.on('message', (job: Job | HashJob) => {
    try {
      switch (job.op) {
        case 'digests':
          return parentPort!.postMessage({ id: job.id, digests: computeDigests(new Uint8Array(job.memory, job.offset, job.length), job.want, job.blockSize, hash, crc) });
        case 'begin':
          return void running.set(job.hash, hash('sha256'));
        case 'drop':
          return void running.delete(job.hash);
        case 'update':
        case 'end': {
          const h = running.get(job.hash);
          if (!h) throw new Error(`no running hash ${job.hash} on this thread`);
          if (job.op === 'update') return (h.update(new Uint8Array(job.memory, job.offset, job.length)), parentPort!.postMessage({ id: job.id }));
          running.delete(job.hash);
          return parentPort!.postMessage({ id: job.id, hex: h.digest('hex') });
        }
      }
    } catch (err) {
      if ('id' in job) parentPort!.postMessage({ id: job.id, error: (err as Error).message });
    }
  });
}

/** The digests computed on the calling thread. */
export function digestsInline(body: Uint8Array, want: readonly DigestName[], blockSize = 0): Digests {
  return computeDigests(body, want, blockSize, createHash, crc32);
}

interface Pending {
  body: Uint8Array;
  want: DigestName[];
  blockSize: number;
  resolve(d: Digests): void;
}

export class DigestThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  /** answers owed to running hashes (sha256InOrder) */
  private readonly hashing = new Map<number, { resolve(m: { hex?: string }): void; reject(err: Error): void }>();
  private nextId = 1;
  /** digests the thread computed, and those computed inline because it could not */
  readonly counts = { threaded: 0, inline: 0 };

  /**
   * The digests of body: on the thread when body is shared memory, else here. The body
   * must not change until they are given. blockSize: of blockCrc32's blocks.
   */
  digests(body: Uint8Array, want: DigestName[], blockSize = 0): Promise<Digests> {
    if (want.includes('blockCrc32') && !(blockSize > 0)) throw new RangeError('blockCrc32 needs a blockSize');
    if (!(body.buffer instanceof SharedArrayBuffer) || want.length === 0) return Promise.resolve(this.inline({ body, want, blockSize }));
    const id = this.nextId++;
    const worker = this.thread();
    return new Promise<Digests>((resolve) => {
      this.pending.set(id, { body, want, blockSize, resolve });
      // Held while digests are owed: a process with nothing else to do waits for them.
      worker.ref();
      const job: Job = { op: 'digests', id, memory: body.buffer as SharedArrayBuffer, offset: body.byteOffset, length: body.length, want, blockSize };
      worker.postMessage(job);
    });
  }

  /** A SHA-256 of bytes given in order, on the thread: it fails if the thread ends before its digest. */
  sha256InOrder(): RunningHash {
    const worker = this.thread();
    const hash = this.nextId++;
    worker.postMessage({ op: 'begin', hash } satisfies HashJob);
    const ask = (job: { op: 'update'; memory: SharedArrayBuffer; offset: number; length: number } | { op: 'end' }) => {
      if (this.worker !== worker) return Promise.reject(new Error('the digest thread ended while it hashed this file'));
      const id = this.nextId++;
      return new Promise<{ hex?: string }>((resolve, reject) => {
        this.hashing.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ ...job, id, hash } satisfies HashJob);
      });
    };
    return {
      update: async (view) => {
        // Bytes not in shared memory (never the writer's shards) go over as a shared copy.
        const shared = view.buffer instanceof SharedArrayBuffer ? view : new Uint8Array(new SharedArrayBuffer(view.length));
        if (shared !== view) shared.set(view);
        await ask({ op: 'update', memory: shared.buffer as SharedArrayBuffer, offset: shared.byteOffset, length: shared.length });
      },
      digest: async () => (await ask({ op: 'end' })).hex!,
      drop: () => {
        if (this.worker === worker) worker.postMessage({ op: 'drop', hash } satisfies HashJob);
      },
    };
  }

  /** Tests: the thread dies as a crash would end it. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private inline(p: Omit<Pending, 'resolve'>): Digests {
    this.counts.inline++;
    return digestsInline(p.body, p.want, p.blockSize);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w: Worker = evalWorker<Reply>(threadMain, { addonPath }, { message: (m) => this.heard(w, m), lost: (err) => this.lost(w, err) }, {
      helpers: [computeDigests],
      // Its work is the mover's (cells of moves to cold, their puts): the mount's requests first.
      lowestPriority: true,
    });
    this.worker = w;
    return w;
  }

  private heard(w: Worker, m: Reply): void {
    const h = this.hashing.get(m.id);
    const p = this.pending.get(m.id);
    this.hashing.delete(m.id);
    this.pending.delete(m.id);
    if (this.pending.size === 0 && this.hashing.size === 0) w.unref();
    if (h) return 'error' in m ? h.reject(new Error(`the digest thread could not hash a file: ${m.error}`)) : h.resolve(m as { hex?: string });
    if (!p) return;
    if ('error' in m) {
      log.warn({ err: m.error }, 'the digest thread failed a body; digesting it on the main thread');
      return p.resolve(this.inline(p));
    }
    this.counts.threaded++;
    p.resolve((m as { digests: Digests }).digests);
  }

  /** The thread is gone: what it owed is computed here, and the next body starts another. */
  private lost(w: Worker, err: unknown): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    if (this.pending.size > 0) log.warn({ err, owed: this.pending.size }, 'the digest thread ended; digesting its bodies on the main thread');
    const owed = [...this.pending.values()];
    this.pending.clear();
    for (const p of owed) p.resolve(this.inline(p));
    const hashes = [...this.hashing.values()];
    this.hashing.clear();
    for (const h of hashes) h.reject(new Error(`the digest thread ended while it hashed a file: ${(err as Error).message ?? err}`));
  }
}

/** The process's one digest thread. */
export const digestThread = new DigestThread();
