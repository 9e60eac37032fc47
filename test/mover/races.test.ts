// The move protocol against everything else that can happen to a file while it moves:
// renames of the file or its directory, delete and recreate, a second move of the same
// file, a copy-up by a writer, a reader of the old copy, a copy damaged after it was
// read — and the order in which copies, catalog and sources reach the disk. Each move is
// stopped at a step by the protocol's test hook (TIERFS_TEST_PAUSE_AT) while the test
// changes the namespace through the mount.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount, type CliResult, fsObjectTier } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';
import { tempDir } from '../helpers/tmp.js';

let t: TierfsMount | undefined;
let coldRoot: ReturnType<typeof tempDir> | undefined;
afterEach(async () => {
  await t?.dispose();
  coldRoot?.remove();
  t = coldRoot = undefined;
});

/** hot and warm, and a cold object tier on a local-filesystem store (no server needed). */
function withCold(): TierfsMount {
  coldRoot = tempDir('tierfs-races-cold-');
  return new TierfsMount({
    moreTiers: fsObjectTier(coldRoot.path, { chunkSize: '256KiB' }),
    extraYaml: 'cache: { memory: 0, disk: 0 }\n',
  });
}

const m = (p: string) => join(t!.mnt, p);
const where = async (p: string) => JSON.parse((await t!.cli(['where', '--json', m(p)])).stdout)[0];
const moveNow = async (p: string, to: string) => {
  const r = await t!.cli(['move', '--json', m(p), '--to', to]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout)[0];
};
const journalOf = async (p: string) =>
  JSON.parse((await t!.cli(['moves', '--json', t!.mnt])).stdout).recent.filter((r: { path: string }) => r.path === p);

/** Start a move and wait until the protocol's hook holds it at `step`; resume() lets it go on. */
async function pausedMove(path: string, to: string, step: string) {
  const marker = join(t!.dataDir, `paused-${step}`);
  const result: Promise<CliResult> = t!.cli(['move', '--json', m(path), '--to', to]);
  await waitFor(() => existsSync(marker), 90_000, () => `the move never reached ${step}\n${t!.output}`);
  return {
    resume: () => rmSync(marker, { force: true }),
    outcome: async () => {
      const r = await result;
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return JSON.parse(r.stdout)[0];
    },
  };
}

/** A file that the mount imports on the warm tier (written there before the mount starts). */
function onWarm(tm: TierfsMount, path: string, data: Buffer): void {
  mkdirSync(join(tm.warm, path, '..'), { recursive: true });
  writeFileSync(join(tm.warm, path), data);
}

