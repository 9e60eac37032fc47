// Foreground first: the mover's pace follows the mount's latency. The pace learns its
// baseline while no move runs, halves while moves make the serving threads wait longer
// than the headroom allows, never stops the mover, and comes back when the wait does or
// the mount goes quiet; the pacer reads real threads' schedstat and sets the limit.
import { readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ForegroundPace, MIN_SHARE, MoverPacer, QUIET_EVERY, threadWaits } from '../../src/mover/foreground.js';
import { TokenBucket } from '../../src/mover/throttle.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';

const MiB = 2 ** 20;
/** A half-second window: `runs` wake-ups of the serving threads that waited `perRunUs` each, and `moved` bytes. */
const win = (perRunUs: number, moved: number, runs = 1000) => ({ waits: { waitNs: perRunUs * 1000 * runs, runs }, movedBytes: moved, seconds: 0.5 });

describe('the mover paced by the mount latency', () => {
  it('halves its pace while the wait is above baseline and headroom, to a floor, and returns by eighths', () => {
    const pace = new ForegroundPace(0.25);
    const limit = 32 * MiB;
    // No move: the baseline is learnt, the limit is the configured one.
    for (let i = 0; i < 5; i++) expect(pace.observe(win(4, 0), limit)).toBe(limit);
    expect(pace.baselineNs).toBeCloseTo(4000);
    // Moves make the threads wait 9 µs: 2.25× the baseline, past +25%.
    const rates = Array.from({ length: 6 }, () => pace.observe(win(9, 8 * MiB), limit));
    expect(rates.slice(0, 4)).toEqual([limit / 2, limit / 4, limit / 8, limit / 16]);
    expect(rates[5]).toBe(limit * MIN_SHARE); // never below the floor: moves still finish
    expect(pace.describe()).toBe('paced to 6% of the bandwidth: requests on the mount wait 9.0 µs for a CPU per wake-up, 4.0 µs without moves (mover.foregroundHeadroom 25%)');
    // Within the headroom (4.9 µs < 5 µs): an eighth back per window.
    expect(pace.observe(win(4.9, MiB), limit)).toBe(limit * (MIN_SHARE + 1 / 8));
    for (let i = 0; i < 10; i++) pace.observe(win(4.9, MiB), limit);
    expect(pace.share).toBe(1);
    expect(pace.describe()).toBeNull();
    // The baseline did not learn from windows with moves.
    expect(pace.baselineNs).toBeCloseTo(4000);
  });

  it('a window with too few requests says nothing of latency: the pace comes back, the baseline stays', () => {
    const pace = new ForegroundPace(0.25);
    pace.observe(win(4, 0), 32 * MiB);
    pace.observe(win(20, MiB), 32 * MiB);
    pace.observe(win(20, MiB), 32 * MiB);
    expect(pace.share).toBe(1 / 4);
    pace.observe(win(100, MiB, 10), 32 * MiB); // 10 wake-ups in half a second: an idle mount
    expect(pace.share).toBe(1 / 2);
    expect(pace.lastNs).toBeUndefined();
    expect(pace.describe()).toMatch(/^paced to 50% of the bandwidth, coming back \(too few requests/);
    expect(pace.baselineNs).toBeCloseTo(4000);
  });

  it('under a backlog that never rests, a quiet window now and then learns the baseline and keeps it current', () => {
    const pace = new ForegroundPace(0.25);
    const limit = 32 * MiB;
    // Moves from the start: no window without them, no baseline. The fourth is made quiet.
    expect([1, 2, 3].map(() => pace.observe(win(6, MiB), limit))).toEqual([limit, limit, limit]);
    expect(pace.observe(win(6, MiB), limit)).toBe(1); // a byte a second: no piece starts
    expect(pace.describe()).toMatch(/^waiting half a second to measure the mount without moves/);
    // The quiet window (a piece that was under way may finish in it) teaches the baseline.
    expect(pace.observe(win(4, 64 * 1024), limit)).toBe(limit);
    expect(pace.baselineNs).toBeCloseTo(4000);
    // Moves that double the wait are paced from now on.
    expect(pace.observe(win(8, MiB), limit)).toBe(limit / 2);
    // Every half minute of moves (QUIET_EVERY windows, counting the one above), another
    // quiet window; the pace goes on where it was after it.
    const rates: number[] = [];
    for (let i = 0; i < QUIET_EVERY - 2; i++) rates.push(pace.observe(win(4.5, MiB), limit));
    expect(rates).not.toContain(1);
    expect(pace.observe(win(4.5, MiB), limit)).toBe(1);
    const share = pace.share;
    expect(pace.observe(win(5, 0), limit)).toBe(limit * share);
    expect(pace.baselineNs).toBeCloseTo(0.8 * 4000 + 0.2 * 5000);
  });

  it('with no bandwidth limit, slows to a share of the pace it had; headroom 0 turns pacing off', () => {
    const pace = new ForegroundPace(0.5);
    pace.observe(win(4, 0), 0);
    expect(pace.observe(win(4, 100 * MiB), 0)).toBe(0); // within the headroom: unlimited, at 200 MiB/s
    expect(pace.observe(win(10, 100 * MiB), 0)).toBe(100 * MiB); // half of 200 MiB/s
    expect(pace.observe(win(10, 50 * MiB), 0)).toBe(50 * MiB);
    pace.headroom = 0;
    expect(pace.observe(win(10, 50 * MiB), 0)).toBe(0);
    expect(pace.share).toBe(1);
  });

  it('the pacer reads the serving threads, counts what moves take and sets the limit; a new thread counts from when it is first seen', async () => {
    const bucket = new TokenBucket(64 * MiB);
    const config = { bandwidth: 64 * MiB, foregroundHeadroom: 0.25 };
    const tids = [Number(readlinkSync('/proc/thread-self').split('/').pop())];
    const pacer = new MoverPacer(bucket, config, () => tids);
    const self = threadWaits(tids[0]!);
    expect(self!.runs).toBeGreaterThan(0);
    expect(threadWaits(2 ** 30)).toBeUndefined();
    // This thread woken up a few hundred times (timers): a window with runs to measure.
    const wakeUps = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 1));
    };
    pacer.tick(); // the thread is seen: counted from here, not from its start
    await wakeUps(300);
    pacer.tick();
    expect(pacer.pace.lastNs).toBeDefined();
    expect(pacer.pace.baselineNs).toBe(pacer.pace.lastNs); // no move ran: that is the baseline
    // Moves take bytes while the wait is over the headroom (a baseline of 1 ns is below any real wait).
    await pacer.take(MiB);
    pacer.pace.baselineNs = 1;
    await wakeUps(300);
    pacer.tick();
    expect(bucket.rate).toBe(32 * MiB);
    // A new bandwidth applies at once, at the pace's share.
    config.bandwidth = 16 * MiB;
    pacer.configured();
    expect(bucket.rate).toBe(8 * MiB);
    const registry = new MetricsRegistry();
    pacer.feed(registry);
    const text = await registry.exposition();
    expect(text).toMatch(/^tierfs_mover_pace_ratio 0\.5$/m);
    expect(text).toMatch(/^tierfs_fuse_wakeup_wait_baseline_seconds 1e-9$/m);
  });
});
