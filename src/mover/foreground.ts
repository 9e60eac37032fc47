// Foreground first: while the mount serves requests, the mover's work must not make
// them wait. The measure is latency, not a count of requests: how long the threads
// that serve the mount's requests waited for a CPU each time they were woken (the
// kernel's run-queue wait, /proc/self/task/TID/schedstat). It is the part of a
// request's latency that other work on the machine adds to, and the one the mover's
// work was measured to add to (on two cores its copy thread runs at nice 19 and still
// doubles it: the wake-ups, the page cache and the disk are shared).
//
// The mover paces itself by it, as a background transfer paces itself by queueing
// delay (LEDBAT): the wait per wake-up measured while no move runs is the baseline;
// while moves run, a window whose wait is above baseline × (1 + headroom) halves the
// mover's pace, down to a floor that still makes progress, and each window within it
// gives back an eighth of the full pace. With no requests to measure (an idle mount, or
// reads that passthrough hands to the kernel) nothing is learnt and the pace recovers.
// Under a backlog that never lets the mover rest, no window is without moves: every half
// minute of moves under requests, one window is kept quiet (the mover waits half a
// second) to learn the baseline, or keep it current.
import { readFileSync } from 'node:fs';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { TokenBucket } from './throttle.js';

/** Run-queue wait, and how many times a thread (or threads) ran. */
export interface ThreadWaits {
  waitNs: number;
  runs: number;
}

/** A thread of this process as the kernel's schedstat counts it so far; undefined once it has ended. */
export function threadWaits(tid: number): ThreadWaits | undefined {
  try {
    const [, waitNs, runs] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { waitNs: waitNs!, runs: runs! };
  } catch {
    return undefined; // the thread ended, or this kernel keeps no schedstat
  }
}

/** One window of the mount and the mover, as the pace sees it. */
export interface Window {
  /** run-queue wait and runs of the serving threads during the window */
  waits: ThreadWaits;
  /** bytes that went through the mover's bandwidth limit during the window */
  movedBytes: number;
  seconds: number;
}

/** Fewer runs than this in a window say too little about latency to act on. */
const MIN_RUNS = 100;
/** The lowest share of its pace the mover keeps: moves still finish under constant load. */
export const MIN_SHARE = 1 / 16;
/** A mover without a bandwidth limit that must slow down never goes below this (bytes/s). */
const MIN_RATE = 1 << 20;
/** Windows of moves under requests between two quiet ones: half a minute; 2 s while no baseline is known. */
export const QUIET_EVERY = 60;
const QUIET_EVERY_UNTIL_BASELINE = 4;
/** The limit in a quiet window: a byte a second, so that no piece starts (0 would be unlimited). */
const QUIET_RATE = 1;

export class ForegroundPace {
  /** the share of its pace the mover allows itself now: 1 = all of it */
  share = 1;
  /** the serving threads' wait per wake-up with no move running, in ns (a moving average) */
  baselineNs: number | undefined;
  /** the last window's wait per wake-up, in ns (undefined: too few runs to tell) */
  lastNs: number | undefined;
  /** bytes/s the mover reached in the last window it ran at full pace: what a share of "unlimited" is */
  private fullRate = 0;
  /** windows of moves under requests since the last quiet one */
  private sinceQuiet = 0;
  /** this window is a quiet one: the mover waits, the baseline is measured */
  quiet = false;

  /** headroom: how far above the baseline the wait may go while moves run (0.25 = +25%); 0 turns pacing off */
  constructor(public headroom: number) {}

  /**
   * Learn from one window; returns the bandwidth the mover should have now, from the
   * configured one (bytes/s, 0 = unlimited).
   */
  observe(w: Window, configured: number): number {
    // A quiet window counts as one without moves, whatever piece finished in it.
    const moving = w.movedBytes > 0 && !this.quiet;
    const wasQuiet = this.quiet;
    this.quiet = false;
    this.lastNs = w.waits.runs >= MIN_RUNS ? w.waits.waitNs / w.waits.runs : undefined;
    if (this.share === 1 && moving) this.fullRate = w.movedBytes / w.seconds;
    if (this.headroom <= 0) {
      this.share = 1;
      return configured;
    }
    if (this.lastNs === undefined) this.share = Math.min(1, this.share * 2);
    else if (!moving) {
      this.baselineNs = this.baselineNs === undefined ? this.lastNs : 0.8 * this.baselineNs + 0.2 * this.lastNs;
      this.sinceQuiet = 0;
      // After a quiet window the pace goes on where it was; after a rest, it comes back.
      if (!wasQuiet) this.share = Math.min(1, this.share * 2);
    } else {
      if (this.baselineNs !== undefined) {
        const over = this.lastNs > this.baselineNs * (1 + this.headroom);
        this.share = over ? Math.max(MIN_SHARE, this.share / 2) : Math.min(1, this.share + 1 / 8);
      }
      if (++this.sinceQuiet >= (this.baselineNs === undefined ? QUIET_EVERY_UNTIL_BASELINE : QUIET_EVERY)) {
        this.sinceQuiet = 0;
        this.quiet = true;
        return QUIET_RATE;
      }
    }
    return this.rate(configured);
  }

