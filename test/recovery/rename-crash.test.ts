// A rename changes backing names on the tiers first and the catalog after. The daemon is
// killed between the two (TIERFS_TEST_CRASH_AT=renamed-backing): the next mount must
// finish the rename — the new name holds the bytes, the old one is gone, nothing is
// reported missing or imported twice — for a file, for a file renamed over another, and
// for a directory whose backing was renamed on one volume and not yet on another.
import { afterEach, expect, it } from 'vitest';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** Runs `rename` in a child process: the daemon dies while it waits, so it fails with ENOTCONN or EIO. */
async function renameAndCrash(m: TierfsMount, from: string, to: string): Promise<void> {
  await fs.rename(join(m.mnt, from), join(m.mnt, to)).catch(() => undefined);
  await waitFor(() => m.output.includes('test hook: crashing at renamed-backing'), 20_000, () => `no crash:\n${m.output}`);
  await m.kill9();
}

async function restartClean(m: TierfsMount): Promise<void> {
  await m.start();
  expect(m.output).toContain('finished a rename the daemon had died in');
  const status = JSON.parse((await m.cli(['status', '--json', m.mnt])).stdout);
  expect(status.conflicts).toEqual([]);
}

it('finishes a file rename into another directory', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_CRASH_AT: 'renamed-backing' });
  const data = randomBytes(100_000);
  await fs.mkdir(join(t.mnt, 'a'));
  await fs.mkdir(join(t.mnt, 'b'));
  await fs.writeFile(join(t.mnt, 'a', 'f'), data);
  await renameAndCrash(t, 'a/f', 'b/g');
  expect(existsSync(join(t.hot, 'b', 'g'))).toBe(true); // the crash came after the backing rename

  await restartClean(t);
  expect((await fs.readFile(join(t.mnt, 'b', 'g'))).equals(data)).toBe(true);
  expect(await fs.readdir(join(t.mnt, 'a'))).toEqual([]);
  expect(await fs.readdir(join(t.mnt, 'b'))).toEqual(['g']);
});

it('finishes a rename over another file: the replaced file is gone, its name holds the new bytes', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_CRASH_AT: 'renamed-backing' });
  const data = randomBytes(50_000);
  await fs.writeFile(join(t.mnt, 'new'), data);
  await fs.writeFile(join(t.mnt, 'old'), 'the replaced file');
  await renameAndCrash(t, 'new', 'old');

  await restartClean(t);
  expect(await fs.readdir(t.mnt)).toEqual(['old']);
  expect((await fs.readFile(join(t.mnt, 'old'))).equals(data)).toBe(true);
  const st = await fs.stat(join(t.mnt, 'old'));
  expect(st.nlink).toBe(1);
});

it('finishes a directory rename that reached one volume and not the other', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_CRASH_AT: 'renamed-backing' });
  const files = { 'd/on-hot': randomBytes(10_000), 'd/sub/on-warm': randomBytes(20_000) };
  await fs.mkdir(join(t.mnt, 'd', 'sub'), { recursive: true });
  for (const [p, data] of Object.entries(files)) await fs.writeFile(join(t.mnt, p), data);
  const moved = await t.cli(['move', join(t.mnt, 'd', 'sub', 'on-warm'), '--to', 'warm']);
  expect(moved.code, moved.stderr).toBe(0);
  await renameAndCrash(t, 'd', 'e');
  // As if the daemon had died between the two volumes: warm's backing not renamed yet.
  renameSync(join(t.warm, 'e'), join(t.warm, 'd'));

  await restartClean(t);
  expect(await fs.readdir(t.mnt)).toEqual(['e']);
  for (const [p, data] of Object.entries(files)) expect((await fs.readFile(join(t.mnt, p.replace(/^d\//, 'e/')))).equals(data)).toBe(true);
  expect(existsSync(join(t.warm, 'd'))).toBe(false);
  expect(existsSync(join(t.warm, 'e', 'sub', 'on-warm'))).toBe(true);
});

// A rename is answered before its names commit (the catalog's group commits them later,
// here a second later): the row saying it is under way committed first, and the next
// mount finishes what the caller was told had happened.
it('keeps renames that were answered and then lost with their uncommitted group', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  const data = randomBytes(30_000);
  await fs.mkdir(join(t.mnt, 'a'));
  await fs.writeFile(join(t.mnt, 'a', 'f'), data);
  await fs.writeFile(join(t.mnt, 'a', 'over'), 'the replaced file');
  await fs.writeFile(join(t.mnt, 'g'), 'to be renamed over');
  await new Promise((r) => setTimeout(r, 1500)); // all of that committed
  await fs.rename(join(t.mnt, 'a', 'f'), join(t.mnt, 'f2'));
  await fs.rename(join(t.mnt, 'g'), join(t.mnt, 'a', 'over'));
  await t.kill9(); // within the group's second

  await restartClean(t);
  expect((await fs.readdir(t.mnt)).sort()).toEqual(['a', 'f2']);
  expect((await fs.readFile(join(t.mnt, 'f2'))).equals(data)).toBe(true);
  expect(await fs.readdir(join(t.mnt, 'a'))).toEqual(['over']);
  expect(await fs.readFile(join(t.mnt, 'a', 'over'), 'utf8')).toBe('to be renamed over');
});

// A name renamed away and made again before the group commits: the next mount finishes the
// rename whose intent committed, and must not take the new file or directory under the
// old name for the one renamed (moving it over the renamed one would lose that one's bytes).
it('finishes a file rename without moving the file made again under its old name', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  const old = randomBytes(30_000);
  const fresh = randomBytes(20_000);
  await fs.writeFile(join(t.mnt, 'log'), old);
  await new Promise((r) => setTimeout(r, 1500)); // committed
  await fs.rename(join(t.mnt, 'log'), join(t.mnt, 'log.1'));
  await fs.writeFile(join(t.mnt, 'log'), fresh);
  await t.kill9(); // within the group's second

  await restartClean(t);
  expect((await fs.readdir(t.mnt)).sort()).toEqual(['log', 'log.1']);
  expect((await fs.readFile(join(t.mnt, 'log.1'))).equals(old)).toBe(true);
  expect((await fs.readFile(join(t.mnt, 'log'))).equals(fresh)).toBe(true);
});

it('finishes a directory rename without moving the directory made again under its old name', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  const old = randomBytes(30_000);
  const fresh = randomBytes(20_000);
  await fs.mkdir(join(t.mnt, 'out'));
  await fs.writeFile(join(t.mnt, 'out', 'f'), old);
  await new Promise((r) => setTimeout(r, 1500)); // committed
  await fs.rename(join(t.mnt, 'out'), join(t.mnt, 'out.old'));
  await fs.mkdir(join(t.mnt, 'out'));
  await fs.writeFile(join(t.mnt, 'out', 'f'), fresh);
  await t.kill9(); // within the group's second

  await restartClean(t);
  expect((await fs.readdir(t.mnt)).sort()).toEqual(['out', 'out.old']);
  expect((await fs.readFile(join(t.mnt, 'out.old', 'f'))).equals(old)).toBe(true);
  expect((await fs.readFile(join(t.mnt, 'out', 'f'))).equals(fresh)).toBe(true);
});

