// Group commit: the catalog changes of the requests handled close together go into one
// transaction, so a burst of creates writes the WAL once instead of once per request
// (and pages changed again and again, the directory's row, the tier's usage, the
// indexes' last leaves, are written once). A group opens with the first change and
// commits `delayMs` later (catalog.commitDelay), or at the end of the current turn of
// the event loop as soon as a request waits for it. Who answers a request decides
// whether to wait for settled() first (fuse/adapter.ts): a change only the catalog holds
// is answered once committed; one the tier holds too (a new file, its bytes) at once,
// since the next mount's reconcile finds it there should the daemon die before the
// commit. Whatever runs while a group is open joins it (requests, timers, the mover
// resumed after a copy), so what must be on disk before an effect outside the catalog
// commits first (durableTx, beginRename, garbage collection, manifest sync, config versions).
import type Database from 'better-sqlite3';
import { moduleLogger } from '../log.js';

const log = moduleLogger('catalog');
const COMMITTED = Promise.resolve();

interface OpenGroup {
  done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
  /** the commit `delayMs` after the group opened (none with no delay) */
  timer: NodeJS.Timeout | undefined;
  /** a commit at the end of this turn was asked for (someone waits) */
  soon: boolean;
  /** run once the group has committed (afterCommit) */
  after: (() => void)[];
}

export class GroupCommit {
  private group: OpenGroup | undefined;
  /** online backups under way: each of their steps must find no write transaction open */
  private held = 0;
  /** groups committed that changed something, and groups that failed to commit (rolled back) */
  commits = 0;
  failures = 0;
  /** total_changes() when the open group began: an unchanged count at commit means an empty group */
  private changesAtOpen = 0;
  private readonly totalChanges;
  /**
   * Told when a group fails to commit, whoever committed it (its timer, a waiter's turn,
   * or commit() before a durable step: a rename's intent, garbage collection), after the
   * waiters were told. The daemon rethrows: answered creates, writes, renames and unlinks
   * are then missing from the catalog while the kernel and the tiers know them, so it
   * stops as after any unexplained failure (process-guard.ts) and the next mount's
   * reconcile finds them on their tiers. What it throws is thrown again on the next tick,
   * out of reach of a caller of commit() that catches its own error and goes on (the
   * mover records a failed move). By default the failure is only logged.
   */
  onFailure: (err: unknown) => void = () => undefined;

  /** delayMs: how long a group may stay open when nobody waits for it (0: until the end of its turn) */
  constructor(
    private readonly db: Database.Database,
    private readonly delayMs = 0,
  ) {
    this.totalChanges = db.prepare('SELECT total_changes()').pluck();
  }

  /** Starts a transaction unless one is open; what follows until it commits joins it. */
  open(): void {
    if (this.group || this.held > 0 || this.db.inTransaction) return;
    this.db.exec('BEGIN');
    this.changesAtOpen = this.totalChanges.get() as number;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A failure nobody waits for is no unhandled rejection (commit() logs it).
    done.catch(() => undefined);
    const timer = this.delayMs > 0 ? setTimeout(() => this.commitNow(), this.delayMs) : undefined;
    this.group = { done, resolve, reject, timer, soon: false, after: [] };
    if (!timer) this.commitSoon();
  }

  /** Commits at the end of this turn of the event loop (setImmediate runs after its I/O callbacks). */
  private commitSoon(): void {
    const g = this.group;
    if (!g || g.soon) return;
    g.soon = true;
    setImmediate(() => {
      if (this.group === g) this.commitNow();
    });
  }

  private commitNow(): void {
    try {
      this.commit();
    } catch {
      // told to onFailure by commit()
    }
  }

  /**
   * Runs work during which no group opens (changes commit one by one, as without groups):
   * an online backup's steps run between turns, and a step that finds the connection
   * writing copies nothing (SQLITE_LOCKED) — the first one would end the backup empty.
   */
  async withoutGroups<T>(work: () => Promise<T>): Promise<T> {
    this.commit();
    this.held++;
    try {
      return await work();
    } finally {
      this.held--;
    }
  }

  /**
   * Resolves once the changes made so far are committed (at the end of this turn: a
   * waiter does not wait for the delay); rejects when their group could not be.
   */
  settled(): Promise<void> {
    this.commitSoon();
    return this.group?.done ?? COMMITTED;
  }

  /**
   * Runs fn once the changes made so far are committed (at once when no group is open),
   * synchronously after the COMMIT, before any later group can begin: for what the next
   * mount needs until then (an unlinked file's backing name, Vfs.unlink). Not when the
   * group fails to commit: the daemon stops, and the next mount finds what fn would remove.
   */
  afterCommit(fn: () => void): void {
    if (this.group) this.group.after.push(fn);
    else fn();
  }

  /**
   * Commits the open group now: before a change that must be on disk when it returns
   * (the move protocol's durable steps, a rename's intent) and at close. Never call it
   * inside a transaction of your own. Throws when the group could not be committed (its
   * waiters are told too), so that nothing goes on from a state that was rolled back.
   */
  commit(): void {
    const g = this.group;
    if (!g) return;
    this.group = undefined;
    clearTimeout(g.timer);
    try {
      // A statement that failed with SQLITE_FULL or an I/O error may have rolled the whole
      // transaction back already; then none of the group's changes are there to commit.
      if (!this.db.inTransaction) throw new Error('the catalog rolled the transaction back after an error');
      const changed = this.totalChanges.get() !== this.changesAtOpen;
      this.db.exec('COMMIT');
      if (changed) this.commits++;
    } catch (err) {
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch (rollback) {
        log.error({ err: rollback }, 'could not roll back a group of catalog changes that failed to commit');
      }
      this.failures++;
      log.error({ err }, 'could not commit a group of catalog changes: the requests waiting for it fail with EIO; creates and writes already answered are found on their tier at the next mount');
      g.reject(err);
      try {
        this.onFailure(err);
      } catch (thrown) {
        process.nextTick(() => {
          throw thrown;
        });
      }
      throw err;
    }
    for (const fn of g.after) {
      try {
        fn();
      } catch (err) {
        log.warn({ err }, 'a step after a group commit failed');
      }
    }
    g.resolve();
  }
}
