// A rename changes backing names on the tiers first and the catalog after. The daemon is
// killed between the two (TIERFS_TEST_CRASH_AT=renamed-backing): the next mount must
// finish the rename — the new name holds the bytes, the old one is gone, nothing is
// reported missing or imported twice — for a file, for a file renamed over another, and
// for a directory whose backing was renamed on one volume and not yet on another.
import { afterEach, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { exchangeNames, waitFor } from '../helpers/mount.js';

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
  expect(status.conflicts, JSON.stringify(status.conflicts)).toEqual([]);
}

/**
 * A directory d with a file on hot and one on warm, renamed to e by a daemon that dies
 * after the backing renames; warm's is then undone, as if it had died between the two
 * volumes. Returns the files (under d) and their bytes.
 */
async function renameSplitAcrossVolumes(m: TierfsMount): Promise<Record<string, Buffer>> {
  const files = { 'd/on-hot': randomBytes(10_000), 'd/sub/on-warm': randomBytes(20_000) };
  await fs.mkdir(join(m.mnt, 'd', 'sub'), { recursive: true });
  for (const [p, data] of Object.entries(files)) await fs.writeFile(join(m.mnt, p), data);
  const moved = await m.cli(['move', join(m.mnt, 'd', 'sub', 'on-warm'), '--to', 'warm']);
  expect(moved.code, moved.stderr).toBe(0);
  await renameAndCrash(m, 'd', 'e');
  renameSync(join(m.warm, 'e'), join(m.warm, 'd'));
  return files;
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
  const files = await renameSplitAcrossVolumes(t);

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

// An exchange (RENAME_EXCHANGE) trades two names' backings, then their names in the
// catalog, under an intent as a rename: a mount after a crash finishes it, volume by volume.
const exchange = (m: TierfsMount, a: string, b: string) => exchangeNames(join(m.mnt, a), join(m.mnt, b));

it('keeps an exchange that was answered and then lost with its uncommitted group', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  const [dataA, dataB] = [randomBytes(30_000), randomBytes(20_000)];
  await fs.mkdir(join(t.mnt, 'x'));
  await fs.writeFile(join(t.mnt, 'x', 'a'), dataA, { mode: 0o600 });
  await fs.writeFile(join(t.mnt, 'b'), dataB, { mode: 0o640 });
  await new Promise((r) => setTimeout(r, 1500)); // committed
  expect(await exchange(t, 'x/a', 'b')).toBe(0);
  await t.kill9(); // within the group's second

  await restartClean(t);
  expect((await fs.readFile(join(t.mnt, 'x', 'a'))).equals(dataB)).toBe(true);
  expect((await fs.readFile(join(t.mnt, 'b'))).equals(dataA)).toBe(true);
  // Each name has the other file, not only its bytes.
  expect((await fs.stat(join(t.mnt, 'x', 'a'))).mode & 0o777).toBe(0o640);
  expect((await fs.stat(join(t.mnt, 'b'))).mode & 0o777).toBe(0o600);
  expect(readdirSync(t.hot).filter((n) => n.includes('exchange'))).toEqual([]);
});

/** a on hot and b on warm, exchanged; the daemon (started with the crash point) dies once hot's step is done. Returns their bytes. */
async function exchangeHotWithWarmAndCrash(m: TierfsMount): Promise<[Buffer, Buffer]> {
  const [dataA, dataB] = [randomBytes(30_000), randomBytes(20_000)];
  await fs.writeFile(join(m.mnt, 'a'), dataA);
  await fs.writeFile(join(m.mnt, 'b'), dataB);
  const moved = await m.cli(['move', join(m.mnt, 'b'), '--to', 'warm']);
  expect(moved.code, moved.stderr).toBe(0);
  expect(await exchange(m, 'a', 'b')).not.toBe(0);
  await waitFor(() => m.output.includes('test hook: crashing at exchanged-volume'), 20_000, () => `no crash:\n${m.output}`);
  await m.kill9();
  return [dataA, dataB];
}

it('finishes an exchange of a file on hot with one on warm that reached one volume and not the other', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_CRASH_AT: 'exchanged-volume' });
  const [dataA, dataB] = await exchangeHotWithWarmAndCrash(t);
  // hot's step was done, warm's not: a's copy is at b on hot, b's still at b on warm.
  expect(existsSync(join(t.hot, 'a'))).toBe(false);
  expect(existsSync(join(t.warm, 'b'))).toBe(true);

  await restartClean(t);
  expect((await fs.readdir(t.mnt)).sort()).toEqual(['a', 'b']);
  expect((await fs.readFile(join(t.mnt, 'a'))).equals(dataB)).toBe(true);
  expect((await fs.readFile(join(t.mnt, 'b'))).equals(dataA)).toBe(true);
  expect(existsSync(join(t.warm, 'a'))).toBe(true);
  expect(existsSync(join(t.hot, 'b'))).toBe(true);
});

