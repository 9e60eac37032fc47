// Periodic work of the daemon (classification, garbage collection, the mover's queue)
// run so that a failure never escapes: each run is awaited, its error caught, counted
// and logged, and the next run waits longer while the failures go on (a volume that
// disappeared must not be hammered, nor fill the log). Runs of one task never overlap:
// the next is scheduled only when the previous has settled.
import type { Logger } from 'pino';
import { moduleLogger } from './log.js';

const defaultLog = moduleLogger('background');

/** What `tierfs status --json` shows of a task. */
export interface BackgroundTaskStatus {
  name: string;
  intervalMs: number;
  /** runs finished since start, failed or not */
  runs: number;
  /** failed runs since start */
  failures: number;
  /** failed runs since the last success */
  consecutiveFailures: number;
  failing: boolean;
  lastError: string | null;
  lastFailureAt: string | null;
  lastSuccessAt: string | null;
  /** the wait after the last run: the interval, longer while failing */
  nextDelayMs: number;
}

export interface BackgroundTaskOptions {
  intervalMs: number;
  /** the longest wait between failing runs (default 5 min, never below the interval) */
  maxBackoffMs?: number;
  log?: Logger;
}

const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The wait before the next run after `consecutiveFailures` failures in a row. */
export function backoffDelay(intervalMs: number, consecutiveFailures: number, maxBackoffMs = DEFAULT_MAX_BACKOFF_MS): number {
  const cap = Math.max(intervalMs, maxBackoffMs);
  return Math.min(cap, intervalMs * 2 ** Math.min(consecutiveFailures, 30));
}

export class BackgroundTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** kick() arrived while a run was under way: run again as soon as it ends */
  private again = false;
  /** the failure last logged in the current streak: a repeat of it is not logged again */
  private loggedFailure: string | undefined;
  private readonly log: Logger;
  private readonly maxBackoffMs: number;

  private runs = 0;
  private failures = 0;
  private consecutiveFailures = 0;
  private lastError: string | null = null;
  private lastFailureAt: Date | null = null;
  private lastSuccessAt: Date | null = null;
  private nextDelayMs: number;

  constructor(
    readonly name: string,
    private readonly body: () => unknown,
    private readonly opts: BackgroundTaskOptions,
  ) {
    this.log = opts.log ?? defaultLog;
    this.maxBackoffMs = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.nextDelayMs = opts.intervalMs;
  }

  /** First run after the interval (or at once with `now`), then every interval. */
  start(opts: { now?: boolean } = {}): void {
    this.stopped = false;
    this.schedule(opts.now ? 0 : this.opts.intervalMs);
  }

  /**
   * Run soon: there is new work. A run under way is followed by another; a task that
   * is failing keeps its back-off (new work does not cure a missing volume).
   */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.consecutiveFailures > 0) return;
    this.schedule(0);
  }

  /** No more runs; resolves once a run under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  status(): BackgroundTaskStatus {
    return {
      name: this.name,
      intervalMs: this.opts.intervalMs,
      runs: this.runs,
      failures: this.failures,
      consecutiveFailures: this.consecutiveFailures,
      failing: this.consecutiveFailures > 0,
      lastError: this.lastError,
      lastFailureAt: this.lastFailureAt?.toISOString() ?? null,
      lastSuccessAt: this.lastSuccessAt?.toISOString() ?? null,
      nextDelayMs: this.nextDelayMs,
    };
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        const rerun = this.again && this.consecutiveFailures === 0;
        this.again = false;
        this.schedule(rerun ? 0 : this.nextDelayMs);
      });
    }, delayMs);
  }

  /** One run; never rejects. */
  private async runOnce(): Promise<void> {
    try {
      await this.body();
      this.succeeded();
    } catch (err) {
      this.failed(err);
    } finally {
      this.runs++;
    }
  }

  private succeeded(): void {
    if (this.consecutiveFailures > 0) {
      this.log.info({ task: this.name, failedRuns: this.consecutiveFailures, lastError: this.lastError }, 'background task recovered');
    }
    this.consecutiveFailures = 0;
    this.loggedFailure = undefined;
    this.lastSuccessAt = new Date();
    this.nextDelayMs = this.opts.intervalMs;
  }

  private failed(err: unknown): void {
    this.failures++;
    this.consecutiveFailures++;
    this.lastError = messageOf(err);
    this.lastFailureAt = new Date();
    this.nextDelayMs = backoffDelay(this.opts.intervalMs, this.consecutiveFailures, this.maxBackoffMs);
    const fields = { task: this.name, err, failedRuns: this.consecutiveFailures, retryInMs: this.nextDelayMs };
    if (this.lastError !== this.loggedFailure) {
      this.loggedFailure = this.lastError;
      this.log.error(fields, 'background task failing; retrying with back-off');
    } else {
      this.log.debug(fields, 'background task still failing');
    }
  }
}
