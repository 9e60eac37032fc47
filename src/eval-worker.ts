// A worker thread whose code is a function of ours turned to text and run as a CommonJS
// script (eval), with Node's own modules and what workerData names: the same text serves
// the built daemon and the tests that run the sources, where a file of its own would not
// (the tests have no built file to start). Everything the function uses is required
// inside it, or given by the functions in `helpers`, whose text goes before it (named
// function declarations that use only their arguments); what it posts arrives through
// `message`.
//
// `lost` is called when the thread fails or ends, with whether it has exited (a thread
// that failed exits right after, and `lost` is called again then): callers that owe work
// to the thread drop it at the first call.
import { Worker } from 'node:worker_threads';

export interface EvalWorkerHandlers<M> {
  message?(m: M): void;
  lost(err: unknown, exited: boolean): void;
}

export interface EvalWorkerOptions {
  /** functions whose text goes before main's, which it may call by name */
  helpers?: ((...args: never[]) => unknown)[];
  /** the thread runs at the lowest CPU priority (nice 19): its work must yield to the mount's requests */
  lowestPriority?: boolean;
}

export function evalWorker<M>(main: () => void, workerData: unknown, on: EvalWorkerHandlers<M>, opts: EvalWorkerOptions = {}): Worker {
  const text = [...(opts.helpers ?? []).map((f) => f.toString()), ...(opts.lowestPriority ? [`(${lowestPriority.toString()})()`] : []), `(${main.toString()})()`];
  const w = new Worker(text.join(';\n'), { eval: true, workerData });
  if (on.message) w.on('message', on.message);
  w.on('error', (err) => on.lost(err, false));
  w.on('exit', (code) => on.lost(new Error(`it exited (code ${code})`), true));
  return w;
}

/**
 * Run first in a thread started with lowestPriority: the thread's nice to 19 (Linux: a
 * thread is a task with an id of its own, and setpriority on it sets its nice).
 * Elsewhere, or where not allowed, the thread runs at the daemon's priority.
 */
function lowestPriority(): void {
  try {
    const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) require('node:os').setPriority(tid, 19);
  } catch {
    // as said
  }
}
