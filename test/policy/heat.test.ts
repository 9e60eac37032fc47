// Heat: a decayed count of opens. The pure formula and the catalog's running sum agree.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Catalog, ROOT_INO, type AccessEvent } from '../../src/catalog/catalog.js';
import { heatAt } from '../../src/policy/heat.js';
import { tempDir } from '../helpers/tmp.js';

const HOUR = 3_600_000;

describe('heatAt', () => {
  it('halves every half-life and never grows', () => {
    expect(heatAt(8, 0, 0, HOUR)).toBe(8);
    expect(heatAt(8, 0, HOUR, HOUR)).toBeCloseTo(4, 10);
    expect(heatAt(8, 0, 3 * HOUR, HOUR)).toBeCloseTo(1, 10);
    expect(heatAt(8, 1000, 0, HOUR)).toBe(8); // a clock behind the stored time does not inflate it
    expect(heatAt(0, 0, HOUR, HOUR)).toBe(0);
  });
});

describe('heat in the catalog', () => {
  let dir: ReturnType<typeof tempDir>;
  let catalog: Catalog;
  beforeEach(() => {
    dir = tempDir();
    catalog = new Catalog(join(dir.path, 'catalog.db'));
  });
  afterEach(() => {
    catalog.close();
    dir.remove();
  });

  const open = (ino: number, timeMs: number): AccessEvent => ({ timeMs, ino, path: 'f', op: 'open', offset: 0, length: 0, size: 0, count: 1 });

  it('sums opens decayed to the latest one, as heatAt computes them', () => {
    const ino = catalog.createInode(
      { mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 1, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, tier: 'hot', volume: 'v', dataPath: 'f', target: null },
      ROOT_INO,
      'f',
    );
    const t0 = 1_000_000_000_000;
    // Three opens an hour apart, in separate batches, with a one-hour half-life.
    for (const t of [t0, t0 + HOUR, t0 + 2 * HOUR]) catalog.recordAccessBatch([open(ino, t)], 0, HOUR);
    // Reads do not add heat (an open file is one use, however it is read).
    catalog.recordAccessBatch([{ ...open(ino, t0 + 2 * HOUR), op: 'read', length: 4096, count: 50 }], 0, HOUR);
    const row = catalog.classificationRow(ino)!;
    expect(row.heatMs).toBe(t0 + 2 * HOUR);
    expect(row.heat).toBeCloseTo(1 + 0.5 + 0.25, 10);
    const expected = [t0, t0 + HOUR, t0 + 2 * HOUR].reduce((h, t) => h + heatAt(1, t, t0 + 5 * HOUR, HOUR), 0);
    expect(heatAt(row.heat, row.heatMs, t0 + 5 * HOUR, HOUR)).toBeCloseTo(expected, 10);
  });

  // A batch is folded per file before it is written (one upsert per file): the result
  // must be the one the events give written one by one.
  it('a batch of many accesses of a few files gives each file the heat, counts and times of the same events written one by one', () => {
    const mk = () =>
      Array.from({ length: 3 }, (_, i) =>
        catalog.createInode(
          { mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 1, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, tier: 'hot', volume: 'v', dataPath: `f${i}`, target: null },
          ROOT_INO,
          `f${i}-${Math.random()}`,
        ),
      );
    const [folded, oneByOne] = [mk(), mk()];
    const t0 = 1_000_000_000_000;
    const events = (inos: number[]): AccessEvent[] =>
      Array.from({ length: 40 }, (_, k) => ({
        ...open(inos[k % 3]!, t0 + k * 7 * 60_000),
        op: (['open', 'read', 'write', 'open'] as const)[k % 4]!,
        length: 100 * k,
        count: 1 + (k % 5),
      }));
    // an earlier batch each: the rest is added to stored heat (the upsert's update path)
    for (const inos of [folded, oneByOne]) catalog.recordAccessBatch(events(inos).slice(0, 5), 0, HOUR);
    catalog.recordAccessBatch(events(folded).slice(5), 0, HOUR);
    for (const e of events(oneByOne).slice(5)) catalog.recordAccessBatch([e], 0, HOUR);
    for (let i = 0; i < 3; i++) {
      const [a, b] = [catalog.classificationRow(folded[i]!)!, catalog.classificationRow(oneByOne[i]!)!];
      expect(a.heat).toBeCloseTo(b.heat, 9);
      expect(a.heat).toBeGreaterThan(0);
      expect([a.heatMs, a.lastAccessMs]).toEqual([b.heatMs, b.lastAccessMs]);
      expect(catalog.accessStats(folded[i]!)).toEqual(catalog.accessStats(oneByOne[i]!));
      // the crossing of heat 1 is found at the same time for both
      const cooled = catalog.cooledBetween(1, t0, t0 + 30 * HOUR, HOUR);
      expect(cooled.includes(folded[i]!)).toBe(cooled.includes(oneByOne[i]!));
    }
  });
});
