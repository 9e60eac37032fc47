// The background mover: runs the persistent move queue (it survives restarts, being a
// catalog table) through the journaled protocol, within a bandwidth limit, a
// concurrency limit and the schedule windows, pausing automatic moves while the
// mount is busy, and retrying files that were busy or changed. Manual requests
// (priority 0) run first and ignore windows and foreground load.
import { BackgroundTask } from '../background-task.js';
import type { Catalog, QueueEntry } from '../catalog/catalog.js';
import type { MoverConfig } from '../config/policy.js';
import { moduleLogger } from '../log.js';
import { FsError } from '../errors.js';
import type { MoveOutcome, MoveProtocol } from './protocol.js';
import { inWindow } from './windows.js';

const log = moduleLogger('background-mover');

/**
 * Failures that waiting does not cure: the file is gone (ENOENT), pinned elsewhere
 * (EPERM), not a file (EISDIR), or the tier is unknown (EINVAL). The entry is
 * dropped (the classifier asks again if the file still needs to move); anything else
 * — no room yet, a busy or changed file, an unreachable store — is retried.
 */
const PERMANENT = new Set(['ENOENT', 'EPERM', 'EISDIR', 'EINVAL']);

/** Automatic moves that found their file busy or failed are retried this often, with growing waits. */
const MAX_ATTEMPTS = 5;

export interface BackgroundMoverDeps {
  catalog: Catalog;
  protocol: MoveProtocol;
  config: MoverConfig;
  /** foreground operations per second on the mount, now */
  foregroundRate(): number;
  /** Why an open file cannot move now, or null (Vfs.openHold). */
  openHold(ino: number): string | null;
}

type Waiter = (r: MoveOutcome & { error?: string }) => void;

export class BackgroundMover {
  private readonly running = new Map<number, number>(); // queue id → ino, in flight
  private readonly waiters = new Map<number, Waiter[]>(); // by ino
  /** why automatic moves are held back right now, for status */
  heldBack: string | null = null;
  /** why running moves go slower than the bandwidth allows (the pace: mover/foreground.ts), or null */
  slowedBy: string | null = null;
  /** an operator paused the mover (the dashboard): nothing new starts, moves in flight finish */
  paused = false;
  /**
   * The look at the queue, every second and whenever kicked: a catalog that fails (a
   * full disk) is counted and retried with back-off instead of ending the loop.
   */
  readonly task: BackgroundTask;

  constructor(private readonly d: BackgroundMoverDeps) {
    this.task = new BackgroundTask('mover', () => this.tick(), { intervalMs: 1000 });
  }

  start(): void {
    this.task.start({ now: true });
  }

