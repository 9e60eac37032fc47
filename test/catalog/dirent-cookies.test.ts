// Directory entries have a stable position (cookie) that readdir pages by; catalogs
// made before it existed are upgraded in place.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { MIGRATIONS } from '../../src/catalog/migrations.js';
import { entriesOf as entries } from '../helpers/joined-names.js';
import { tempDir } from '../helpers/tmp.js';

const T = 1_700_000_000_000_000_000n;

const file = { mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 0, atimeNs: T, mtimeNs: T, ctimeNs: T, tier: null, volume: null, dataPath: null, target: null };

describe('directory entry cookies', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  it('upgrades a catalog from before cookies: every entry kept, listed in name order, found by name', () => {
    const path = join(dir.path, 'old.db');
    const db = new Database(path);
    const before = MIGRATIONS.indexOf(MIGRATIONS.find((m) => m.includes('dirents_by_cookie'))!);
    db.transaction(() => {
      for (let v = 0; v < before; v++) db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${before}`);
      const ins = db.prepare(
        `INSERT INTO inodes (ino, mode, uid, gid, nlink, atime_ns, mtime_ns, ctime_ns) VALUES (?, ?, 0, 0, ?, 0, 0, 0)`,
      );
      ins.run(ROOT_INO, 0o40755, 2);
      for (const [k, name] of ['zeta', 'alpha', 'mid'].entries()) {
        ins.run(10 + k, 0o100644, 1);
        db.prepare('INSERT INTO dirents (parent, name, ino) VALUES (?, ?, ?)').run(ROOT_INO, name, 10 + k);
      }
    })();
    db.close();

    const c = new Catalog(path);
    const page = entries(c.listDirNames(ROOT_INO, 0, 10));
    expect(page.map((r) => r[1])).toEqual(['alpha', 'mid', 'zeta']);
    expect(page.map((r) => r[3])).toEqual([0o100000, 0o100000, 0o100000]); // each entry's type, filled in by the upgrade
    expect(c.lookupIno(ROOT_INO, 'zeta')).toBe(10);
    // New entries come after the old ones; a page continues after any cookie.
    c.createInode(file, ROOT_INO, 'new');
    expect(entries(c.listDirNames(ROOT_INO, page[1]![0], 10)).map((r) => r[1])).toEqual(['zeta', 'new']);
    c.close();
  });

  it('keeps an entry’s cookie through a rename, so a listing in progress neither repeats nor skips it', () => {
    const c = new Catalog(join(dir.path, 'c.db'));
    for (const n of ['a', 'b', 'c']) c.createInode(file, ROOT_INO, n);
    const [a, b] = entries(c.listDirNames(ROOT_INO, 0, 2));
    c.moveName(ROOT_INO, 'a', ROOT_INO, 'renamed-a');
    c.moveName(ROOT_INO, 'c', ROOT_INO, 'renamed-c');
    const rest = entries(c.listDirNames(ROOT_INO, b![0], 10));
    expect(rest.map((r) => r[1])).toEqual(['renamed-c']);
    expect(entries(c.listDirNames(ROOT_INO, 0, 1))[0]).toEqual([a![0], 'renamed-a', a![2], a![3]]);
    c.close();
  });

  it('joins names with commas in them, leaves out the hidden one, and shifts cookies as asked', () => {
    const c = new Catalog(join(dir.path, 'c.db'));
    for (const n of ['a,b', 'hidden', 'c d,,']) c.createInode(file, ROOT_INO, n);
    const plain = entries(c.listDirNames(ROOT_INO, 0, 10));
    const page = entries(c.listDirNames(ROOT_INO, 0, 10, 2, 'hidden'));
    expect(page.map((r) => r[1])).toEqual(['a,b', 'c d,,']);
    expect(page.map((r) => r[0])).toEqual([plain[0]![0] + 2, plain[2]![0] + 2]);
    expect(page.every((r) => r[3] === 0o100000)).toBe(true); // the type: S_IFREG
    c.close();
  });

  it('lists a directory filled among others from the listing index alone, in cookie order', () => {
    const c = new Catalog(join(dir.path, 'c.db'));
    const dirs = [1, 2, 3].map((k) => c.createInode({ ...file, mode: 0o40755, nlink: 2 }, ROOT_INO, `d${k}`));
    // Interleaved, as writers filling several directories at once make them: one
    // directory's cookies (the table's row ids) lie apart.
    for (let i = 0; i < 30; i++) c.createInode(file, dirs[i % 3]!, `f${i}`);
    const page = entries(c.listDirNames(dirs[1]!, 0, 100));
    expect(page.map((r) => r[1])).toEqual(Array.from({ length: 10 }, (_, k) => `f${3 * k + 1}`));
    // The plan of the query itself: the index holds the whole entry, so no table page is read per entry.
    const sql = (c as unknown as { s: { listDirNames: { source: string } } }).s.listDirNames.source;
    const plan = c.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(0, dirs[1], 0, null, 100) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('; ')).toMatch(/COVERING INDEX dirents_listing/);
    c.close();
  });
});