describe('a move and the namespace changing under it', { timeout: 240_000 }, () => {
  it('a rename of the file during its move: the copy lands under the new name, the only good copy survives', async () => {
    t = new TierfsMount();
    const data = randomBytes(1024 * 1024 + 7);
    onWarm(t, 'd/x', data);
    await t.start({ TIERFS_TEST_PAUSE_AT: 'copied' });
    const move = await pausedMove('d/x', 'hot', 'copied');
    await fs.rename(m('d/x'), m('d/y'));
    move.resume();
    expect(await move.outcome()).toMatchObject({ state: 'done' });
    expect((await fs.readFile(m('d/y'))).equals(data)).toBe(true);
    expect(existsSync(m('d/x'))).toBe(false);
    expect(readFileSync(join(t.hot, 'd/y')).equals(data)).toBe(true);
    expect(existsSync(join(t.hot, 'd/x'))).toBe(false); // no copy under the name of intent
    expect(existsSync(join(t.warm, 'd/y'))).toBe(false); // the source went, after the commit
    expect(await where('d/y')).toMatchObject({ tier: 'hot', state: 'ok' });
  });

  it('a rename of the parent directory during the move is followed too', async () => {
    t = new TierfsMount();
    const data = randomBytes(300_000);
    onWarm(t, 'd/x', data);
    await t.start({ TIERFS_TEST_PAUSE_AT: 'verified' });
    const move = await pausedMove('d/x', 'hot', 'verified');
    await fs.rename(m('d'), m('e'));
    move.resume();
    expect(await move.outcome()).toMatchObject({ state: 'done' });
    expect((await fs.readFile(m('e/x'))).equals(data)).toBe(true);
    expect(readFileSync(join(t.hot, 'e/x')).equals(data)).toBe(true);
    expect(existsSync(join(t.hot, 'd/x'))).toBe(false);
    expect(existsSync(join(t.warm, 'e/x'))).toBe(false);
  });

  it("an editor's save (delete, create the same name) during a move keeps the new file", async () => {
    t = new TierfsMount();
    onWarm(t, 'd/x', randomBytes(200_000));
    await t.start({ TIERFS_TEST_PAUSE_AT: 'copied' });
    const move = await pausedMove('d/x', 'hot', 'copied');
    await fs.unlink(m('d/x'));
    await fs.writeFile(m('d/x'), 'the new version');
    move.resume();
    expect(await move.outcome()).toMatchObject({ state: 'aborted', reason: 'file was deleted during the move' });
    expect(await fs.readFile(m('d/x'), 'utf8')).toBe('the new version');
    expect(readFileSync(join(t.hot, 'd/x'), 'utf8')).toBe('the new version');
    expect((await fs.stat(m('d/x'))).size).toBe('the new version'.length);
  });

  it("a file's name taken by another file before the move reads it (an editor's backup): the move copies the file it set out to move", async () => {
    t = new TierfsMount();
    const mine = randomBytes(100_000);
    const other = randomBytes(200_000);
    onWarm(t, 'd/x', mine);
    onWarm(t, 'd/new', other);
    await t.start({ TIERFS_TEST_PAUSE_AT: 'intent' });
    const move = await pausedMove('d/x', 'hot', 'intent');
    // vim's save with a backup: the file goes to x~, the new version takes its name (here
    // on the same volume, where the move would look for the file's bytes by name).
    await fs.rename(m('d/x'), m('d/x~'));
    await fs.rename(m('d/new'), m('d/x'));
    move.resume();
    expect(await move.outcome()).toMatchObject({ state: 'done' });
    expect((await fs.readFile(m('d/x~'))).equals(mine)).toBe(true);
    expect((await fs.readFile(m('d/x'))).equals(other)).toBe(true);
    expect(await where('d/x~')).toMatchObject({ tier: 'hot' });
    expect(await where('d/x')).toMatchObject({ tier: 'warm' });
  });

  it('a name already taken on the target is never replaced: the move aborts and both files stay', async () => {
    t = new TierfsMount();
    const data = randomBytes(100_000);
    onWarm(t, 'd/x', data);
    await t.start({ TIERFS_TEST_PAUSE_AT: 'copied' });
    const move = await pausedMove('d/x', 'hot', 'copied');
    // Something else appears at the file's name on the target volume (another process, a
    // restored backup): the copy must not go over it.
    mkdirSync(join(t.hot, 'd'), { recursive: true });
    writeFileSync(join(t.hot, 'd/x'), 'not yours');
    move.resume();
    expect(await move.outcome()).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/another file is already at d\/x/) });
    expect(readFileSync(join(t.hot, 'd/x'), 'utf8')).toBe('not yours');
    expect((await fs.readFile(m('d/x'))).equals(data)).toBe(true); // still served from warm
    expect(await where('d/x')).toMatchObject({ tier: 'warm' });
  });
});

