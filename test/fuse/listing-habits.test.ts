// Which listing pages carry attributes, per mount.readdirplus and, for adaptive, per
// caller: what the kernel gets is checked through a mount in test/mount/readdirplus.test.ts.
import { describe, expect, it } from 'vitest';
import { IDLE_MS, ListingHabits, STATS_SEEN } from '../../src/fuse/listing-habits.js';

const FIND = 101;
const DU = 102;

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
    const h = new ListingHabits('adaptive');
    expect([h.attributes(FIND, 10, true), h.attributes(FIND, 10, true)]).toEqual([true, true]);
    expect([h.attributes(FIND, 11, true), h.attributes(FIND, 12, true), h.attributes(FIND, 10, true)]).toEqual([false, false, true]);
    // Another caller starts over; the kernel's own requests (pid 0) always get them.
    expect(h.attributes(DU, 11, true)).toBe(true);
    expect(h.attributes(0, 12, true)).toBe(true);
    expect(h.pages).toEqual({ with: 5, without: 2 });
  });

  it('adaptive: looking up STATS_SEEN files listed without attributes makes a caller one that stats', () => {
    const h = new ListingHabits('adaptive');
    h.attributes(DU, 10, true);
    expect(h.attributes(DU, 11, true)).toBe(false);
    // Directories are looked up by every walk: they say nothing.
    for (let i = 0; i < 3 * STATS_SEEN; i++) h.lookedUp(DU, 11, true);
    // Files of a directory it was not given without attributes say nothing either, nor another caller's.
    for (let i = 0; i < 3 * STATS_SEEN; i++) h.lookedUp(DU, 99, false);
    for (let i = 0; i < 3 * STATS_SEEN; i++) h.lookedUp(FIND, 11, false);
    expect(h.attributes(DU, 12, true)).toBe(false);
    for (let i = 0; i < STATS_SEEN - 1; i++) h.lookedUp(DU, 11, false);
    expect(h.callersThatStat).toBe(0);
    expect(h.attributes(DU, 13, true)).toBe(false);
    h.lookedUp(DU, 12, false);
    expect(h.callersThatStat).toBe(1);
    expect([h.attributes(DU, 13, true), h.attributes(DU, 14, true)]).toEqual([true, true]);
  });

  it('adaptive: a caller idle for IDLE_MS is forgotten (thread ids are reused)', () => {
    let now = 1_000_000;
    const h = new ListingHabits('adaptive', () => now);
    h.attributes(FIND, 10, true);
    expect(h.attributes(FIND, 11, true)).toBe(false);
    now += IDLE_MS - 1;
    expect(h.attributes(FIND, 12, true)).toBe(false);
    now += IDLE_MS + 1;
    expect(h.attributes(FIND, 13, true)).toBe(true); // a new caller: its first directory
    expect(h.attributes(FIND, 14, true)).toBe(false);
  });

  it('adaptive: remembers a bounded number of callers', () => {
    const h = new ListingHabits('adaptive');
    for (let pid = 1; pid <= 10_000; pid++) h.attributes(pid, 10, true);
    expect(h.attributes(10_000, 11, true)).toBe(false); // the last ones are remembered
    expect(h.attributes(1, 11, true)).toBe(true); // the first were forgotten: a first directory again
    expect((h as unknown as { callers: Map<number, unknown> }).callers.size).toBeLessThanOrEqual(4096);
  });
});
