// Catalog backups (issue 18, points 2 and 3): taken on schedule while the mount is
// written, each a consistent catalog; pruned to `keep`; and the one way back — the
// newest good backup, then what the tiers gained after it — through `catalog restore`,
// `fsck --rebuild` and a plain mount alike.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { TierfsMount } from '../helpers/tierfs.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';
import { tempDir } from '../helpers/tmp.js';
import { createObjectStore } from '../../src/objectstore/index.js';
import { backendConfigSchema } from '../../src/config/backends.js';
import { deleteCatalog, mountWithCold, moveTo, setXattr, tierOf, writeFiles, type ColdMount } from './fixture.js';


/** Several mounts, moves and CLI runs each: minutes on a loaded two-core machine. */
const HEAVY = 360_000;
let c: ColdMount | undefined;
let plain: TierfsMount | undefined;
afterEach(async () => {
  await c?.dispose();
  await plain?.dispose();
  c = plain = undefined;
});

const SAME_FILES = { ignore: ['dir.mtime'] };

async function json<T = any>(t: TierfsMount, args: string[]): Promise<T> {
  const r = await t.cli(args);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const fsidOf = async (t: TierfsMount) => (await json(t, ['status', '--json', t.mnt])).fsid as string;

/** The backend "a" of the cold tier, where backups go by default. */
const backupBackend = (cm: ColdMount) => createObjectStore(backendConfigSchema.parse({ type: 'fs', root: join(cm.coldRoot, 'a') }));

/** A backup as an SQLite file, checked the way a restore would not bother to: integrity_check and the namespace's own invariants. */
async function checkBackup(cm: ColdMount, key: string, fsid: string): Promise<number> {
  const { data } = await backupBackend(cm).get(key);
  const dir = tempDir('tierfs-backup-check-');
  try {
    const file = join(dir.path, 'copy.db');
    writeFileSync(file, gunzipSync(data));
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare("SELECT value FROM meta WHERE key = 'fsid'").pluck().get()).toBe(fsid);
      // Every name points at an inode, and every file's link count is its number of names.
      expect(db.prepare('SELECT count(*) FROM dirents d LEFT JOIN inodes i ON i.ino = d.ino WHERE i.ino IS NULL').pluck().get()).toBe(0);
      expect(
        db.prepare(`SELECT count(*) FROM inodes i WHERE (i.mode & 61440) = 32768 AND i.nlink > 0
          AND i.nlink != (SELECT count(*) FROM dirents d WHERE d.ino = i.ino)`).pluck().get(),
      ).toBe(0);
      return db.prepare('SELECT count(*) FROM inodes').pluck().get() as number;
    } finally {
      db.close();
    }
  } finally {
    dir.remove();
  }
}

describe('automatic catalog backups', () => {
  it('are taken on schedule while files are written, each a consistent catalog, and pruned to keep', async () => {
    c = mountWithCold('catalog: { backup: { interval: 300ms, keep: 3 } }\n');
    const { t } = c;
    await t.start();
    const fsid = await fsidOf(t);
    // Writes, renames and removals the whole time backups are taken: four seconds, and
    // until four backups are (each one's uploads and fsyncs may take long on a busy disk).
    await fs.mkdir(join(t.mnt, 'w'));
    const backedUp = () => (t.output.match(/"msg":"catalog backed up"/g) ?? []).length;
    const until = Date.now() + 4000;
    const giveUp = Date.now() + 30_000;
    let n = 0;
    while ((Date.now() < until || backedUp() <= 3) && Date.now() < giveUp) {
      const p = join(t.mnt, 'w', `f${n}`);
      await fs.writeFile(p, randomBytes(512));
      if (n % 3 === 1) await fs.rename(p, join(t.mnt, 'w', `renamed${n}`));
      if (n % 5 === 4) await fs.link(join(t.mnt, 'w', `f${n - 1}`), join(t.mnt, 'w', `link${n}`)).catch(() => undefined);
      if (n % 7 === 6) await fs.unlink(join(t.mnt, 'w', `f${n - 2}`)).catch(() => undefined);
      n++;
    }
    expect(backedUp()).toBeGreaterThan(3);
    const s = await json(t, ['status', '--json', t.mnt]);
    expect(s.catalog.backup.where).toBe('tier cold (backend a)');
    expect(s.background.tasks.find((x: { name: string }) => x.name === 'catalog-backup').failures).toBe(0);
    // Stopped, so that no backup is taken or pruned while they are looked at.
    await t.stop();

    const listed = await json<{ key: string; time: string }[]>(t, ['catalog', 'backups', '--config', t.configFile, '--json']);
    expect(listed).toHaveLength(3);
    expect(listed.map((b) => b.time)).toEqual([...listed.map((b) => b.time)].sort().reverse());
    for (const b of listed) expect(b.key.startsWith(`${fsid}/_catalog/`)).toBe(true);
    expect(listed[0]!.key >= s.catalog.backup.last.key).toBe(true);
    for (const b of listed) expect(await checkBackup(c, b.key, fsid)).toBeGreaterThan(1);
  }, HEAVY);

  it('without an object tier go to dataDir/backups; `tierfs catalog backup` takes one now', async () => {
    plain = new TierfsMount({ extraYaml: 'catalog: { backup: { interval: 1h } }\n' });
    await plain.start();
    await fs.writeFile(join(plain.mnt, 'x'), 'x');
    const b = await json(plain, ['catalog', 'backup', '--json', plain.mnt]);
    expect(b.where).toBe(`directory ${join(plain.dataDir, 'backups')}`);
    expect(readdirSync(join(plain.dataDir, 'backups', await fsidOf(plain), '_catalog'))).toEqual([`${b.key.split('/')[2]}~`]);
    const listed = await json(plain, ['catalog', 'backups', '--config', plain.configFile, '--json']);
    expect(listed.map((x: { key: string }) => x.key)).toEqual([b.key]);
  }, HEAVY);
});

