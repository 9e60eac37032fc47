// tierfs_misplacements_total as the daemon counts it: an automatic demotion whose file
// is used again within the minimum residency, counted once, when it is seen; uses after
// the residency, promotions, manual moves and demotions from before the start are not.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Catalog } from '../../src/catalog/catalog.js';
import { MisplacementWatch } from '../../src/metrics/misplacements.js';
import { tempDir } from '../helpers/tmp.js';

let dir: ReturnType<typeof tempDir>;
let catalog: Catalog;
beforeEach(() => {
  dir = tempDir('tierfs-misplaced-');
  catalog = new Catalog(join(dir.path, 'catalog.db'));
});
afterEach(() => {
  catalog.close();
  dir.remove();
});

const HOUR = 3_600_000;
const TIERS = ['hot', 'warm', 'cold'];

/** A finished move of ino, journaled as the protocol does, finished at finishedMs. */
function moved(ino: number, from: string, to: string, requestedBy: string, finishedMs: number): void {
  const id = catalog.journalIntent({ ino, path: `f${ino}`, fromTier: from, toTier: to, generation: 0, source: '{}', target: '{}', requestedBy });
  catalog.journalState(id, 'done', { bytes: 1 });
  catalog.db.prepare('UPDATE moves SET finished_ms = ? WHERE id = ?').run(finishedMs, id);
}

function used(ino: number, timeMs: number): void {
  catalog.recordAccessBatch([{ timeMs, ino, path: `f${ino}`, op: 'open', offset: 0, length: 0, size: 1, count: 1 }], 1000);
}

describe('misplacements', () => {
  it('counts an automatic demotion whose file is used within the residency, once, for the tier it left', () => {
    const start = Date.UTC(2026, 5, 1);
    const watch = new MisplacementWatch(catalog, () => TIERS, () => HOUR, start);
    moved(1, 'hot', 'warm', 'rule:old-logs', start + 1000); // used again after 10 min: misplaced
    moved(2, 'warm', 'cold', 'watermark:warm', start + 2000); // used after 2 h: fine
    moved(3, 'hot', 'warm', 'cli', start + 3000); // asked for by a person: not the policy's mistake
    moved(4, 'cold', 'hot', 'rule:hot-again', start + 4000); // a promotion
    moved(5, 'hot', 'warm', 'rule:old-logs', start - 60_000); // before the daemon started
    used(1, start + 10 * 60_000);
    used(3, start + 10 * 60_000);
    used(4, start + 10 * 60_000);
    used(5, start + 10 * 60_000);

    watch.check(start + 11 * 60_000);
    expect(Object.fromEntries(watch.totals)).toEqual({ hot: 1, warm: 0, cold: 0 });
    watch.check(start + 12 * 60_000);
    expect(watch.totals.get('hot')).toBe(1); // seen again, not counted again

    used(2, start + 2 * HOUR);
    watch.check(start + 2 * HOUR + 60_000);
    expect(Object.fromEntries(watch.totals)).toEqual({ hot: 1, warm: 0, cold: 0 });

    // A use within the residency, seen at the check after it.
    moved(6, 'warm', 'cold', 'watermark:warm', start + 3 * HOUR);
    used(6, start + 3 * HOUR + 59 * 60_000);
    watch.check(start + 4 * HOUR);
    expect(watch.totals.get('warm')).toBe(1);
  });

  it('takes a move as finished when it commits: deleting its old copy later changes neither its time nor the count', () => {
    let now = Date.UTC(2026, 5, 1);
    const clocked = new Catalog(join(dir.path, 'clocked.db'), { now: () => now });
    try {
      const start = now;
      const watch = new MisplacementWatch(clocked, () => TIERS, () => HOUR, start);
      const id = clocked.journalIntent({ ino: 7, path: 'f7', fromTier: 'hot', toTier: 'warm', generation: 0, source: '{}', target: '{}', requestedBy: 'rule:old-logs' });
      now += 1000;
      clocked.journalState(id, 'committed', { bytes: 1 });
      clocked.recordAccessBatch([{ timeMs: now + 60_000, ino: 7, path: 'f7', op: 'open', offset: 0, length: 0, size: 1, count: 1 }], 1000);
      watch.check(now + 2 * 60_000);
      expect(watch.totals.get('hot')).toBe(1);
      now += 5 * 60_000; // the old copy deleted minutes later (a slow store)
      clocked.journalState(id, 'done', { bytes: 1 });
      expect(clocked.getMove(id)).toMatchObject({ state: 'done', finishedMs: start + 1000 });
      watch.check(now + 60_000);
      expect(watch.totals.get('hot')).toBe(1); // the same move, not a second one
    } finally {
      clocked.close();
    }
  });

  it('follows a minimum residency changed while mounted (tierfs config apply)', () => {
    const start = Date.UTC(2026, 5, 1);
    let residency = 10 * 60_000;
    const watch = new MisplacementWatch(catalog, () => TIERS, () => residency, start);
    moved(1, 'hot', 'warm', 'rule:old-logs', start + 1000);
    used(1, start + 30 * 60_000); // 30 min after: outside a 10-minute residency
    watch.check(start + 31 * 60_000);
    expect(watch.totals.get('hot')).toBe(0);
    residency = HOUR; // the policy now says an hour: the same use is inside it
    watch.check(start + 32 * 60_000);
    expect(watch.totals.get('hot')).toBe(1);
  });
});
