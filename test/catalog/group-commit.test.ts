// Group commit, on a real SQLite file, watched from a second connection as another
// process (or the disk after a kill -9) would see it: the requests of one turn of the
// event loop commit together; a change that must be on disk when it returns commits
// the group first; a group that cannot commit is rolled back and its waiters hear so.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { ConfigVersions } from '../../src/config/versions.js';
import { GroupCommit } from '../../src/catalog/group-commit.js';
import { createFuseOps } from '../../src/fuse/adapter.js';
import type { FuseOps } from '../../src/fuse/types.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { TierSet } from '../../src/tiers/tier-set.js';
import { AccessRecorder } from '../../src/vfs/access-recorder.js';
import { reconcile } from '../../src/vfs/reconcile.js';
import { Vfs } from '../../src/vfs/vfs.js';
import { tempDir } from '../helpers/tmp.js';

const caller = { uid: 0, gid: 0, pid: 1, umask: 0o022 };

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

describe('a group of changes', () => {
  let db: Database.Database;
  let other: Database.Database;
  beforeEach(() => {
    db = new Database(join(dir.path, 'g.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v INTEGER)');
    other = new Database(join(dir.path, 'g.db'), { readonly: true });
  });
  afterEach(() => {
    other.close();
    db.close();
  });
  const seen = () => (other.prepare('SELECT v FROM t ORDER BY v').all() as { v: number }[]).map((r) => r.v);

  it('commits what one turn of the event loop wrote in one transaction, after the turn', async () => {
    const group = new GroupCommit(db);
    group.open();
    db.prepare('INSERT INTO t VALUES (1)').run();
    group.open(); // a second request of the same turn joins
    db.transaction(() => db.prepare('INSERT INTO t VALUES (2)').run())();
    expect(seen()).toEqual([]);
    await group.settled();
    expect(seen()).toEqual([1, 2]);
    expect(group.commits).toBe(1);
    await nextTurn();
    expect(group.commits).toBe(1); // nothing left open, nothing committed twice
    expect(db.inTransaction).toBe(false);
    group.open(); // requests that changed nothing: committed, not counted
    await group.settled();
    expect(group.commits).toBe(1);
  });

  it('with a delay, keeps a group open across turns until the delay ends, or until someone waits', async () => {
    const group = new GroupCommit(db, 200);
    group.open();
    db.prepare('INSERT INTO t VALUES (1)').run();
    await nextTurn();
    await nextTurn();
    group.open(); // a request of a later turn joins the open group
    db.prepare('INSERT INTO t VALUES (2)').run();
    expect(seen()).toEqual([]);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 250));
    expect(seen()).toEqual([1, 2]); // the delay ended: committed with nobody waiting
    expect(group.commits).toBe(1);

    group.open();
    db.prepare('INSERT INTO t VALUES (3)').run();
    const opened = Date.now();
    await group.settled(); // a waiter: committed at the end of this turn, not 200 ms later
    expect(Date.now() - opened).toBeLessThan(150);
    expect(seen()).toEqual([1, 2, 3]);
    expect(group.commits).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(db.inTransaction).toBe(false);
  });

  it('rolls back a group that cannot commit, and every waiter hears so', async () => {
    db.pragma('foreign_keys = ON');
    db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    const group = new GroupCommit(db);
    group.open();
    db.prepare('INSERT INTO t VALUES (1)').run();
    db.prepare('INSERT INTO child VALUES (42)').run(); // fails only at COMMIT
    const told: unknown[] = [];
    group.onFailure = (err) => told.push(err);
    const waiters = [group.settled(), group.settled()];
    for (const w of waiters) await expect(w).rejects.toThrow(/FOREIGN KEY/);
    expect(group.failures).toBe(1);
    expect(told).toHaveLength(1);
    expect(db.inTransaction).toBe(false);
    expect(seen()).toEqual([]);
    // The next group starts afresh; one committed by hand throws to its caller too.
    group.open();
    db.prepare('INSERT INTO t VALUES (3)').run();
    await group.settled();
    expect(seen()).toEqual([3]);
    group.open();
    db.prepare('INSERT INTO child VALUES (43)').run();
    expect(() => group.commit()).toThrow(/FOREIGN KEY/);
    expect(group.failures).toBe(2);
    // … and is told to onFailure as well: answered requests were rolled back, whoever committed.
    expect(told).toHaveLength(2);
  });

  it("a failure onFailure throws is thrown again on the next tick, out of reach of commit()'s caller", async () => {
    db.pragma('foreign_keys = ON');
    db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    const group = new GroupCommit(db);
    group.onFailure = (err) => {
      throw err;
    };
    const uncaught: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (err) => uncaught.push(err));
    try {
      group.open();
      db.prepare('INSERT INTO child VALUES (44)').run();
      // A caller that catches its own error and goes on (as the mover does with a failed step).
      expect(() => group.commit()).toThrow(/FOREIGN KEY/);
      await new Promise((r) => setImmediate(r));
      expect(uncaught).toHaveLength(1);
      expect(String(uncaught[0])).toMatch(/FOREIGN KEY/);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of listeners) process.on('uncaughtException', l);
    }
  });
});

