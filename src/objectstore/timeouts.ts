// Bounds on every request to a cloud, so that a stalled connection fails instead of
// blocking a FUSE read forever. A request must get the start of its answer within
// `connect + firstByte` (the connection opened, the request sent, the server thought);
// a body must not stand still longer than `idle`. Each adapter wraps each request in a
// RequestWatch, which owns the AbortSignal the SDK gets and aborts it when a bound
// passes, when the caller's signal aborts, or when the retry deadline passes while
// the request still waits for its answer. The watch also races the SDK's promise, so
// an SDK that ignores the signal cannot hang the call either.
//
// Where an SDK has socket-level timeouts of its own (the S3 client's connection and
// socket timeouts) the adapter sets them too: they bound what the watch cannot see,
// the parts of an upload in flight inside the SDK.
import { Readable } from 'node:stream';
import { DeadlineExceededError, RequestTimeoutError } from './errors.js';

export interface RequestTimeouts {
  /** Milliseconds to open a connection (TCP and TLS). */
  connect: number;
  /** Milliseconds from the request sent to the first byte of its answer. */
  firstByte: number;
  /** Milliseconds a body, going up or coming down, may stand still. */
  idle: number;
}

/** For adapters made without a configuration (benchmarks); the same as the configuration's defaults. */
export const DEFAULT_TIMEOUTS: RequestTimeouts = { connect: 10_000, firstByte: 30_000, idle: 30_000 };

// The reasons a watch rethrew because its caller aborted: adapters pass these through
// unchanged instead of classing them as cloud errors.
const callerAborts = new WeakSet<object>();

/** True for an error that is the abort reason of the caller's signal, rethrown as given. */
export function isCallerAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && callerAborts.has(err);
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(reason === undefined ? 'The operation was aborted' : String(reason), 'AbortError');
}