// Requests that go through the move queue (CLI, rules, drains) are one per file already;
// a copy-up is the one that calls the protocol directly.
describe('one move per file', { timeout: 240_000 }, () => {
  it("a writer's copy-up during a recall waits for it; the write survives", async () => {
    t = withCold();
    const data = randomBytes(700_000);
    await t.start();
    await fs.writeFile(m('f'), data);
    expect(await moveNow('f', 'cold')).toMatchObject({ state: 'done' });
    await t.stop();
    await t.start({ TIERFS_TEST_PAUSE_AT: 'verified' });
    const recall = await pausedMove('f', 'hot', 'verified');
    // dd opens the file for writing (a copy-up), then overwrites its first bytes.
    const writer = spawn('dd', [`of=${m('f')}`, 'bs=3', 'count=1', 'conv=notrunc', 'status=none'], { stdio: ['pipe', 'ignore', 'pipe'] });
    writer.stdin.end('NEW');
    const exited = new Promise<number>((r) => writer.on('exit', (code) => r(code ?? -1)));
    await new Promise((r) => setTimeout(r, 1500));
    expect(writer.exitCode).toBe(null); // still in open(): its copy-up waits for the recall
    recall.resume();
    expect(await exited).toBe(0);
    expect(await recall.outcome()).toMatchObject({ state: 'done' });
    const expected = Buffer.concat([Buffer.from('NEW'), data.subarray(3)]);
    expect((await fs.readFile(m('f'))).equals(expected)).toBe(true);
    expect(readFileSync(join(t.hot, 'f')).equals(expected)).toBe(true);
    // The copy-up found the file already local: one move brought it back, not two.
    const back = (await journalOf('f')).filter((x: { fromTier: string }) => x.fromTier === 'cold');
    expect(back).toHaveLength(1);
  });

  it('a reader of the cold copy follows the file back to a local tier and sees later writes', async () => {
    t = withCold();
    const data = randomBytes(600_000);
    await t.start();
    await fs.writeFile(m('f'), data);
    expect(await moveNow('f', 'cold')).toMatchObject({ state: 'done' });
    const reader = await fs.open(m('f'), 'r');
    try {
      const head = Buffer.alloc(10);
      await reader.read(head, 0, 10, 0);
      expect(head.equals(data.subarray(0, 10))).toBe(true);
      const writer = await fs.open(m('f'), 'r+'); // copy-up
      await writer.write(Buffer.from('XYZ'), 0, 3, 0);
      await writer.close();
      const again = Buffer.alloc(10);
      await reader.read(again, 0, 10, 0);
      expect(again.toString('latin1', 0, 3)).toBe('XYZ');
      expect(again.subarray(3).equals(data.subarray(3, 10))).toBe(true);
    } finally {
      await reader.close();
    }
  });
});

describe('what a move trusts', { timeout: 240_000 }, () => {
  it('a copy damaged after it was read is caught by the recorded SHA-256 and not committed', async () => {
    t = withCold();
    const local = randomBytes(400_000);
    const cold = randomBytes(500_000);
    await t.start();
    await fs.writeFile(m('local'), local);
    await fs.writeFile(m('cold'), cold);
    expect(await moveNow('local', 'warm')).toMatchObject({ state: 'done' }); // records the file's hash
    expect(await moveNow('cold', 'cold')).toMatchObject({ state: 'done' }); // the layout keeps it
    await t.stop();
    await t.start({ TIERFS_TEST_CORRUPT_MOVE_READ: '1' });
    for (const [name, data, from] of [['local', local, 'warm'], ['cold', cold, 'cold']] as const) {
      const r = await moveNow(name, 'hot');
      expect(r, name).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/SHA-256/) });
      expect(await where(name)).toMatchObject({ tier: from });
      expect((await fs.readFile(m(name))).equals(data)).toBe(true);
      expect(existsSync(join(t.hot, name))).toBe(false);
    }
  });

  it("a moved copy keeps the file's owner and mode; a setuid file never becomes a root-owned setuid copy", async () => {
    t = new TierfsMount();
    await t.start();
    await fs.writeFile(m('tool'), randomBytes(50_000));
    await fs.chown(m('tool'), 1000, 1000);
    await fs.chmod(m('tool'), 0o4755);
    expect(await moveNow('tool', 'warm')).toMatchObject({ state: 'done' });
    const st = statSync(join(t.warm, 'tool'));
    expect({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ uid: 1000, gid: 1000, mode: '4755' });
    expect((statSync(join(t.warm, '.tierfs-tmp')).mode & 0o777).toString(8)).toBe('700');
  });
});

