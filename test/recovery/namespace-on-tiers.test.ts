// The tiers carry the namespace (issue 18, point 1): directories — empty ones too, with
// their mode and owner — and symlinks exist on the first local tier at their path,
// through renames, replacements and removals, so a catalog lost with no backup at all
// still comes back with them.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { deleteCatalog, setXattr } from './fixture.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

it('empty directories and symlinks survive the loss of the catalog with no backup', async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { backup: { enabled: false } }\n' }).start();
  const m = (p: string) => join(t!.mnt, p);
  await fs.mkdir(m('empty'), { mode: 0o700 });
  await fs.chown(m('empty'), 7, 8);
  await fs.mkdir(m('a/b/c'), { recursive: true });
  await fs.chmod(m('a/b'), 0o750);
  await fs.symlink('../x', m('a/lnk'));
  await fs.lchown(m('a/lnk'), 1234, 5678);
  await fs.rename(m('a/lnk'), m('a/b/lnk2'));
  await fs.symlink('/nowhere', m('dangling'));
  await fs.link(m('dangling'), m('a/dangling-too')); // a hard link of the symlink itself
  await fs.symlink('gone', m('gone'));
  await fs.unlink(m('gone'));
  // A symlink renamed over a file, and a file renamed over a symlink.
  await fs.writeFile(m('victim'), 'replaced by a symlink');
  await fs.symlink('victim-was-here', m('over'));
  await fs.rename(m('over'), m('victim'));
  await fs.symlink('replaced', m('s2'));
  await fs.writeFile(m('f'), 'a file over a symlink');
  await fs.rename(m('f'), m('s2'));
  await fs.mkdir(m('tmpdir'));
  await fs.rmdir(m('tmpdir'));
  await fs.rename(m('a'), m('a2'));
  const before = await snapshotTree(t.mnt);
  await t.stop();

  // A plain copy of the tree on the hot volume, readable without tierfs.
  expect(readlinkSync(join(t.hot, 'a2/b/lnk2'))).toBe('../x');
  expect(lstatSync(join(t.hot, 'a2/b/lnk2'))).toMatchObject({ uid: 1234, gid: 5678 });
  expect(readlinkSync(join(t.hot, 'victim'))).toBe('victim-was-here');
  expect(readlinkSync(join(t.hot, 'a2/dangling-too'))).toBe('/nowhere');
  expect(lstatSync(join(t.hot, 's2')).isFile()).toBe(true);
  expect(statSync(join(t.hot, 'empty'))).toMatchObject({ uid: 7, gid: 8 });
  expect(statSync(join(t.hot, 'empty')).mode & 0o7777).toBe(0o700);
  expect(existsSync(join(t.hot, 'gone')) || existsSync(join(t.hot, 'tmpdir')) || existsSync(join(t.hot, 'a'))).toBe(false);

  deleteCatalog(t);
  await t.start();
  expect(diffTrees(before, await snapshotTree(t.mnt), { ignore: ['dir.mtime'] })).toEqual([]);
});

it('xattrs, classes and pins of local files and directories survive the loss of the catalog with no backup', async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { backup: { enabled: false } }\n' }).start();
  const m = (p: string) => join(t!.mnt, p);
  await fs.mkdir(m('d/e'), { recursive: true });
  await fs.writeFile(m('d/e/f'), 'a file with xattrs');
  await fs.link(m('d/e/f'), m('d/f-link'));
  await fs.writeFile(m('moved'), 'moved to warm after its xattrs were set');
  await fs.writeFile(m('plain'), 'no xattrs at all');
  setXattr(m('d/e/f'), 'user.color', 'blue');
  setXattr(m('d/e/f'), 'user.gone', 'removed before the loss');
  setXattr(m('d'), 'user.tierfs.class', 'critical');
  setXattr(m('d/e'), 'user.tierfs.pin', 'hot');
  setXattr(m('moved'), 'user.color', 'red');
  setXattr(m('moved'), 'user.tierfs.pin', 'warm');
  expect((await t.cli(['move', m('moved'), '--to', 'warm'])).code).toBe(0);
  // Changed after the move: the warm copy follows.
  setXattr(m('moved'), 'user.color', 'green');
  removeXattr(m('d/e/f'), 'user.gone');
  const before = await snapshotTree(t.mnt);
  const hex = (v: string) => `0x${Buffer.from(v).toString('hex')}`;
  expect(before.get('moved')!.xattrs).toEqual({ 'user.color': hex('green'), 'user.tierfs.pin': hex('warm') });
  expect(before.get('d/e/f')!.xattrs).toEqual({ 'user.color': hex('blue'), 'user.tierfs.pin': hex('hot') }); // the pin is inherited
  expect(before.get('d')!.xattrs).toEqual({ 'user.tierfs.class': hex('critical') });
  await t.stop();

  // On the volumes, readable without tierfs.
  expect(getXattr(join(t.warm, 'moved'), 'user.color')).toBe('green');
  expect(getXattr(join(t.hot, 'd'), 'user.tierfs.class')).toBe('critical');
  expect(getXattr(join(t.hot, 'd/e/f'), 'user.gone')).toBeUndefined();

  deleteCatalog(t);
  await t.start();
  const after = await snapshotTree(t.mnt);
  expect(diffTrees(before, after, { ignore: ['dir.mtime'] })).toEqual([]);
  await t.stop();
  // The class and the pin are placement inputs again, not only xattrs.
  const db = new Database(join(t.dataDir, 'catalog.db'), { readonly: true });
  try {
    const row = (name: string) => db.prepare('SELECT class, pin FROM inodes JOIN dirents USING (ino) WHERE name = ?').get(name);
    expect(row('d')).toEqual({ class: 'critical', pin: null });
    expect(row('e')).toEqual({ class: null, pin: 'hot' });
    expect(row('moved')).toEqual({ class: null, pin: 'warm' });
  } finally {
    db.close();
  }
});

function removeXattr(path: string, name: string): void {
  execFileSync('setfattr', ['-x', name, path]);
}

function getXattr(path: string, name: string): string | undefined {
  try {
    return execFileSync('getfattr', ['--only-values', '-n', name, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}
