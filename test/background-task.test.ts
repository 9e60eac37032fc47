// The runner of the daemon's periodic work: failures are caught, counted, logged once
// per distinct error, retried with growing waits, and runs of one task never overlap.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from 'pino';
import { BackgroundTask, backoffDelay } from '../src/background-task.js';

function recordingLog() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_fields: unknown, msg: string) => void lines.push({ level, msg });
  return { lines, log: { error: at('error'), info: at('info'), debug: at('debug'), warn: at('warn') } as unknown as Logger };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('BackgroundTask', () => {
  it('backs off while failing, logs a repeated failure once, and resets on success', async () => {
    const { lines, log } = recordingLog();
    const times: number[] = [];
    let broken = true;
    const task = new BackgroundTask(
      't',
      () => {
        times.push(Date.now());
        if (broken) throw new Error('ENOENT: statfs /data/warm'); // a synchronous throw is caught too
      },
      { intervalMs: 100, maxBackoffMs: 1000, log },
    );
    const t0 = Date.now();
    task.start();
    await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 800 + 1000 + 1000);
    // Waits double from the interval up to the cap.
    expect(times.map((t) => t - t0)).toEqual([100, 300, 700, 1500, 2500, 3500]);
    expect(task.status()).toMatchObject({ runs: 6, failures: 6, consecutiveFailures: 6, failing: true, lastError: 'ENOENT: statfs /data/warm', nextDelayMs: 1000 });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);

    broken = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(task.status()).toMatchObject({ runs: 7, failures: 6, consecutiveFailures: 0, failing: false, nextDelayMs: 100 });
    expect(lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['background task recovered']);
    await vi.advanceTimersByTimeAsync(300);
    expect(task.status().runs).toBe(10);

    // A new failure after recovery is news again, and so is a different one within a streak.
    broken = true;
    await vi.advanceTimersByTimeAsync(100);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2);
    await task.stop();
  });

  it('logs each distinct failure of a streak', async () => {
    const { lines, log } = recordingLog();
    let n = 0;
    const task = new BackgroundTask('t', async () => {
      n++;
      throw new Error(n < 3 ? 'disk full' : 'catalog locked');
    }, { intervalMs: 10, log });
    task.start();
    await vi.advanceTimersByTimeAsync(10 + 20 + 40 + 80);
    expect(n).toBe(4);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2);
    await task.stop();
  });

  it('never runs twice at once: a slow run delays the next, a kick during a run gives one more run after it', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const task = new BackgroundTask('slow', async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      await new Promise((r) => setTimeout(r, 250));
      active--;
    }, { intervalMs: 50 });
    task.start({ now: true });
    await vi.advanceTimersByTimeAsync(10);
    for (let i = 0; i < 5; i++) task.kick();
    await vi.advanceTimersByTimeAsync(250); // the first run ends; the kicks ask for exactly one more
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(maxActive).toBe(1);
    // 250 ms per run + 50 ms between: about 3 more runs in that second, never overlapping.
    expect(runs).toBeGreaterThanOrEqual(4);
    expect(runs).toBeLessThanOrEqual(6);
    const stopping = task.stop();
    await vi.advanceTimersByTimeAsync(250);
    await stopping;
    const after = runs;
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(after);
  });

  it('keeps its back-off when kicked while failing', async () => {
    let runs = 0;
    const task = new BackgroundTask('t', () => {
      runs++;
      throw new Error('no');
    }, { intervalMs: 100, log: recordingLog().log });
    task.start({ now: true });
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    task.kick();
    await vi.advanceTimersByTimeAsync(150);
    expect(runs).toBe(1); // the 200 ms back-off stands
    await vi.advanceTimersByTimeAsync(50);
    expect(runs).toBe(2);
    await task.stop();
  });

  it('never waits less than the interval, nor more than the cap', () => {
    expect(backoffDelay(60_000, 1, 1000)).toBe(60_000);
    expect(backoffDelay(100, 3, 60_000)).toBe(800);
    expect(backoffDelay(100, 1000, 60_000)).toBe(60_000);
  });
});
