// What a move's commit must take into account of what happened while the file was
// copied, and what may happen between the commit and the removal of the old copy. Both
// found by the differential test with moves (test/mount/differential-moves.test.ts):
// - seed 5: a directory renamed between the commit and step 5 took the old local copy
//   along on its volume, so the removal, looking at the path recorded at the commit,
//   missed it — and the next mount imported it back;
// - seed 30: a chmod during the copy left the new copy with the mode of before (the
//   catalog was right, the backing file not: what a user sees on the volume, and what a
//   rebuilt catalog would take);
// - seed 37: a file on an object tier deleted while a move read it: its objects went to
//   the garbage list and were collected from under the copy, which then failed with
//   "0 readable cells" — a report of data loss where there was none;
// - seed 1129651: a file's old copy had its names removed at the commit; step 5, run
//   after, removed them again by path — and by then one was a symlink's name (renamed
//   over the file meanwhile) on the first tier, where symlinks are kept: it went;
// - seed 34: a copy's mtime, set through utimes (a double of seconds, which libuv then
//   truncates to microseconds), lands up to about 1.25 µs off; the next mount took any
//   difference of 1 µs or more as a change behind its back (new mtime, hash dropped).
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount, type CliResult, fsObjectTier } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';
import { tempDir } from '../helpers/tmp.js';
import { filesUnder } from '../helpers/tree.js';

let t: TierfsMount | undefined;
let coldRoot: ReturnType<typeof tempDir> | undefined;
afterEach(async () => {
  await t?.dispose();
  coldRoot?.remove();
  t = coldRoot = undefined;
});

/** hot and warm, and a cold object tier on a local-filesystem store. */
function withCold(): TierfsMount {
  coldRoot = tempDir('tierfs-commit-races-cold-');
  return new TierfsMount({
    moreTiers: fsObjectTier(coldRoot.path),
    extraYaml: 'cache: { memory: 0, disk: 0 }\n',
  });
}

/** Object files in the cold tier's stores (.tierfs, the mounts' heartbeats, left out). */
function coldObjects(): string[] {
  return filesUnder(coldRoot!.path).filter((p) => p.endsWith('~'));
}

const m = (p: string) => join(t!.mnt, p);

/** Start a move and wait until the protocol's test hook holds it at `step`. */
async function pausedMove(path: string, to: string, step: string) {
  const marker = join(t!.dataDir, `paused-${step}`);
  const result: Promise<CliResult> = t!.cli(['move', '--json', m(path), '--to', to]);
  await waitFor(() => existsSync(marker), 30_000, () => `the move never reached ${step}\n${t!.output}`);
  return {
    resume: () => rmSync(marker, { force: true }),
    outcome: async () => {
      const r = await result;
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return JSON.parse(r.stdout)[0];
    },
  };
}

it('a directory renamed after the commit, before the old copy is removed: the old copy still goes, and a deleted file stays deleted', async () => {
  t = new TierfsMount();
  const data = randomBytes(200_000);
  mkdirSync(join(t.warm, 'd'), { recursive: true });
  writeFileSync(join(t.warm, 'd/x'), data); // imported at mount, on warm
  await t.start({ TIERFS_TEST_PAUSE_AT: 'committed' });
  const move = await pausedMove('d/x', 'hot', 'committed');
  await fs.rename(m('d'), m('e'));
  move.resume();
  expect(await move.outcome()).toMatchObject({ state: 'done' });
  expect((await fs.readFile(m('e/x'))).equals(data)).toBe(true);
  expect(existsSync(join(t.hot, 'e/x'))).toBe(true);
  expect(existsSync(join(t.warm, 'e/x'))).toBe(false); // no stale copy on the old tier

  // What a user would see of one: the file deleted, then the next mount.
  await fs.unlink(m('e/x'));
  await t.stop();
  await t.start();
  expect(await fs.readdir(m('e'))).toEqual([]);
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  expect(status.conflicts).toEqual([]);
});

it("the old copy's names taken by others between the commit and its removal stay theirs: a symlink, and another file's hard link", async () => {
  t = new TierfsMount();
  const mine = randomBytes(100_000);
  const other = randomBytes(50_000);
  await t.start({ TIERFS_TEST_PAUSE_AT: 'committed' });
  await fs.writeFile(m('x'), mine); // new files are placed on hot, the first tier
  await fs.writeFile(m('p'), other);
  await fs.link(m('x'), m('y'));
  const move = await pausedMove('x', 'warm', 'committed');
  // Committed: the file is on warm, its names on hot are gone, and step 5 has yet to run
  // with the names recorded at the commit (x and y). Both are somebody else's now.
  await fs.rename(m('x'), m('z'));
  await fs.unlink(m('y'));
  await fs.symlink('target', m('x')); // a symlink's copy lives on hot
  await fs.link(m('p'), m('y')); // p is on hot: its copy gets the name y there
  move.resume();
  expect(await move.outcome()).toMatchObject({ state: 'done' });
  expect((await fs.readFile(m('z'))).equals(mine)).toBe(true);
  expect(await fs.readlink(join(t.hot, 'x'))).toBe('target');
  expect(statSync(join(t.hot, 'y')).ino).toBe(statSync(join(t.hot, 'p')).ino);
  expect(existsSync(join(t.hot, 'z'))).toBe(false);
  expect(readdirSync(t.warm).filter((n) => !n.startsWith('.')).sort()).toEqual(['z']);
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  expect(status.conflicts).toEqual([]);
});