describe('the catalog inside a group', () => {
  it('commits the group before a durable transaction and before a rename intent, which are then on disk', async () => {
    const catalog = new Catalog(join(dir.path, 'catalog.db'));
    const other = new Database(join(dir.path, 'catalog.db'), { readonly: true });
    try {
      const renames = () => (other.prepare('SELECT count(*) AS n FROM renames').get() as { n: number }).n;
      const meta = (k: string) => other.prepare('SELECT value FROM meta WHERE key = ?').get(k);
      catalog.group.open();
      catalog.setMeta('group-test', 'x');
      expect(meta('group-test')).toBeUndefined();
      catalog.beginRename({ parent: ROOT_INO, name: 'a', newParent: ROOT_INO, newName: 'b' });
      expect(renames()).toBe(1);
      expect(meta('group-test')).toBeDefined();

      catalog.group.open();
      catalog.setMeta('group-test-2', 'y');
      catalog.durableTx(() => catalog.setMeta('durable', 'z'));
      expect(meta('group-test-2')).toBeDefined();
      expect(meta('durable')).toBeDefined();

      // A configuration version is synced before the file is written: inside a group too.
      const versions = new ConfigVersions(catalog.db, 100, () => catalog.group.commit());
      catalog.group.open();
      catalog.setMeta('group-test-3', 'w');
      versions.add({ uid: 0, user: 'root', message: 'm', text: 'dataDir: ./d\n', restoredFrom: null, fileWritten: false });
      expect(meta('group-test-3')).toBeDefined();
      expect((other.prepare('SELECT count(*) AS n FROM config_versions').get() as { n: number }).n).toBe(1);
    } finally {
      other.close();
      catalog.close();
    }
  });

  it('lets an online backup finish whole while requests keep opening groups', async () => {
    const catalog = new Catalog(join(dir.path, 'catalog.db'));
    try {
      for (let i = 0; i < 500; i++) catalog.setMeta(`k${i}`, 'x'.repeat(200));
      let stop = false;
      let n = 0;
      // Groups opened from I/O callbacks, as requests open them; without the hold a backup
      // step lands inside one, copies nothing, and the backup ends without a file.
      const requests = (async () => {
        while (!stop) {
          await fs.promises.stat(dir.path);
          catalog.group.open();
          catalog.setMeta(`z${n++}`, 'y');
        }
      })();
      try {
        for (let i = 0; i < 10; i++) {
          const copy = join(dir.path, `copy${i}.db`);
          await catalog.backupTo(copy);
          const db = new Database(copy, { readonly: true });
          expect((db.prepare("SELECT count(*) AS n FROM meta WHERE key LIKE 'k%'").get() as { n: number }).n).toBe(500);
          db.close();
        }
      } finally {
        stop = true;
        await requests;
      }
      expect(n).toBeGreaterThan(0);
    } finally {
      catalog.close();
    }
  });
});