/**
 * Everything only the catalog held before issue 18 (a symlink, an empty directory with
 * its mode and owner, user xattrs on local and cold files, a class, a pin, a cold file
 * renamed), backed up; then changes after the backup that the tiers alone record.
 * Returns the backup's key.
 */
async function workloadAroundABackup(t: TierfsMount): Promise<string> {
  const m = (p: string) => join(t.mnt, p);
  await writeFiles(t);
  await fs.symlink('docs/hot.txt', m('link-to-hot'));
  await fs.mkdir(m('empty'), { mode: 0o700 });
  await fs.chown(m('empty'), 7, 8);
  setXattr(m('docs/hot.txt'), 'user.color', 'blue');
  setXattr(m('docs/hot.txt'), 'user.gone', 'removed after the backup');
  setXattr(m('docs/deep/striped.bin'), 'user.color', 'grey');
  setXattr(m('docs/deep'), 'user.tierfs.class', 'critical');
  await fs.mkdir(m('keep'));
  await fs.writeFile(m('keep/pinned'), randomBytes(100));
  setXattr(m('keep'), 'user.tierfs.pin', 'hot');
  await fs.rename(m('docs/small-cold'), m('docs/renamed-cold'));
  await fs.writeFile(m('docs/gone-after'), 'deleted after the backup');
  await fs.writeFile(m('docs/changed-after'), 'before');
  const backup = (await json(t, ['catalog', 'backup', '--json', t.mnt])).key as string;

  // After the backup: new files on hot and cold, moves both ways, a change, a deletion.
  await fs.mkdir(m('after'));
  await fs.writeFile(m('after/new-hot'), randomBytes(5000));
  await fs.writeFile(m('after/new-cold'), randomBytes(200_000));
  await moveTo(t, 'after/new-cold', 'cold');
  await moveTo(t, 'warm.bin', 'cold'); // its warm copy goes: the backup points at nothing
  await moveTo(t, 'docs/deep/striped.bin', 'hot'); // its cold copy goes
  await fs.writeFile(m('docs/changed-after'), 'after, and longer');
  await fs.unlink(m('docs/gone-after'));
  setXattr(m('docs/hot.txt'), 'user.color', 'changed after the backup'); // the backing file has it
  execFileSync('setfattr', ['-x', 'user.gone', m('docs/hot.txt')]); // … and no longer this one
  await fs.chmod(m('docs/hot.txt'), 0o600); // owner and mode changed since: the backing file's are
  await fs.chown(m('docs/hot.txt'), 1234, 1234);
  await fs.chmod(m('empty'), 0o750);
  setXattr(m('after'), 'user.tierfs.pin', 'hot'); // so does the backing directory
  return backup;
}

