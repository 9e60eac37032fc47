// A catalog restored from a backup forgets the old local copies it still meant to delete:
// their names may hold the file again (moved back since the backup, with the size and mtime
// a move keeps), and collecting them would delete its only copy. Old object copies stay on
// the list: a layout is never used again.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { join } from 'node:path';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { tempDir } from '../helpers/tmp.js';

const T = 1_700_000_000_000_000_000n;
const file = { mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 5, atimeNs: T, mtimeNs: T, ctimeNs: T, tier: 'warm', volume: '/w', dataPath: 'f', target: null };

let dir: ReturnType<typeof tempDir>;
beforeEach(() => (dir = tempDir()));
afterEach(() => dir.remove());

it('drops local garbage, keeps object garbage, and closes open moves', () => {
  const c = new Catalog(join(dir.path, 'catalog.db'));
  try {
    const ino = c.createInode(file, ROOT_INO, 'f');
    c.addGarbage(ino, 'hot', JSON.stringify({ kind: 'local', tier: 'hot', volume: '/h', paths: ['f'] }));
    c.addGarbage(ino, 'cold', JSON.stringify({ layout: { tier: 'cold', fileId: 'x' } }));
    c.settleRestoredMoves();
    expect(c.garbage().map((g) => g.tier)).toEqual(['cold']);
  } finally {
    c.close();
  }
});
