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
import { deleteCatalog } from './fixture.js';

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
  expect(lstatSync(join(t.hot, 's2')).isFile()).toBe(true);
  expect(statSync(join(t.hot, 'empty'))).toMatchObject({ uid: 7, gid: 8 });
  expect(statSync(join(t.hot, 'empty')).mode & 0o7777).toBe(0o700);
  expect(existsSync(join(t.hot, 'gone')) || existsSync(join(t.hot, 'tmpdir')) || existsSync(join(t.hot, 'a'))).toBe(false);

  deleteCatalog(t);
  await t.start();
  expect(diffTrees(before, await snapshotTree(t.mnt), { ignore: ['dir.mtime'] })).toEqual([]);
});