describe('the one way back: the newest good backup, then the tiers', () => {
  it.each(['catalog restore', 'fsck --rebuild', 'mount'])('through %s: the tree comes back whole', async (way) => {
    c = mountWithCold('catalog: { backup: { interval: 1h } }\n');
    const { t } = c;
    await t.start();
    const backup = await workloadAroundABackup(t);
    const fsid = await fsidOf(t);
    const before = await snapshotTree(t.mnt);
    await t.stop();

    deleteCatalog(t);
    let report;
    if (way === 'mount') {
      await t.start();
      report = (await json(t, ['status', '--json', t.mnt])).catalog.lastRecovery;
    } else {
      report = await json(t, [...way.split(' '), '--config', t.configFile, '--json']);
      await t.start();
    }
    expect(report.fsid).toBe(fsid);
    expect(report.backup.used.key).toBe(backup);
    expect(report.manifests.restored).toEqual(['after/new-cold']);
    expect(report.manifests.relocated).toEqual([expect.stringMatching(/^warm\.bin: its copy on tier warm was gone; now copy \S+ on cold$/), expect.stringMatching(/^docs\/deep\/striped\.bin: its copy on tier cold was gone; now the file on tier hot/)]);
    // A file deleted after the backup cannot be told from one whose disk died: it is
    // kept, marked missing, and reported.
    expect(report.lost).toEqual(['docs/gone-after']);
    expect(report.notice).toMatch(/access history and heat recorded after it are lost/);

    const after = await snapshotTree(t.mnt);
    expect(diffTrees(before, after, SAME_FILES)).toEqual(['docs/gone-after: new file']);
    expect(after.get('docs/gone-after')!.sha256).toBe('error:EIO');
    expect(await tierOf(t, 'warm.bin')).toBe('cold');
    expect(await tierOf(t, 'docs/deep/striped.bin')).toBe('hot');
    const s = await json(t, ['status', '--json', t.mnt]);
    expect(s.conflicts).toEqual([expect.objectContaining({ path: 'docs/gone-after', kind: 'missing' })]);
  }, HEAVY);

  it('passes over a damaged newer backup to the good one before it, and says why', async () => {
    c = mountWithCold('catalog: { backup: { interval: 1h } }\n');
    const { t } = c;
    await t.start();
    await writeFiles(t);
    const good = (await json(t, ['catalog', 'backup', '--json', t.mnt])).key as string;
    await fs.writeFile(join(t.mnt, 'between'), 'made between the backups');
    const damaged = (await json(t, ['catalog', 'backup', '--json', t.mnt])).key as string;
    const before = await snapshotTree(t.mnt);
    await t.stop();
    // Flip bytes in the middle of the newer backup's object file.
    const file = join(c.coldRoot, 'a', ...damaged.split('/').slice(0, -1), `${damaged.split('/').pop()}~`);
    const bytes = await fs.readFile(file);
    bytes.fill(0x33, 40, 80);
    await fs.writeFile(file, bytes);

    deleteCatalog(t);
    const report = await json(t, ['fsck', '--rebuild', '--config', t.configFile, '--json']);
    expect(report.backup.used.key).toBe(good);
    expect(report.backup.skipped).toEqual([expect.stringContaining(damaged)]);
    await t.start();
    // What the damaged backup had beyond the good one comes back from the tiers.
    expect(diffTrees(before, await snapshotTree(t.mnt), SAME_FILES)).toEqual([]);
  }, HEAVY);

  it('catalog restore is refused while mounted, and keeps the catalog it replaces aside', async () => {
    c = mountWithCold('catalog: { backup: { interval: 1h } }\n');
    const { t } = c;
    await t.start();
    await fs.writeFile(join(t.mnt, 'one'), '1');
    await json(t, ['catalog', 'backup', '--json', t.mnt]);
    const refused = await t.cli(['catalog', 'restore', '--config', t.configFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/mounted .* unmount it first/);
    await fs.writeFile(join(t.mnt, 'two'), '2');
    await t.stop();

    const report = await json(t, ['catalog', 'restore', '--config', t.configFile, '--json']);
    expect(report.catalogKeptAs).toMatch(/catalog\.db\.replaced-\d{8}T\d{9}Z$/);
    expect(existsSync(report.catalogKeptAs)).toBe(true);
    await t.start();
    // 'two' is not in the backup: the hot tier brings it back.
    expect(await fs.readFile(join(t.mnt, 'two'), 'utf8')).toBe('2');
    rmSync(report.catalogKeptAs);
  }, HEAVY);
});
