// A directory the catalog holds empty may still have names in its backing directory on a
// volume: a file put there beside the mount (imported at the next mount), or a name
// reconcile could not import. Removing the directory through the mount removes its backing
// directories, and must not delete those unseen: rmdir, and a rename over the directory,
// fail with ENOTEMPTY and leave them; once they are gone (or imported), both work. A
// directory renamed to a name the catalog does not have, whose backing directory on a volume
// holds names, fails the same way; so does a file renamed to a free name that a file holds on
// its volume (EEXIST), or over a file whose bytes are on another volume while its own holds
// a stray at that name; a symlink's copy renamed (or exchanged) there leaves the stray too.
import { afterEach, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { exchangeNames } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** A mount whose file g has its bytes on warm, while hot holds a stray at g (put there beside the mount). */
async function mountWithStrayAtG(): Promise<TierfsMount> {
  const m = await new TierfsMount().start();
  try {
    await fs.writeFile(join(m.mnt, 'g'), 'on warm');
    expect((await m.cli(['move', join(m.mnt, 'g'), '--to', 'warm'])).code).toBe(0);
    writeFileSync(join(m.hot, 'g'), 'put beside the mount');
    return m;
  } catch (err) {
    await m.dispose(); // (not the test's t yet: afterEach would not unmount it)
    throw err;
  }
}

it('refuses to remove a directory whose backing holds names the mount does not show', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start();
  await fs.mkdir(join(t.mnt, 'd'));
  await fs.mkdir(join(t.mnt, 'e'));
  writeFileSync(join(t.hot, 'd', 'put-beside'), 'not in the catalog');
  expect(await fs.readdir(join(t.mnt, 'd'))).toEqual([]);

  await expect(fs.rmdir(join(t.mnt, 'd'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
  await expect(fs.rename(join(t.mnt, 'e'), join(t.mnt, 'd'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
  expect(existsSync(join(t.hot, 'd', 'put-beside'))).toBe(true);
  expect((await fs.readdir(t.mnt)).sort()).toEqual(['d', 'e']);
  expect(t.output).toContain('directory not removed: its backing directory holds names the catalog does not have');

  // The next mount imports it; then the directory is a directory with a file.
  await t.stop();
  await t.start();
  expect(await fs.readFile(join(t.mnt, 'd', 'put-beside'), 'utf8')).toBe('not in the catalog');
  await fs.unlink(join(t.mnt, 'd', 'put-beside'));
  await fs.rename(join(t.mnt, 'e'), join(t.mnt, 'd'));
  await fs.rmdir(join(t.mnt, 'd'));
  expect(await fs.readdir(t.mnt)).toEqual([]);
  expect(existsSync(join(t.hot, 'd'))).toBe(false);
});

it('refuses to rename a directory to a free name whose backing directory holds names the mount does not show', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start();
  await fs.mkdir(join(t.mnt, 'd'));
  await fs.writeFile(join(t.mnt, 'd', 'f'), 'through the mount');
  mkdirSync(join(t.hot, 'e'));
  writeFileSync(join(t.hot, 'e', 'put-beside'), 'not in the catalog');
  expect(await fs.readdir(t.mnt)).toEqual(['d']);

  await expect(fs.rename(join(t.mnt, 'd'), join(t.mnt, 'e'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
  expect(readFileSync(join(t.hot, 'e', 'put-beside'), 'utf8')).toBe('not in the catalog');
  expect(await fs.readFile(join(t.mnt, 'd', 'f'), 'utf8')).toBe('through the mount');
  expect(t.output).toContain('directory not removed: its backing directory holds names the catalog does not have');

  // A file there, or a symlink, is as unseen.
  rmSync(join(t.hot, 'e'), { recursive: true });
  writeFileSync(join(t.hot, 'e'), 'a file, not in the catalog');
  await expect(fs.rename(join(t.mnt, 'd'), join(t.mnt, 'e'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
  expect(readFileSync(join(t.hot, 'e'), 'utf8')).toBe('a file, not in the catalog');

  // Gone from the volume, the name is free.
  rmSync(join(t.hot, 'e'));
  await fs.rename(join(t.mnt, 'd'), join(t.mnt, 'e'));
  expect(await fs.readFile(join(t.mnt, 'e', 'f'), 'utf8')).toBe('through the mount');
});

it('refuses to rename a file to a free name where its volume holds a file the mount does not show', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start();
  await fs.writeFile(join(t.mnt, 'f'), 'through the mount');
  writeFileSync(join(t.hot, 'g'), 'put beside the mount');
  expect(await fs.readdir(t.mnt)).toEqual(['f']);

  await expect(fs.rename(join(t.mnt, 'f'), join(t.mnt, 'g'))).rejects.toMatchObject({ code: 'EEXIST' });
  expect(readFileSync(join(t.hot, 'g'), 'utf8')).toBe('put beside the mount');
  expect(await fs.readFile(join(t.mnt, 'f'), 'utf8')).toBe('through the mount');
  expect(t.output).toContain('file not renamed: its new name on the volume holds a file the catalog does not have');

  // Over a file the mount shows, the rename replaces it, as ever.
  rmSync(join(t.hot, 'g'));
  await fs.writeFile(join(t.mnt, 'g'), 'shown');
  await fs.rename(join(t.mnt, 'f'), join(t.mnt, 'g'));
  expect(await fs.readFile(join(t.mnt, 'g'), 'utf8')).toBe('through the mount');
});

it('refuses to rename a file over one on another tier where its own volume holds a stray at that name', { timeout: 120_000 }, async () => {
  t = await mountWithStrayAtG();
  await fs.writeFile(join(t.mnt, 'f'), 'through the mount');

  // f's volume holds nothing of g's at that name: the file there is nobody's the mount shows.
  await expect(fs.rename(join(t.mnt, 'f'), join(t.mnt, 'g'))).rejects.toMatchObject({ code: 'EEXIST' });
  expect(readFileSync(join(t.hot, 'g'), 'utf8')).toBe('put beside the mount');
  expect(await fs.readFile(join(t.mnt, 'g'), 'utf8')).toBe('on warm');
  expect(await fs.readFile(join(t.mnt, 'f'), 'utf8')).toBe('through the mount');
  expect(t.output).toContain('file not renamed: its new name on the volume holds a file the catalog does not have');

  // Without the stray, the rename replaces g and its copy on warm goes.
  rmSync(join(t.hot, 'g'));
  await fs.rename(join(t.mnt, 'f'), join(t.mnt, 'g'));
  expect(await fs.readFile(join(t.mnt, 'g'), 'utf8')).toBe('through the mount');
  expect(existsSync(join(t.warm, 'g'))).toBe(false);
});

it('a symlink renamed over a file on another tier leaves a stray at that name on the first tier', { timeout: 120_000 }, async () => {
  t = await mountWithStrayAtG();
  await fs.symlink('somewhere', join(t.mnt, 's'));

  // The catalog's rename is the mount's; the symlink's copy on the tier is a mirror, and a
  // stray where it would go stays (the copy goes instead, or the next mount shows s again).
  await fs.rename(join(t.mnt, 's'), join(t.mnt, 'g'));
  expect(await fs.readlink(join(t.mnt, 'g'))).toBe('somewhere');
  expect(await fs.readdir(t.mnt)).toEqual(['g']);
  expect(readFileSync(join(t.hot, 'g'), 'utf8')).toBe('put beside the mount');
  expect(lstatSync(join(t.hot, 's'), { throwIfNoEntry: false })).toBeUndefined();
  expect(t.output).toContain("symlink's copy not renamed: its new name on the volume holds a file or directory the catalog does not have");
});

it('an exchange of a symlink with a file on another tier goes ahead where a stray holds the name on the first tier; the copy goes', { timeout: 120_000 }, async () => {
  t = await mountWithStrayAtG();
  await fs.symlink('somewhere', join(t.mnt, 's'));

  // On hot only the symlink's copy would move, and the stray holds its new name: the
  // mirror gives way (the copy is removed), the mount's exchange does not.
  expect(await exchangeNames(join(t.mnt, 's'), join(t.mnt, 'g'))).toBe(0);
  expect(await fs.readlink(join(t.mnt, 'g'))).toBe('somewhere');
  expect(await fs.readFile(join(t.mnt, 's'), 'utf8')).toBe('on warm');
  expect(readFileSync(join(t.warm, 's'), 'utf8')).toBe('on warm');
  expect(readFileSync(join(t.hot, 'g'), 'utf8')).toBe('put beside the mount');
  expect(lstatSync(join(t.hot, 's'), { throwIfNoEntry: false })).toBeUndefined();
  expect(t.output).toContain("symlink's copy not exchanged on the volume; the copy is removed");
});

it('refuses to exchange a file with one on another tier where its own volume holds a stray at that name, and says why', { timeout: 120_000 }, async () => {
  t = await mountWithStrayAtG();
  await fs.writeFile(join(t.mnt, 'f'), 'through the mount');

  expect(await exchangeNames(join(t.mnt, 'f'), join(t.mnt, 'g'))).toBe(17); // EEXIST
  expect(await fs.readFile(join(t.mnt, 'f'), 'utf8')).toBe('through the mount');
  expect(await fs.readFile(join(t.mnt, 'g'), 'utf8')).toBe('on warm');
  expect(readFileSync(join(t.hot, 'g'), 'utf8')).toBe('put beside the mount');
  expect(readFileSync(join(t.warm, 'g'), 'utf8')).toBe('on warm');
  expect(t.output).toContain('file not renamed: its new name on the volume holds a file the catalog does not have');
});