/** One request, from sending it to the end of its answer's body. */
export class RequestWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private timerPhase: 'answer' | 'body' = 'answer';
  private upload: 'reported' | 'unreported' | undefined;
  private awaitingFirstChunk = false;
  private phase: 'answer' | 'body' | 'done' = 'answer';
  private failure: Error | undefined;
  private onFailure: ((err: Error) => void) | undefined;
  private readonly detach: () => void = () => undefined;

  constructor(
    private readonly timeouts: RequestTimeouts,
    private readonly what: string,
    private readonly outer?: AbortSignal,
  ) {
    if (outer?.aborted) {
      this.outerAborted();
    } else if (outer) {
      const listener = () => this.outerAborted();
      outer.addEventListener('abort', listener, { once: true });
      this.detach = () => outer.removeEventListener('abort', listener);
    }
  }

  /** The signal to hand the SDK: aborted when this request must end. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * The SDK's promise of an answer, or the failure when it does not come in time or
   * the request is aborted. A request that carries a body says how its upload shows:
   * 'reported' when the adapter calls progress() as bytes go out (each call starts the
   * answer's timer again), 'unreported' when the SDK tells nothing (then only the
   * signals and the SDK's own socket timeouts bound it). The retry deadline does not
   * end an upload: its time depends on its size, not on the store's health.
   */
  async response<T>(start: (signal: AbortSignal) => Promise<T>, opts: { upload?: 'reported' | 'unreported' } = {}): Promise<T> {
    if (this.failure) throw this.failure;
    this.upload = opts.upload;
    if (opts.upload !== 'unreported') this.arm(this.timeouts.connect + this.timeouts.firstByte, 'answer');
    let fail!: (err: Error) => void;
    const failed = new Promise<never>((_, reject) => { fail = reject; });
    this.onFailure = fail;
    try {
      return await Promise.race([start(this.controller.signal), failed]);
    } catch (err) {
      // Whatever the SDK made of our abort, the reason is ours.
      throw this.failure ?? err;
    } finally {
      this.onFailure = undefined;
      this.disarm();
    }
  }

  /** Upload progress: the request is alive, its answer timer starts again. */
  progress(): void {
    if (this.phase === 'answer' && this.timer) this.arm(Math.max(this.timeouts.idle, this.timeouts.firstByte), 'answer');
  }

  /**
   * The answer's body, failing when it stands still for `idle` (only while its reader
   * wants more: a slow reader is not a stalled server). With `awaitingAnswer`, the
   * source is a stream whose request has not been answered yet (GCS media reads): its
   * first chunk gets the answer's bound instead.
   */
  body(source: Readable, opts: { awaitingAnswer?: boolean } = {}): Readable {
    if (this.failure) {
      source.destroy();
      throw this.failure;
    }
    this.phase = 'body';
    this.awaitingFirstChunk = opts.awaitingAnswer === true;
    const rearm = () => {
      if (this.awaitingFirstChunk) this.arm(this.timeouts.connect + this.timeouts.firstByte, 'answer');
      else this.arm(this.timeouts.idle, 'body');
    };
    const out = new Readable({
      highWaterMark: source.readableHighWaterMark,
      read: () => {
        rearm();
        source.resume();
      },
      destroy: (err, done) => {
        this.done();
        if (!source.destroyed) source.destroy();
        done(err);
      },
    });
    this.onFailure = (err) => {
      source.destroy();
      out.destroy(err);
    };
    source.on('data', (chunk: Buffer) => {
      this.awaitingFirstChunk = false;
      if (out.push(chunk)) rearm();
      else {
        this.disarm();
        source.pause();
      }
    });
    source.once('end', () => {
      this.done();
      out.push(null);
    });
    source.once('error', (err) => {
      const failure = this.failure ?? err;
      this.done();
      out.destroy(failure);
    });
    source.pause();
    return out;
  }

  /** The request is over: no timer, no listener on the caller's signal. */
  done(): void {
    this.phase = 'done';
    this.disarm();
    this.detach();
  }

  private outerAborted(): void {
    const reason = abortReason(this.outer!);
    // The retry deadline ends waiting, not a transfer: the timeouts bound a stalled one.
    const waiting = (this.phase === 'answer' && !this.upload) || (this.phase === 'body' && this.awaitingFirstChunk);
    if (reason instanceof DeadlineExceededError && !waiting) return;
    if (!(reason instanceof DeadlineExceededError)) callerAborts.add(reason);
    this.fail(reason);
  }

  private arm(ms: number, phase: 'answer' | 'body'): void {
    if (this.phase === 'done' || this.failure) return;
    if (this.timer && this.timerMs === ms && this.timerPhase === phase) {
      this.timer.refresh();
      return;
    }
    this.disarm();
    this.timerMs = ms;
    this.timerPhase = phase;
    this.timer = setTimeout(() => this.fail(new RequestTimeoutError(phase, ms, this.what)), ms);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fail(err: Error): void {
    if (this.failure || this.phase === 'done') return;
    this.failure = err;
    this.disarm();
    this.controller.abort(err);
    this.onFailure?.(err);
  }
}

/** One request with no body to read afterwards (head, delete, a listing page, a small put). */
export async function watched<T>(
  timeouts: RequestTimeouts,
  what: string,
  signal: AbortSignal | undefined,
  start: (signal: AbortSignal) => Promise<T>,
  opts: { upload?: 'reported' | 'unreported' } = {},
): Promise<T> {
  const watch = new RequestWatch(timeouts, what, signal);
  try {
    return await watch.response(start, opts);
  } finally {
    watch.done();
  }
}

/** Runs `call` with `signal`'s abort passed on to `target`, for an SDK object that took its signal earlier. */
export async function forwardAbort<T>(signal: AbortSignal, target: AbortController, call: () => Promise<T>): Promise<T> {
  const forward = () => target.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  try {
    return await call();
  } finally {
    signal.removeEventListener('abort', forward);
  }
}
