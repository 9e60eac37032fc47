// The number of inodes statfs reports is kept by triggers, not counted per call: it
// follows creates and removals, a transaction rolled back leaves it as it was, and a
// catalog from before it is upgraded with its count.
import { afterEach, beforeEach, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/migrations.js';
import { tempDir } from '../helpers/tmp.js';

const T = 1_700_000_000_000_000_000n;
const file = { mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 0, atimeNs: T, mtimeNs: T, ctimeNs: T, tier: null, volume: null, dataPath: null, target: null };

let dir: ReturnType<typeof tempDir>;
beforeEach(() => (dir = tempDir()));
afterEach(() => dir.remove());

const counted = (c: Catalog) => c.db.prepare('SELECT count(*) FROM inodes').pluck().get() as number;

it('follows creates and removals, and not a transaction that was rolled back', () => {
  const c = new Catalog(join(dir.path, 'c.db'));
  try {
    expect(c.inodeCount()).toBe(1); // the root
    const inos = [1, 2, 3].map((k) => c.createInode(file, ROOT_INO, `f${k}`));
    expect(c.inodeCount()).toBe(4);
    c.dropInode(inos[0]!);
    expect(c.inodeCount()).toBe(3);
    expect(() =>
      c.tx(() => {
        c.createInode(file, ROOT_INO, 'doomed');
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect([c.inodeCount(), counted(c)]).toEqual([3, 3]);
  } finally {
    c.close();
  }
});

it('a catalog made before the count gets it at its upgrade', () => {
  const path = join(dir.path, 'old.db');
  const db = new Database(path);
  const before = MIGRATIONS.findIndex((m) => m.includes('inode_count'));
  db.transaction(() => {
    for (let v = 0; v < before; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${before}`);
    const ins = db.prepare('INSERT INTO inodes (ino, mode, uid, gid, nlink, atime_ns, mtime_ns, ctime_ns) VALUES (?, ?, 0, 0, ?, 0, 0, 0)');
    ins.run(ROOT_INO, 0o40755, 2);
    for (let k = 0; k < 5; k++) ins.run(10 + k, 0o100644, 1);
  })();
  db.close();
  const c = new Catalog(path);
  try {
    expect(c.inodeCount()).toBe(6);
  } finally {
    c.close();
  }
});