describe('requests answered before or after their commit', () => {
  let catalog: Catalog;
  let hot: LocalTier;
  let vfs: Vfs;
  let ops: FuseOps;
  let other: Database.Database;
  beforeEach(() => {
    catalog = new Catalog(join(dir.path, 'catalog.db'));
    hot = new LocalTier({ name: 'hot', kind: 'local', volumes: [{ path: join(dir.path, 'hot') }], watermarks: { high: 0.9, low: 0.75 } });
    vfs = new Vfs(catalog, new TierSet([{ kind: 'local', name: 'hot', local: hot }]), new AccessRecorder(catalog, { enabled: false, flushIntervalMs: 10_000, logMaxRows: 100 }));
    ops = createFuseOps(vfs, { attrTimeoutS: 0, entryTimeoutS: 0, negativeTimeoutS: 0, fastPath: true });
    other = new Database(join(dir.path, 'catalog.db'), { readonly: true });
  });
  afterEach(() => {
    other.close();
    vfs.closeAll();
    catalog.close();
  });
  const committedNames = () => (other.prepare('SELECT name FROM dirents WHERE parent = ? ORDER BY name').all(ROOT_INO) as { name: string }[]).map((r) => r.name);

  it('a create is answered before its commit; a daemon killed then loses it from the catalog, and the next mount finds it on the tier', async () => {
    const created = await ops.create(caller, ROOT_INO, 'new', 0o640, fs.constants.O_RDWR);
    expect(committedNames()).toEqual([]); // answered, and not committed yet
    fs.writeFileSync(join(dir.path, 'hot', 'new'), 'the bytes'); // as the kernel's write would, natively
    // What a kill -9 now leaves: the catalog as committed (copied with its WAL), the tier as it is.
    const crashed = join(dir.path, 'crashed');
    fs.mkdirSync(crashed);
    for (const f of ['catalog.db', 'catalog.db-wal']) fs.copyFileSync(join(dir.path, f), join(crashed, f));
    const after = new Catalog(join(crashed, 'catalog.db'));
    try {
      expect(after.lookup(ROOT_INO, 'new')).toBeUndefined();
      expect(reconcile(after, [hot]).imported).toBe(1);
      const found = after.lookup(ROOT_INO, 'new');
      expect(found).toMatchObject({ size: 9, tier: 'hot', mode: 0o100640 });
    } finally {
      after.close();
    }
    await catalog.group.settled();
    expect(committedNames()).toEqual(['new']);
    await ops.release(caller, created.attr.ino, created.fh, 0);
  });

  it('requests that only read run in the open group’s transaction (one they open if none is), and change nothing', async () => {
    const h = await ops.create(caller, ROOT_INO, 'r', 0o644, fs.constants.O_RDWR);
    await ops.release(caller, h.attr.ino, h.fh, 0);
    await catalog.group.settled();
    expect(catalog.db.inTransaction).toBe(false);
    const commits = catalog.group.commits;
    // Outside a transaction each statement would take and drop SQLite's locks itself.
    await ops.lookup(caller, ROOT_INO, 'r');
    expect(catalog.db.inTransaction).toBe(true); // open until the end of this turn
    await ops.getattr(caller, h.attr.ino);
    await catalog.group.settled();
    expect(catalog.db.inTransaction).toBe(false);
    expect(catalog.group.commits).toBe(commits);
  });

  it('a chmod is answered only once committed; a rename once the row that says it is under way is; an unlink at once', async () => {
    for (const name of ['a', 'b']) {
      const h = await ops.create(caller, ROOT_INO, name, 0o644, fs.constants.O_RDWR);
      await ops.release(caller, h.attr.ino, h.fh, 0);
    }
    await catalog.group.settled();
    await ops.rename(caller, ROOT_INO, 'a', ROOT_INO, 'c', 0);
    // The next mount finishes the rename from the row, should the daemon die now.
    expect(committedNames()).toEqual(['a', 'b']);
    expect(other.prepare('SELECT name, new_name AS newName FROM renames').all()).toEqual([{ name: 'a', newName: 'c' }]);
    await catalog.group.settled();
    expect(committedNames()).toEqual(['b', 'c']);
    expect(other.prepare('SELECT count(*) FROM renames').pluck().get()).toBe(0);
    await ops.unlink(caller, ROOT_INO, 'b');
    // Its backing name waits in the temp directory for the commit: the next mount would
    // finish the unlink from it (Vfs.finishUnlinks).
    expect(committedNames()).toEqual(['b', 'c']);
    const temp = join(dir.path, 'hot', '.tierfs-tmp');
    expect(fs.readdirSync(temp)).toEqual([expect.stringMatching(/^unlinking-/)]);
    await catalog.group.settled();
    expect(committedNames()).toEqual(['c']);
    expect(fs.readdirSync(temp)).toEqual([]);
    const ino = catalog.lookup(ROOT_INO, 'c')!.ino;
    await ops.setattr(caller, ino, { mode: 0o600 });
    expect((other.prepare('SELECT mode FROM inodes WHERE ino = ?').get(ino) as { mode: number }).mode & 0o777).toBe(0o600);
  });

  it('the unlinks of a group that never committed are finished from their names set aside', async () => {
    for (const name of ['a', 'b', 'keep']) {
      const h = await ops.create(caller, ROOT_INO, name, 0o644, fs.constants.O_RDWR);
      await ops.write(caller, h.attr.ino, h.fh, Buffer.from(`bytes of ${name}`), 0);
      await ops.release(caller, h.attr.ino, h.fh, 0);
    }
    await ops.link(caller, catalog.lookup(ROOT_INO, 'b')!.ino, ROOT_INO, 'b2');
    await catalog.group.settled();
    await ops.unlink(caller, ROOT_INO, 'a');
    await ops.unlink(caller, ROOT_INO, 'b');
    // The group is lost (as when the daemon dies before it commits); the names set aside stay.
    catalog.db.exec('ROLLBACK');
    expect(() => catalog.group.commit()).toThrow(/rolled the transaction back/);
    expect(committedNames()).toEqual(['a', 'b', 'b2', 'keep']);

    expect(vfs.finishUnlinks()).toBe(2);
    expect(committedNames()).toEqual(['b2', 'keep']);
    expect(fs.readdirSync(join(dir.path, 'hot', '.tierfs-tmp'))).toEqual([]);
    const b2 = catalog.lookup(ROOT_INO, 'b2')!;
    expect(b2.nlink).toBe(1);
    expect(fs.readFileSync(vfs.backingPath(b2), 'utf8')).toBe('bytes of b');
    expect(reconcile(catalog, [hot]).missing).toBe(0);
  });
});