it('takes an exchange back when a volume holds neither what it recorded nor the exchanged names', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_CRASH_AT: 'exchanged-volume' });
  const [dataA, dataB] = await exchangeHotWithWarmAndCrash(t);
  // warm's b copied back (a restore keeps bytes and times, not inode numbers): not what was recorded.
  copyFileSync(join(t.warm, 'b'), join(t.warm, 'b.copy'));
  renameSync(join(t.warm, 'b.copy'), join(t.warm, 'b'));

  await t.start();
  expect(t.output).toContain('could not finish a rename the daemon had died in');
  expect((await fs.readFile(join(t.mnt, 'a'))).equals(dataA)).toBe(true);
  expect((await fs.readFile(join(t.mnt, 'b'))).equals(dataB)).toBe(true);
  expect(existsSync(join(t.hot, 'a'))).toBe(true); // hot's step taken back
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  expect(status.conflicts, JSON.stringify(status.conflicts)).toEqual([]);
});

it('finishes an exchange of two directories that reached one volume and not the other', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_CRASH_AT: 'exchanged-volume' });
  const files = { 'd1/hot1': randomBytes(10_000), 'd1/warm1': randomBytes(11_000), 'd2/hot2': randomBytes(12_000), 'd2/warm2': randomBytes(13_000) };
  for (const d of ['d1', 'd2']) await fs.mkdir(join(t.mnt, d));
  for (const [p, data] of Object.entries(files)) await fs.writeFile(join(t.mnt, p), data);
  for (const p of ['d1/warm1', 'd2/warm2']) {
    const moved = await t.cli(['move', join(t.mnt, p), '--to', 'warm']);
    expect(moved.code, moved.stderr).toBe(0);
  }
  expect(await exchange(t, 'd1', 'd2')).not.toBe(0);
  await waitFor(() => t!.output.includes('test hook: crashing at exchanged-volume'), 20_000, () => `no crash:\n${t!.output}`);
  await t.kill9();
  expect(existsSync(join(t.hot, 'd2', 'hot1'))).toBe(true); // hot's step was done
  expect(existsSync(join(t.warm, 'd1', 'warm1'))).toBe(true); // warm's not

  await restartClean(t);
  const swapped = (p: string) => (p.startsWith('d1/') ? p.replace('d1/', 'd2/') : p.replace('d2/', 'd1/'));
  for (const [p, data] of Object.entries(files)) expect((await fs.readFile(join(t.mnt, swapped(p)))).equals(data), p).toBe(true);
  expect((await fs.readdir(join(t.mnt, 'd1'))).sort()).toEqual(['hot2', 'warm2']);
  expect(existsSync(join(t.warm, 'd2', 'warm1'))).toBe(true);
});

it('a power cut within a directory rename spread over volumes: the rename is finished from its intent', { timeout: 120_000 }, async () => {
  // A power cut keeps of the catalog only what was synced: its last durable transaction
  // (TIERFS_TEST_DURABLE_SNAPSHOTS copies the catalog as each one left it). One volume's
  // backing renamed, the other's not: unless the intent was synced before the first
  // volume's rename, the next mount cannot tell a rename from two directories.
  const snapshots = mkdtempSync(join(tmpdir(), 'tierfs-rename-durable-'));
  try {
    t = await new TierfsMount().start({ TIERFS_TEST_CRASH_AT: 'renamed-backing', TIERFS_TEST_DURABLE_SNAPSHOTS: snapshots });
    const files = await renameSplitAcrossVolumes(t);
    const last = readdirSync(snapshots)
      .filter((f) => /^durable-\d+\.db$/.test(f))
      .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
      .at(-1)!;
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(t.dataDir, `catalog.db${suffix}`), { force: true });
    copyFileSync(join(snapshots, last), join(t.dataDir, 'catalog.db'));

    await restartClean(t);
    expect(await fs.readdir(t.mnt)).toEqual(['e']);
    for (const [p, data] of Object.entries(files)) expect((await fs.readFile(join(t.mnt, p.replace(/^d\//, 'e/')))).equals(data)).toBe(true);
    expect(existsSync(join(t.warm, 'd'))).toBe(false);
  } finally {
    rmSync(snapshots, { recursive: true, force: true });
  }
});
