// Where log lines go: a descriptor (stderr), written asynchronously so that a slow reader
// never stalls the daemon, and flushed at exit within a bound.
//
// pino's own destination (sonic-boom) flushes at exit with a loop that retries a failed
// write forever, a broken pipe too, sleeping between tries: a daemon whose log reader had
// gone (an ssh session closed, a `| tee` killed) then never exited after its unmount, nor
// on SIGTERM, whose handler could no longer run. Here a write that fails for any reason
// but EAGAIN ends the logging, a reader that stops reading costs at most MAX_QUEUED_BYTES
// (the lines past it are counted and said once the reader is back), and the flush at exit
// gives up after FLUSH_AT_EXIT_MS.
import * as fs from 'node:fs';

/** Counted in characters (the lines are JSON, ASCII but for names): about bytes. */
const MAX_QUEUED_BYTES = 16 * 2 ** 20;
const FLUSH_AT_EXIT_MS = 1000;
const RETRY_MS = 100;
const IN_FLIGHT_MS = 20;

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class LogStream {
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  /** A chunk the descriptor refused with EAGAIN, waiting RETRY_MS for its next try (no write under way meanwhile). */
  private retrying: Buffer | undefined;
  /** Its timer: keeps the process alive only while someone waits in flush(). */
  private retryTimer: NodeJS.Timeout | undefined;
  /** A write failed with something other than EAGAIN: nothing more is written. */
  broken = false;
  /** Lines dropped while MAX_QUEUED_BYTES waited, not yet said. */
  private dropped = 0;
  private readonly drained: (() => void)[] = [];

  constructor(private readonly fd: number) {
    process.on('exit', () => this.flushSync());
  }

  write(line: string): boolean {
    if (this.broken) return true;
    if (this.queuedBytes >= MAX_QUEUED_BYTES) {
      this.dropped++;
      return true;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (!this.writing) this.writeNext();
    return true;
  }

  /**
   * Calls back once what was written so far is out (or can never be), and what earlier
   * callbacks wrote; the process waits for it.
   */
  flush(cb: () => void): void {
    if (!this.writing || this.broken) return void cb();
    this.drained.push(cb);
    this.retryTimer?.ref();
  }

  /**
   * At exit, or before a process dies of a signal (no 'exit' then): what is queued,
   * synchronously, for at most FLUSH_AT_EXIT_MS. A write under way in the background is
   * given IN_FLIGHT_MS first (the thread that makes it needs microseconds; its callback
   * cannot run while this one blocks), so that the lines keep their order.
   */
  flushSync(): void {
    const deadline = Date.now() + FLUSH_AT_EXIT_MS;
    if (this.writing && !this.retrying) sleepMs(IN_FLIGHT_MS);
    let chunk = this.take();
    if (this.retrying) {
      // The retried chunk goes now, ahead of the rest; no write is under way after it.
      chunk = Buffer.concat([this.retrying, chunk]);
      clearTimeout(this.retryTimer);
      this.retryTimer = this.retrying = undefined;
      this.writing = false;
    }
    while (chunk.length > 0 && !this.broken && Date.now() < deadline) {
      try {
        chunk = chunk.subarray(fs.writeSync(this.fd, chunk));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') this.broken = true;
        else sleepMs(10);
      }
    }
  }

  private take(): Buffer {
    if (this.dropped > 0) {
      this.queue.push(`${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, msg: `${this.dropped} log lines dropped: the log's reader did not keep up` })}\n`);
      this.dropped = 0;
    }
    const chunk = Buffer.from(this.queue.join(''));
    this.queue = [];
    this.queuedBytes = 0;
    return chunk;
  }

  private writeNext(chunk = this.take()): void {
    if (chunk.length === 0 || this.broken) {
      this.writing = false;
      // One at a time: lines a callback writes (a last word before process.exit in the
      // next) are out before the next one is called, not left to the bounded wait at exit.
      while (this.drained.length > 0 && !this.writing) this.drained.shift()!();
      return;
    }
    this.writing = true;
    fs.write(this.fd, chunk, (err, written) => {
      if (err?.code === 'EAGAIN') {
        // The reader is slow: try again soon, without keeping the process alive for it
        // unless someone waits (at exit, flushSync writes it).
        this.retrying = chunk;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = this.retrying = undefined;
          this.writeNext(chunk);
        }, RETRY_MS);
        if (this.drained.length === 0) this.retryTimer.unref();
        return;
      }
      if (err) this.broken = true;
      const rest = chunk.subarray(written);
      this.writeNext(rest.length > 0 ? rest : this.take());
    });
  }
}