describe('rename intents', () => {
  it('get an id of their own for as long as the catalog is open, also once the earlier ones ended', () => {
    const catalog = new Catalog(join(dir.path, 'intents.db'));
    try {
      const begin = () => catalog.beginRename({ parent: ROOT_INO, name: 'a', newParent: ROOT_INO, newName: 'b' });
      const first = begin();
      catalog.endRename(first);
      const second = begin();
      // (The table's next row id would be `first` again: the table was empty.)
      expect(second).not.toBe(first);
      const third = begin();
      catalog.endRename(second);
      expect(new Set([first, second, third, begin()]).size).toBe(4);
    } finally {
      catalog.close();
    }
  });

  it('start above the pending ones a catalog opens with', () => {
    const path = join(dir.path, 'pending.db');
    const before = new Catalog(path);
    const pending = before.beginRename({ parent: ROOT_INO, name: 'a', newParent: ROOT_INO, newName: 'b' });
    before.close();
    const after = new Catalog(path);
    try {
      expect(after.pendingRenames().map((r) => r.id)).toEqual([pending]);
      expect(after.beginRename({ parent: ROOT_INO, name: 'c', newParent: ROOT_INO, newName: 'd' })).toBeGreaterThan(pending);
    } finally {
      after.close();
    }
  });
});
