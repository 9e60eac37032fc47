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
