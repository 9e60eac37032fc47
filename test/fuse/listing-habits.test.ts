// Which listing pages carry attributes, per mount.readdirplus and, for adaptive, per
// caller: what the kernel gets is checked through a mount in test/mount/readdirplus.test.ts.
import { describe, expect, it } from 'vitest';
import { IDLE_MS, ListingHabits, processOfThread, STATS_SEEN } from '../../src/fuse/listing-habits.js';

const FIND = 101;
const DU = 102;
/** Threads 201 and 202 are one process's (200); every other thread is a process of its own. */
const processOf = (tid: number) => (tid === 201 || tid === 202 ? 200 : tid);
const adaptive = (now: () => number = Date.now) => new ListingHabits('adaptive', now, processOf);

describe('ListingHabits', () => {
  it('always and auto give what the kernel asks for; off and plain pages give none', () => {
    for (const mode of ['always', 'auto'] as const) {
      const h = new ListingHabits(mode);
      expect([h.attributes(FIND, 10, true), h.attributes(FIND, 11, true), h.attributes(FIND, 12, false)]).toEqual([true, true, false]);
      expect(h.pages).toEqual({ with: 2, without: 1 });
    }
    const off = new ListingHabits('off');
    expect(off.attributes(FIND, 10, false)).toBe(false);
    expect(off.pages).toEqual({ with: 0, without: 1 });
  });

  it('adaptive: a caller\'s first directory with attributes, every page of it; later ones without', () => {
    const h = adaptive();
    expect([h.attributes(FIND, 10, true), h.attributes(FIND, 10, true)]).toEqual([true, true]);
    expect([h.attributes(FIND, 11, true), h.attributes(FIND, 12, true), h.attributes(FIND, 10, true)]).toEqual([false, false, true]);
    // Another caller starts over; the kernel's own requests (pid 0) always get them.
    expect(h.attributes(DU, 11, true)).toBe(true);
    expect(h.attributes(0, 12, true)).toBe(true);
    expect(h.pages).toEqual({ with: 5, without: 2 });
  });

  it('adaptive: STATS_SEEN files it was given without attributes looked up make a caller one that stats', () => {
    const h = adaptive();
    h.attributes(DU, 10, true);
    expect(h.attributes(DU, 11, true)).toBe(false);
    // Directories are looked up by every walk: they say nothing; nor do files of a directory listed with attributes.
    for (let i = 0; i < 3 * STATS_SEEN; i++) h.lookedUp(11, true);
    for (let i = 0; i < 3 * STATS_SEEN; i++) h.lookedUp(10, false);
    for (let i = 0; i < 3 * STATS_SEEN; i++) h.lookedUp(99, false);
    expect(h.attributes(DU, 12, true)).toBe(false);
    for (let i = 0; i < STATS_SEEN - 1; i++) h.lookedUp(11, false);
    expect(h.callersThatStat).toBe(0);
    expect(h.attributes(DU, 13, true)).toBe(false);
    h.lookedUp(12, false);
    expect(h.callersThatStat).toBe(1);
    expect([h.attributes(DU, 13, true), h.attributes(DU, 14, true)]).toEqual([true, true]);
  });

  it('adaptive: the lookups count for whoever listed the directory — `find | xargs stat` is learned as du is', () => {
    const h = adaptive();
    h.attributes(FIND, 10, true);
    for (let dir = 11; dir < 30; dir++) expect(h.attributes(FIND, dir, true)).toBe(false);
    // Another process stats what find listed a while ago (xargs lags behind find).
    for (let i = 0; i < STATS_SEEN; i++) h.lookedUp(11, false);
    expect(h.callersThatStat).toBe(1);
    expect(h.attributes(FIND, 30, true)).toBe(true);
  });

  it('adaptive: a caller is a process: one thread lists, another stats (as Node\'s and Go\'s file APIs do)', () => {
    const h = adaptive();
    h.attributes(201, 10, true);
    expect(h.attributes(202, 11, true)).toBe(false); // the process's second directory
    for (let i = 0; i < STATS_SEEN; i++) h.lookedUp(11, false);
    expect(h.callersThatStat).toBe(1);
    expect(h.attributes(202, 12, true)).toBe(true);
  });

  it('adaptive: lookups of a directory listed more than IDLE_MS ago say nothing', () => {
    let now = 1_000_000;
    const h = adaptive(() => now);
    h.attributes(FIND, 10, true);
    h.attributes(FIND, 11, true);
    now += IDLE_MS + 1;
    for (let i = 0; i < 3 * STATS_SEEN; i++) h.lookedUp(11, false);
    expect(h.callersThatStat).toBe(0);
  });

  it('finds a thread\'s process in /proc', async () => {
    expect(processOfThread(process.pid)).toBe(process.pid);
    const { Worker } = await import('node:worker_threads');
    // A worker is a thread of this process with a thread id of its own (kept alive until terminated).
    const w = new Worker('const { parentPort } = require("node:worker_threads"); const fs = require("node:fs"); parentPort.postMessage(Number(fs.readlinkSync("/proc/thread-self").split("/").pop())); setInterval(() => {}, 1000)', { eval: true });
    const tid = await new Promise<number>((resolve) => w.once('message', resolve));
    try {
      expect(tid).not.toBe(process.pid);
      expect(processOfThread(tid)).toBe(process.pid);
    } finally {
      await w.terminate();
    }
    expect(processOfThread(2 ** 30)).toBe(2 ** 30); // no such thread: itself
  });

  it('adaptive: a caller idle for IDLE_MS is forgotten (thread ids are reused)', () => {
    let now = 1_000_000;
    const h = adaptive(() => now);
    h.attributes(FIND, 10, true);
    expect(h.attributes(FIND, 11, true)).toBe(false);
    now += IDLE_MS - 1;
    expect(h.attributes(FIND, 12, true)).toBe(false);
    now += IDLE_MS + 1;
    expect(h.attributes(FIND, 13, true)).toBe(true); // a new caller: its first directory
    expect(h.attributes(FIND, 14, true)).toBe(false);
  });

  it('adaptive: remembers a bounded number of callers', () => {
    const h = adaptive();
    for (let pid = 1; pid <= 10_000; pid++) h.attributes(pid, 10, true);
    expect(h.attributes(10_000, 11, true)).toBe(false); // the last ones are remembered
    expect(h.attributes(1, 11, true)).toBe(true); // the first were forgotten: a first directory again
    expect((h as unknown as { callers: Map<number, unknown> }).callers.size).toBeLessThanOrEqual(4096);
  });
});