it("owner, mode and times changed during the copy are the new copy's too", async () => {
  t = new TierfsMount();
  mkdirSync(join(t.warm, 'd'), { recursive: true });
  writeFileSync(join(t.warm, 'd/x'), randomBytes(300_000));
  await t.start({ TIERFS_TEST_PAUSE_AT: 'verified' });
  const move = await pausedMove('d/x', 'hot', 'verified');
  await fs.chown(m('d/x'), 1000, 1000);
  await fs.chmod(m('d/x'), 0o600);
  const mtime = new Date('2020-02-02T02:02:02.5Z');
  await fs.utimes(m('d/x'), mtime, mtime);
  move.resume();
  expect(await move.outcome()).toMatchObject({ state: 'done' }); // no change of the bytes: nothing to abort for
  const backing = statSync(join(t.hot, 'd/x'));
  expect({ uid: backing.uid, gid: backing.gid, mode: (backing.mode & 0o7777).toString(8), mtimeMs: backing.mtimeMs }).toEqual({
    uid: 1000,
    gid: 1000,
    mode: '600',
    mtimeMs: mtime.getTime(),
  });
  // The next mount reads the volume: the file must look as it did.
  await t.stop();
  await t.start();
  const st = await fs.stat(m('d/x'));
  expect({ mode: (st.mode & 0o7777).toString(8), mtimeMs: st.mtimeMs }).toEqual({ mode: '600', mtimeMs: mtime.getTime() });
});

it('a write during the copy, then a chmod before its close: the move does not commit the old bytes', async () => {
  t = new TierfsMount();
  mkdirSync(join(t.warm, 'd'), { recursive: true });
  const before = randomBytes(300_000);
  writeFileSync(join(t.warm, 'd/x'), before);
  await t.start({ TIERFS_TEST_PAUSE_AT: 'verified' });
  const move = await pausedMove('d/x', 'hot', 'verified');
  // A writer appends; a chmod reads the file's attributes while it is open — the size
  // and mtime it wrote, which the catalog then holds — before the writer's close tells
  // the daemon what changed.
  const added = randomBytes(5000);
  const writer = await fs.open(m('d/x'), 'r+');
  await writer.write(added, 0, added.length, before.length);
  await fs.chmod(m('d/x'), 0o640);
  await writer.close();
  move.resume();
  expect(await move.outcome()).toMatchObject({ state: 'aborted' });
  expect((await fs.readFile(m('d/x'))).equals(Buffer.concat([before, added]))).toBe(true);
});

it("a moved file's mtime is the same after the next mount, to the nanosecond", async () => {
  t = new TierfsMount();
  mkdirSync(join(t.warm, 'd'), { recursive: true });
  writeFileSync(join(t.warm, 'd/x'), randomBytes(100_000));
  await t.start();
  // A time whose copy lands 1 µs early: 1580608922.002 s comes back as …001999000 ns.
  const when = new Date(1580608922002);
  await fs.utimes(m('d/x'), when, when);
  const before = (await fs.stat(m('d/x'), { bigint: true })).mtimeNs;
  const r = await t.cli(['move', '--json', m('d/x'), '--to', 'hot']);
  expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'done' });
  await t.stop();
  await t.start();
  expect((await fs.stat(m('d/x'), { bigint: true })).mtimeNs).toBe(before);
});

it('a file on an object tier deleted while a move copies it: the move says so, and its objects go only after', async () => {
  t = withCold();
  await t.start();
  await fs.writeFile(m('f'), randomBytes(500_000));
  const r = await t.cli(['move', '--json', m('f'), '--to', 'cold']);
  expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'done' });
  const objects = coldObjects();
  expect(objects.length).toBeGreaterThan(0);
  await t.stop();
  await t.start({ TIERFS_TEST_PAUSE_AT: 'intent' });
  const move = await pausedMove('f', 'hot', 'intent');
  await fs.unlink(m('f'));
  // Wait for two rounds of garbage collection to finish (every 5 s): the second one
  // began after the unlink, when the objects were on the garbage list already.
  const gcRuns = async (): Promise<number> => {
    const status = JSON.parse((await t!.cli(['status', '--json', t!.mnt])).stdout);
    return status.background.tasks.find((x: { name: string }) => x.name === 'collect-garbage').runs;
  };
  const runsAtUnlink = await gcRuns();
  let runs = runsAtUnlink;
  for (const end = Date.now() + 20_000; runs < runsAtUnlink + 2 && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 200));
    runs = await gcRuns();
  }
  expect(runs - runsAtUnlink, 'rounds of garbage collection since the unlink').toBeGreaterThanOrEqual(2);
  expect(coldObjects(), 'collected while a move still had to read them').toEqual(objects);
  move.resume();
  expect(await move.outcome()).toMatchObject({ state: 'aborted', reason: 'file was deleted during the move' });
  await waitFor(() => coldObjects().length === 0, 20_000, () => `objects left: ${coldObjects().join(', ')}`);
});
