// Promotions held back for room: read hottest first across many changes, as a sort of
// what is held now would give; and room that appeared, taken only by files hot enough.
import { describe, expect, it } from 'vitest';
import { AppearedRoom, HeldForRoom, rankOf } from '../../src/policy/held-for-room.js';

describe('HeldForRoom', () => {
  it('gives every file held for a tier, hottest first, through holds, holds again at another rank, releases and clears', () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const held = new HeldForRoom();
    const truth = new Map<number, number>();
    for (let round = 0; round < 40; round++) {
      // some rounds change a little (entries read merged from two lists), some a lot (sorted again)
      const changes = round % 3 === 0 ? 400 : 5;
      for (let c = 0; c < changes; c++) {
        const ino = Math.floor(random() * 300);
        if (random() < 0.3) {
          held.delete(ino);
          truth.delete(ino);
        } else {
          const rank = Math.floor(random() * 50); // ties too
          held.set(ino, ino % 2 ? ['hot', 'warm'] : ['hot'], 1, rank);
          truth.set(ino, rank);
        }
      }
      const got = [...held.hottest('hot')].map(([ino, h]) => [ino, h.rank] as const);
      expect(got.map(([, rank]) => rank)).toEqual([...truth.values()].sort((a, b) => b - a));
      expect(new Map(got)).toEqual(truth);
      const warm = [...held.hottest('warm')].map(([ino, h]) => [ino, h.rank] as const);
      expect(new Map(warm)).toEqual(new Map([...truth].filter(([ino]) => ino % 2)));
      expect(warm.map(([, rank]) => rank)).toEqual(warm.map(([, rank]) => rank).sort((a, b) => b - a));
      expect(held.size).toBe(truth.size);
    }
    held.clear();
    expect([...held.hottest('hot')]).toEqual([]);
    expect([...held.hottest('cold')]).toEqual([]);
  });

  it('holds memory bounded by the files held, however often they are held again and released unread', () => {
    const held = new HeldForRoom();
    for (let round = 0; round < 200; round++) {
      for (let ino = 1; ino <= 500; ino++) {
        held.delete(ino);
        held.set(ino, ['hot', 'warm'], 1, round + ino / 1000);
      }
    }
    expect(held.size).toBe(500);
    // two lists of 500 live entries each; stale ones are dropped once they are half
    expect(held.entries).toBeLessThanOrEqual(2 * (2 * 500 + 1024));
    const hot = [...held.hottest('hot')];
    expect(hot.length).toBe(500);
    expect(hot[0]![0]).toBe(500); // the highest rank of the last round
  });

  it('gives a file only for its last hold: held again at the same rank, it is neither given twice nor kept for a tier it no longer targets', () => {
    const held = new HeldForRoom();
    held.set(1, ['hot', 'warm'], 1, 5);
    held.set(2, ['hot', 'warm'], 1, 5);
    held.set(1, ['hot'], 1, 5); // decided again: same heat, warm no longer a target
    expect([...held.hottest('hot')].map(([ino]) => ino)).toEqual([2, 1]); // equal ranks: in the order of their last hold
    expect([...held.hottest('warm')].map(([ino]) => ino)).toEqual([2]);
    for (let round = 0; round < 5000; round++) held.set(2, ['hot', 'warm'], 1, 5); // re-examined pass after pass, unchanged
    expect(held.entries).toBeLessThanOrEqual(2 * (2 + 1024));
    expect([...held.hottest('hot')].map(([ino]) => ino)).toEqual([1, 2]);
  });

  it('ranks order files by heat at any time: rank differences do not change as heat decays', () => {
    const day = 86_400_000;
    const a = rankOf(8, 0, day);
    const b = rankOf(2, 0, day);
    // the same files a day later (half the heat each): the same ranks
    expect(rankOf(4, day, day)).toBeCloseTo(a, 12);
    expect(rankOf(1, day, day)).toBeCloseTo(b, 12);
    expect(rankOf(0, 0, day)).toBe(-Infinity);
  });
});

describe('AppearedRoom', () => {
  it('lets a file take the bytes of residents clearly colder than it, and of grown headroom, once', () => {
    const room = new AppearedRoom(0, [
      { rank: 5, size: 100 },
      { rank: 1, size: 50 },
    ]);
    expect(room.left(1)).toBe(0); // not above the coldest
    expect(room.left(2)).toBe(50);
    expect(room.left(6)).toBe(150);
    room.take(120);
    expect(room.left(6)).toBe(30);
    expect(room.left(2)).toBeLessThanOrEqual(0);
    const grown = new AppearedRoom(70, []);
    expect(grown.left(-Infinity)).toBe(70);
  });
});