describe('durability order', { timeout: 240_000 }, () => {
  it('the copy, its directories and the catalog commit are on disk before the source is deleted', async () => {
    t = withCold();
    await t.start();
    await fs.mkdir(m('deep/er'), { recursive: true });
    await fs.writeFile(m('deep/er/f'), randomBytes(300_000));
    await fs.writeFile(m('g'), randomBytes(300_000));
    const out = join(t.root, 'strace.out');
    // Every thread of the daemon (libuv's pool does the file I/O), with the paths of descriptors.
    const tracer = spawn('strace', ['-f', '-qq', '-y', '-o', out, '-e', 'trace=fsync,fdatasync,link,linkat,unlink,unlinkat,rename,renameat,renameat2', '-p', String(t.pid)], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 1500)); // attached
      expect(await moveNow('deep/er/f', 'warm')).toMatchObject({ state: 'done' });
      expect(await moveNow('g', 'cold')).toMatchObject({ state: 'done' });
    } finally {
      const gone = new Promise((r) => tracer.on('exit', r));
      tracer.kill('SIGINT');
      await gone;
    }
    const lines = readFileSync(out, 'utf8').split('\n');
    const first = (re: RegExp, from = 0) => {
      const i = lines.findIndex((l, n) => n >= from && re.test(l));
      expect(i, `no line matching ${re} after line ${from}:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // A call another thread's call overlapped is two lines: "<unfinished ...>" where it began
    // and "<... NAME resumed>" where it returned. What must be on disk first must have returned.
    // (strace pads the thread id: "1989  <... fsync resumed>", "12345 <... fsync resumed>".)
    const returnedAt = (i: number) =>
      lines[i]!.endsWith('<unfinished ...>') ? first(new RegExp(`^${lines[i]!.split(' ')[0]}\\s+<\\.\\.\\. \\w+ resumed>`), i) : i;
    const returned = (re: RegExp, from = 0) => returnedAt(first(re, from));
    const synced = (path: string) => new RegExp(`f(data)?sync\\(\\d+<${path}>(\\)| <unfinished)`);
    const walSync = synced('[^>]*catalog\\.db-wal');

    // Local → local: copy fsynced, linked under its name, every directory up to the volume
    // fsynced, the commit synced — all before the source's unlink.
    const copySynced = first(new RegExp(`fsync\\(\\d+<${esc(t.warm)}/\\.tierfs-tmp/move-`));
    // (Names are reached through their directory's descriptor, /proc/self/fd/N/NAME: no symlink followed.)
    const linked = first(new RegExp(`link(at)?\\(.*"${esc(t.warm)}/\\.tierfs-tmp/move-[^"]*", .*/f"`), copySynced);
    for (const dir of ['deep/er', 'deep', '']) returned(synced(esc(join(t.warm, dir).replace(/\/$/, ''))), linked);
    const committed = returned(walSync, linked);
    const deleted = first(/unlink(at)?\(.*\/f"/, linked);
    expect(deleted).toBeGreaterThan(committed);
    expect(deleted).toBeGreaterThan(returned(synced(esc(t.warm)), linked));

    // Local → object: the last object is in place before the commit is synced, and that before the source goes.
    const gDeleted = first(/unlink(at)?\(.*\/g"/, deleted);
    const objects = lines.map((l, n) => (/rename/.test(l) && l.includes(coldRoot!.path) ? n : -1)).filter((n) => n >= 0 && n < gDeleted);
    expect(objects.length).toBeGreaterThan(0);
    const gCommitted = returned(walSync, returnedAt(objects.at(-1)!));
    expect(gDeleted).toBeGreaterThan(gCommitted);
  });
});