it('finishes a rename over a file on another tier without removing a file made under its name since', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  const fresh = randomBytes(20_000);
  await fs.writeFile(join(t.mnt, 'x'), randomBytes(30_000));
  await fs.writeFile(join(t.mnt, 'a'), 'the replaced file, on hot');
  const moved = await t.cli(['move', join(t.mnt, 'x'), '--to', 'warm']);
  expect(moved.code, moved.stderr).toBe(0);
  await new Promise((r) => setTimeout(r, 1500)); // committed
  // x (on warm) over a (on hot): a's name on hot is removed after the catalog's change.
  await fs.rename(join(t.mnt, 'x'), join(t.mnt, 'a'));
  await fs.unlink(join(t.mnt, 'a'));
  await fs.writeFile(join(t.mnt, 'a'), fresh); // a new file under the name, on hot
  expect(existsSync(join(t.hot, 'a'))).toBe(true);
  await t.kill9(); // within the group's second

  await restartClean(t);
  expect(await fs.readdir(t.mnt)).toEqual(['a']);
  expect((await fs.readFile(join(t.mnt, 'a'))).equals(fresh)).toBe(true);
});

it('removes a replaced file on another tier once the rename commits', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 200ms }\n' }).start();
  const data = randomBytes(30_000);
  await fs.writeFile(join(t.mnt, 'x'), data);
  await fs.writeFile(join(t.mnt, 'a'), 'the replaced file, on hot');
  const moved = await t.cli(['move', join(t.mnt, 'x'), '--to', 'warm']);
  expect(moved.code, moved.stderr).toBe(0);
  await fs.rename(join(t.mnt, 'x'), join(t.mnt, 'a'));
  expect(existsSync(join(t.hot, 'a'))).toBe(false); // set aside at once
  const setAside = () => readdirSync(join(t!.hot, '.tierfs-tmp')).filter((n) => n.startsWith('replaced-'));
  await waitFor(() => setAside().length === 0, 10_000, () => `still set aside: ${setAside().join(' ')}`);
  expect((await fs.readFile(join(t.mnt, 'a'))).equals(data)).toBe(true);
});

it('finishes a symlink rename without moving the symlink made again under its old name', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  await fs.symlink('first', join(t.mnt, 'l'));
  await new Promise((r) => setTimeout(r, 1500)); // committed
  await fs.rename(join(t.mnt, 'l'), join(t.mnt, 'l.old'));
  await fs.symlink('second', join(t.mnt, 'l'));
  await t.kill9(); // within the group's second

  await restartClean(t);
  expect((await fs.readdir(t.mnt)).sort()).toEqual(['l', 'l.old']);
  expect(await fs.readlink(join(t.mnt, 'l.old'))).toBe('first');
  expect(await fs.readlink(join(t.mnt, 'l'))).toBe('second');
});

it('finishes a directory rename over an empty directory', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  const data = randomBytes(30_000);
  await fs.mkdir(join(t.mnt, 'e'));
  await fs.writeFile(join(t.mnt, 'e', 'f'), data);
  await fs.mkdir(join(t.mnt, 'd'));
  await new Promise((r) => setTimeout(r, 1500)); // committed
  await fs.rename(join(t.mnt, 'e'), join(t.mnt, 'd'));
  await t.kill9(); // within the group's second

  await restartClean(t);
  expect(await fs.readdir(t.mnt)).toEqual(['d']);
  expect((await fs.readFile(join(t.mnt, 'd', 'f'))).equals(data)).toBe(true);
});
