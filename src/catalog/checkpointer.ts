// WAL checkpoints off the daemon's JavaScript thread.
//
// SQLite copies the write-ahead log back into the catalog file (a checkpoint) in the
// commit that takes the log past 1,000 pages, on the thread that commits: for the daemon
// that is the one thread that answers the mount, and a checkpoint writes a thousand pages
// scattered over the file and syncs it (1.4 s of the 3.2 s that thread spent in COMMIT
// while eight writers made 12,000 small files, measured by profile). Here a worker thread
// with its own connection checkpoints instead, at most once a second while commits come
// (PASSIVE: it never waits for, nor blocks, the daemon's transactions), and the daemon's
// connection makes none. What a crash can lose does not change: a checkpoint only copies
// what the log already holds, and either copy is read the same.
//
// If the worker cannot run (it fails to open the catalog, or dies), the catalog's own
// checkpoints come back (`fallBack`), so the log never grows without bound.
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { evalWorker } from '../eval-worker.js';

/** Checkpoints at most this often: SQLite's own come every 1,000 pages, a second of many creates. */
const INTERVAL_MS = 1000;
const POLL_MS = 200;
/** How long close waits for a checkpoint under way to finish. */
const STOP_MS = 5000;

function workerMain(): void {
  // Runs in the worker, as eval'd source: everything it needs is required here.
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  const Database = require(workerData.sqlite) as typeof import('better-sqlite3');
  const { path, intervalMs, pollMs, stopped } = workerData as { path: string; intervalMs: number; pollMs: number; stopped: Int32Array };
  const db = new Database(path, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  let lastMtime = 0;
  let lastMs = 0;
  const timer = setInterval(() => {
    let mtime: number;
    try {
      mtime = fs.statSync(`${path}-wal`).mtimeMs;
    } catch {
      return; // no log (yet): nothing to copy
    }
    // Whatever was committed since the last checkpoint (the log written: its size says
    // nothing, since it is written again from its start after a complete checkpoint), at
    // most once an interval, so that a checkpoint copies many commits' pages at once.
    if (mtime === lastMtime || Date.now() - lastMs < intervalMs) return;
    lastMtime = mtime;
    lastMs = Date.now();
    db.pragma('wal_checkpoint(PASSIVE)');
  }, pollMs);
  parentPort!.on('message', () => {
    clearInterval(timer);
    db.close();
    Atomics.store(stopped, 0, 1);
    Atomics.notify(stopped, 0);
    parentPort!.close();
  });
}

export class Checkpointer {
  private readonly worker: Worker;
  private readonly stopped = new Int32Array(new SharedArrayBuffer(4));
  private closing = false;
  private exited = false;

  /** `fallBack` is called once if the worker cannot checkpoint: the catalog's connection must do it again. */
  constructor(path: string, fallBack: (err: Error) => void) {
    let fellBack = false;
    const workerData = { path, sqlite: createRequire(import.meta.url).resolve('better-sqlite3'), intervalMs: INTERVAL_MS, pollMs: POLL_MS, stopped: this.stopped };
    this.worker = evalWorker(workerMain, workerData, {
      lost: (err, exited) => {
        if (exited) this.exited = true;
        if (fellBack || this.closing) return;
        fellBack = true;
        // SQLite's errors cross from the thread as their code alone.
        fallBack(err instanceof Error ? err : new Error(`the checkpoint thread failed: ${(err as { code?: string } | null)?.code ?? String(err)}`));
      },
    });
    this.worker.unref();
  }

  /** Stops the worker, after a checkpoint under way (at most STOP_MS); its connection is closed. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.exited) return;
    this.worker.postMessage('stop');
    Atomics.wait(this.stopped, 0, 0, STOP_MS);
    void this.worker.terminate();
  }
}