  /** Why moves go slower than their bandwidth allows now, in words; null at full pace. */
  describe(): string | null {
    if (this.quiet) return 'waiting half a second to measure the mount without moves';
    if (this.share >= 1) return null;
    const us = (ns: number | undefined) => (ns === undefined ? '?' : `${(ns / 1000).toFixed(1)} µs`);
    const share = `paced to ${Math.round(this.share * 100)}% of the bandwidth`;
    if (this.lastNs === undefined) return `${share}, coming back (too few requests on the mount to measure)`;
    return `${share}: requests on the mount wait ${us(this.lastNs)} for a CPU per wake-up, ${us(this.baselineNs)} without moves (mover.foregroundHeadroom ${Math.round(this.headroom * 100)}%)`;
  }

  /** The bandwidth for the share now. */
  rate(configured: number): number {
    if (this.share >= 1) return configured;
    if (configured > 0) return configured * this.share;
    // Unlimited: a share of the pace the mover had on its own.
    return Math.max(MIN_RATE, this.fullRate * this.share);
  }
}

/**
 * The mover's bandwidth limit, paced by the mount's latency: counts the bytes moves
 * take through it, and every half second (tick) reads the serving threads' waits
 * since the last and sets the limit to the configured bandwidth's share.
 */
export class MoverPacer {
  readonly pace: ForegroundPace;
  private moved = 0;
  private lastAt = performance.now();
  private readonly seen = new Map<number, ThreadWaits>();

  constructor(
    private readonly bandwidth: TokenBucket,
    /** the running configuration's mover section (updated in place by config apply) */
    private readonly config: { bandwidth: number; foregroundHeadroom: number },
    private readonly servingThreads: () => readonly number[],
  ) {
    this.pace = new ForegroundPace(config.foregroundHeadroom);
  }

  /** What moves wait on: the limit, with what they take counted. */
  readonly take = (bytes: number): Promise<void> => {
    this.moved += bytes;
    return this.bandwidth.take(bytes);
  };

  tick(): void {
    const now = performance.now();
    const window: Window = { waits: { waitNs: 0, runs: 0 }, movedBytes: this.moved, seconds: (now - this.lastAt) / 1000 };
    for (const tid of this.servingThreads()) {
      const w = threadWaits(tid);
      const before = this.seen.get(tid);
      if (!w) this.seen.delete(tid);
      else {
        // A thread seen for the first time counts from now, not from its start.
        if (before) {
          window.waits.waitNs += w.waitNs - before.waitNs;
          window.waits.runs += w.runs - before.runs;
        }
        this.seen.set(tid, w);
      }
    }
    this.moved = 0;
    this.lastAt = now;
    this.setRate(this.pace.observe(window, this.config.bandwidth));
  }

  /** The registry reads the pace and what it is measured by from here. */
  feed(registry: MetricsRegistry): void {
    const seconds = (ns: number | undefined) => (ns === undefined ? [] : [{ labels: {}, value: ns / 1e9 }]);
    registry.feed('tierfs_mover_pace_ratio', () => [{ labels: {}, value: this.pace.share }]);
    registry.feed('tierfs_fuse_wakeup_wait_seconds', () => seconds(this.pace.lastNs));
    registry.feed('tierfs_fuse_wakeup_wait_baseline_seconds', () => seconds(this.pace.baselineNs));
  }

  /** The configuration changed: a new bandwidth or headroom applies at once. */
  configured(): void {
    this.pace.headroom = this.config.foregroundHeadroom;
    this.setRate(this.pace.rate(this.config.bandwidth));
  }

  private setRate(rate: number): void {
    if (rate !== this.bandwidth.rate) this.bandwidth.setRate(rate);
  }
}