  /** Stop taking work; wait up to waitMs for moves in flight (an unfinished one is undone at the next mount). */
  async stop(waitMs = 5000): Promise<void> {
    await this.task.stop();
    for (const end = Date.now() + waitMs; this.running.size > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  }

  /** Resolves when the queued move of ino has run (or failed). */
  waitFor(ino: number): Promise<MoveOutcome & { error?: string }> {
    return new Promise((resolve) => {
      const list = this.waiters.get(ino) ?? [];
      list.push(resolve);
      this.waiters.set(ino, list);
      this.kick();
    });
  }

  /** Look at the queue now (new work, or a slot freed). */
  kick(): void {
    this.task.kick();
  }

  /**
   * Take a queued move off the queue before it starts; whoever waits for it hears it was
   * cancelled. One that runs has journaled its intent: it finishes (or is undone) as usual.
   */
  cancel(id: number): { ino: number } {
    if (this.running.has(id)) throw new FsError('EBUSY', `move ${id} is running: it can no longer be cancelled`);
    const entry = this.d.catalog.queuedMoves(1_000_000).find((e) => e.id === id);
    if (!entry) throw new FsError('ENOENT', `no queued move ${id}`);
    this.d.catalog.dequeue(id);
    this.settle(entry.ino, { id: 0, state: 'aborted', bytes: 0, error: 'cancelled by an operator' });
    return { ino: entry.ino };
  }

  /** Run a queued move next: it becomes a manual one (priority 0: ahead of automatic moves, any time). */
  runFirst(id: number): { ino: number; toTier: string } {
    const entry = this.d.catalog.queuedMoves(1_000_000).find((e) => e.id === id);
    if (!entry) throw new FsError('ENOENT', `no queued move ${id}`);
    this.d.catalog.enqueueMove({ ino: entry.ino, toTier: entry.toTier, priority: 0, requestedBy: 'dashboard', reason: `put first by an operator (${entry.reason})` });
    this.kick();
    return { ino: entry.ino, toTier: entry.toTier };
  }

  private tick(): void {
    const now = Date.now();
    if (this.paused) {
      this.heldBack = 'the mover is paused (tierfs dashboard: resume it)';
      return;
    }
    const busy = this.d.foregroundRate() > this.d.config.busyOpsPerSecond && this.d.config.busyOpsPerSecond > 0;
    this.heldBack = null;
    const inFlightInos = new Set(this.running.values());
    for (const e of this.d.catalog.runnableMoves(now)) {
      if (this.running.size >= this.d.config.concurrency) break;
      if (this.running.has(e.id) || inFlightInos.has(e.ino)) continue;
      const manual = e.priority === 0;
      if (!manual && !this.d.config.enabled) continue;
      if (!manual && busy) {
        this.heldBack = `the mount is busy (${this.d.foregroundRate().toFixed(0)} ops/s > ${this.d.config.busyOpsPerSecond})`;
        break;
      }
      if (!manual && !inWindow(this.d.config.windows, e.toTier, new Date(now))) {
        this.heldBack = `outside the schedule window for ${e.toTier}`;
        continue;
      }
      const open = this.d.openHold(e.ino);
      if (open) {
        this.d.catalog.deferMove(e.id, now + this.d.config.retryDelay, open);
        continue;
      }
      this.run(e);
    }
    // The task comes back every second for deferred entries, windows opening, or load dropping.
  }

  private run(e: QueueEntry): void {
    this.running.set(e.id, e.ino);
    this.runOne(e)
      .catch((err: unknown) => {
        // The outcome could not be written to the queue (the catalog failed): the entry
        // stays and runs again; whoever waits hears of the failure rather than hanging.
        log.error({ err, ino: e.ino, to: e.toTier }, 'could not record the outcome of a move');
        this.settle(e.ino, { id: 0, state: 'aborted', bytes: 0, error: `could not record the outcome: ${(err as Error).message}` });
      })
      .finally(() => {
        this.running.delete(e.id);
        this.kick();
      });
  }

  private async runOne(e: QueueEntry): Promise<void> {
    let outcome: MoveOutcome & { error?: string };
    let permanent = false;
    let noRoom = false;
    try {
      outcome = await this.d.protocol.move(e.ino, e.toTier, e.requestedBy);
    } catch (err) {
      outcome = { id: 0, state: 'aborted', bytes: 0, error: (err as Error).message };
      const code = (err as { code?: string }).code ?? '';
      permanent = PERMANENT.has(code);
      noRoom = code === 'ENOSPC';
    }
    const retry = outcome.state === 'aborted' && !permanent && e.priority !== 0;
    if (retry && noRoom) {
      // The classifier counted this move into room that moves queued ahead of it are
      // making (they may still run); it drops the move itself if that room never comes.
      // Dropping it here after a few tries would let the files that made the room take
      // it back, and the next pass make it again.
      this.d.catalog.deferMove(e.id, Date.now() + this.d.config.retryDelay, outcome.error ?? 'no room yet');
    } else if (retry && e.attempts < MAX_ATTEMPTS) {
      // Busy or changed: the file is in use, which is a reason to wait, not to give up.
      this.d.catalog.deferMove(e.id, Date.now() + this.d.config.retryDelay * 2 ** e.attempts, outcome.reason ?? outcome.error ?? 'aborted');
    } else if (!this.d.catalog.dequeueIf(e)) {
      // Another request for this file replaced the entry while it ran: that one still
      // has to run, and its waiters want its outcome, not this one's.
      return;
    } else if (outcome.error) log.warn({ ino: e.ino, to: e.toTier, error: outcome.error }, 'move failed');
    this.settle(e.ino, outcome);
  }

  private settle(ino: number, outcome: MoveOutcome & { error?: string }): void {
    for (const w of this.waiters.get(ino) ?? []) w(outcome);
    this.waiters.delete(ino);
  }
}
