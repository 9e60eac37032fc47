// The classifier reads the move queue twice a pass (pendingMoves). It must cost what
// the queue holds, not what the catalog holds: SQLite once chose to walk every file (by
// the inodes_tier_since index) to find the few in the queue, which made each pass of a
// large tree a full scan — and the policy simulator, which runs thousands of passes,
// crawl. Measured against a walk of the files on the same catalog, so the test does not
// depend on the machine's speed.
import { describe, expect, it } from 'vitest';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';

describe('pendingMoves', () => {
  it('costs the queue, not the catalog: one queued move among 50,000 files', () => {
    const c = new Catalog(':memory:');
    c.tx(() => {
      for (let i = 0; i < 50_000; i++) {
        c.createInode({ mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 1, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, tier: 'hot', volume: null, dataPath: `f${i}`, target: null }, ROOT_INO, `f${i}`);
      }
    });
    c.enqueueMove({ ino: 1234, toTier: 'warm', priority: 10, requestedBy: 'rule:x', reason: 'test' });
    const time = (fn: () => unknown) => {
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) fn();
      return (performance.now() - t0) / 20;
    };
    expect(c.pendingMoves(0, 1000).map((m) => m.ino)).toEqual([1234]);
    const walk = time(() => c.usageByTier() && c.coldest('hot', 0, 1000, 1)); // reads every file of the tier
    const pending = time(() => c.pendingMoves(0, 1000));
    expect(pending).toBeLessThan(walk / 20);
  });
});

// The mover asks for the next runnable moves at every move's end. It used to read 1,000
// rows, sorted from the whole queue each time (the index did not give the order asked
// for): with 50,000 demotions queued, every move cost the mount's thread a sort.
describe('runnableMoves', () => {
  const c = new Catalog(':memory:');
  c.tx(() => {
    for (let i = 0; i < 50_000; i++) {
      const ino = c.createInode({ mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 1, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, tier: 'hot', volume: null, dataPath: `f${i}`, target: null }, ROOT_INO, `f${i}`);
      c.enqueueMove({ ino, toTier: 'warm', priority: i % 7 === 0 ? 0 : 10, requestedBy: 'rule:x', reason: 'test' });
    }
  });
  // every third one waits (a retry later)
  for (const e of c.queuedMoves(50_000)) if (e.id % 3 === 0) c.deferMove(e.id, 5_000, 'busy');

  it('gives every due move once, by priority then age, across its pages, while the caller writes', () => {
    const expected = c.queuedMoves(50_000).filter((e) => e.id % 3 !== 0).sort((a, b) => a.priority - b.priority || a.id - b.id).map((e) => e.id);
    const seen: number[] = [];
    for (const e of c.runnableMoves(1_000)) {
      seen.push(e.id);
      if (seen.length % 1000 === 0) c.dequeue(e.id); // the mover's own write: no statement may be left open
    }
    expect(seen).toEqual(expected);
    expect([...c.runnableMoves(10_000)]).toHaveLength(50_000 - Math.floor(seen.length / 1000)); // the deferred ones are due by then
  });

  it('costs a page, not the queue, for the first few moves', () => {
    const time = (fn: () => unknown) => {
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) fn();
      return (performance.now() - t0) / 5;
    };
    const whole = time(() => c.queuedMoves(50_000));
    const first = time(() => {
      let n = 0;
      for (const _ of c.runnableMoves(1_000)) if (++n === 4) break;
    });
    expect(first).toBeLessThan(whole / 50);
  });
});
