// The move protocol between local tiers, through a real mount and the CLI: moved bytes
// read back exactly, pins hold, a file changed during its move stays, and a crash at
// any step loses nothing.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TIERFS_BIN, TierfsMount, runCli, type CliResult } from '../helpers/tierfs.js';
import { spawn } from 'node:child_process';
import { waitFor } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const where = async (m: TierfsMount, p: string) => JSON.parse((await m.cli(['where', '--json', join(m.mnt, p)])).stdout)[0];

describe('moves between local tiers', () => {
  it('moves a file and its hard links, verified and audited; a pin holds', async () => {
    // Passthrough off: the open reader below must not hold the move (passthrough.test.ts).
    t = await new TierfsMount({ passthrough: 'off' }).start();
    const data = randomBytes(3 * 1024 * 1024 + 5);
    await fs.mkdir(join(t.mnt, 'd'));
    await fs.writeFile(join(t.mnt, 'd', 'f'), data);
    await fs.link(join(t.mnt, 'd', 'f'), join(t.mnt, 'f-link'));
    const reader = await fs.open(join(t.mnt, 'd', 'f'), 'r'); // an open reader follows the file to its new copy

    const r = await t.cli(['move', join(t.mnt, 'd'), '--to', 'warm', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ path: 'd/f', state: 'done', bytes: data.length })]);
    expect(existsSync(join(t.hot, 'd', 'f'))).toBe(false);
    expect(readFileSync(join(t.warm, 'd', 'f')).equals(data)).toBe(true);
    expect(readFileSync(join(t.warm, 'f-link')).equals(data)).toBe(true); // hard link moved along
    expect((await fs.readFile(join(t.mnt, 'f-link'))).equals(data)).toBe(true);
    expect(await where(t, 'd/f')).toMatchObject({ tier: 'warm', state: 'ok' });
    const buf = Buffer.alloc(4096);
    await reader.read(buf, 0, 4096, 1_000_000);
    expect(buf.equals(data.subarray(1_000_000, 1_004_096))).toBe(true);
    await reader.close();

    const audit = JSON.parse((await t.cli(['moves', '--json', t.mnt])).stdout).recent[0];
    expect(audit).toMatchObject({ path: 'd/f', fromTier: 'hot', toTier: 'warm', state: 'done', verified: true, requestedBy: 'cli' });

    expect((await t.cli(['pin', join(t.mnt, 'd'), '--tier', 'warm'])).code).toBe(0);
    const refused = JSON.parse((await t.cli(['move', join(t.mnt, 'd', 'f'), '--to', 'hot', '--json'])).stdout);
    expect(refused[0], JSON.stringify(refused)).toMatchObject({ error: expect.stringMatching(/pinned to tier warm/) });
    expect((await fs.readFile(join(t.mnt, 'd', 'f'))).length).toBe(data.length);
    const pinXattr = await runCli(['where', '--json', join(t.mnt, 'd', 'f')]);
    expect(JSON.parse(pinXattr.stdout)[0].pin).toEqual({ tier: 'warm', on: 'd' });
    expect((await t.cli(['unpin', join(t.mnt, 'd')])).code).toBe(0);
    expect(JSON.parse((await t.cli(['move', join(t.mnt, 'd', 'f'), '--to', 'hot', '--json'])).stdout)[0].state).toBe('done');
  });

  it('a reader open across the move reads the new copy: what a writer adds after the move (tail -f of a log)', async () => {
    t = await new TierfsMount({ passthrough: 'off' }).start();
    const first = randomBytes(100_000);
    await fs.writeFile(join(t.mnt, 'log'), first);
    const reader = await fs.open(join(t.mnt, 'log'), 'r');
    try {
      const r = await t.cli(['move', join(t.mnt, 'log'), '--to', 'warm', '--json']);
      expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'done' });
      await fs.appendFile(join(t.mnt, 'log'), 'appended after the move');
      const buf = Buffer.alloc(100);
      const { bytesRead } = await reader.read(buf, 0, 100, first.length);
      expect(buf.subarray(0, bytesRead).toString()).toBe('appended after the move');
      const head = Buffer.alloc(1000);
      await reader.read(head, 0, 1000, 0);
      expect(head.equals(first.subarray(0, 1000))).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('says that a symbolic link is not moved, and moves nothing it points to', async () => {
    t = await new TierfsMount().start();
    await fs.writeFile(join(t.mnt, 'f'), 'data');
    await fs.symlink('f', join(t.mnt, 'link'));
    const r = await t.cli(['move', join(t.mnt, 'link'), '--to', 'warm']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/link.*not moved: a symbolic link: only files move between tiers \(name the file a link points to\)/);
    expect(await where(t, 'f')).toMatchObject({ tier: 'hot' });
  });

  it('moves --watch in a pipe prints one line per finished move', async () => {
    t = await new TierfsMount().start();
    await fs.writeFile(join(t.mnt, 'watched'), randomBytes(64 * 1024));
    const watcher = spawn(process.execPath, [TIERFS_BIN, 'moves', '--watch', t.mnt], { env: process.env });
    let out = '';
    watcher.stdout.on('data', (d) => (out += d));
    try {
      // A move finished before the watcher's first look is not new to it: the file goes
      // back and forth until the watcher has said something.
      const tiers = ['warm', 'hot'];
      for (let i = 0, end = Date.now() + 30_000; !out.includes('\n') && Date.now() < end; i++) {
        expect((await t.cli(['move', join(t.mnt, 'watched'), '--to', tiers[i % 2]!])).code).toBe(0);
        await waitFor(() => out.includes('\n'), 3000).catch(() => undefined);
      }
      expect(out).toMatch(/^watched: (hot → warm|warm → hot) done 64\.0 KiB\n/);
    } finally {
      watcher.kill();
    }
  });

  it('does not move a file that changed during its move', async () => {
    t = await new TierfsMount().start({ TIERFS_TEST_PAUSE_AT: 'copied' });
    await fs.writeFile(join(t.mnt, 'busy'), 'before');
    const moving = t.cli(['move', join(t.mnt, 'busy'), '--to', 'warm', '--json']);
    const marker = join(t.dataDir, 'paused-copied');
    await waitFor(() => existsSync(marker), 20_000, () => `move never paused\n${t!.output}`);
    await fs.writeFile(join(t.mnt, 'busy'), 'after, and longer');
    rmSync(marker);
    const r = JSON.parse((await moving).stdout);
    expect(r[0]).toMatchObject({ state: 'aborted', reason: 'file changed during the move' });
    expect(await fs.readFile(join(t.mnt, 'busy'), 'utf8')).toBe('after, and longer');
    expect(existsSync(join(t.warm, 'busy'))).toBe(false);
    expect(readdirSync(join(t.warm, '.tierfs-tmp'))).toEqual([]);
  });

  // Paused at a step and killed there, or killed by the daemon itself where no pause
  // can stop it: halfway through the copy (1 of 2 MiB on the target), and with the
  // copy's names placed on warm but the commit not written.
  const points: { step: string; env: Record<string, string> }[] = [
    ...(['intent', 'copied', 'verified', 'committed'] as const).map((step) => ({ step, env: { TIERFS_TEST_PAUSE_AT: step } })),
    ...(['copying', 'placed'] as const).map((step) => ({ step, env: { TIERFS_TEST_CRASH_AT: step } })),
  ];
  for (const { step, env } of points) {
    it(`loses nothing when the daemon is killed at step "${step}"`, async () => {
      t = await new TierfsMount().start(env);
      const data = randomBytes(2 * 1024 * 1024);
      await fs.writeFile(join(t.mnt, 'precious'), data);
      const moving: Promise<CliResult> = t.cli(['move', join(t.mnt, 'precious'), '--to', 'warm']);
      if (env.TIERFS_TEST_PAUSE_AT) {
        await waitFor(() => existsSync(join(t!.dataDir, `paused-${step}`)), 20_000, () => `move never paused\n${t!.output}`);
      } else {
        await waitFor(() => t!.output.includes(`test hook: crashing at ${step}`), 20_000, () => `move never crashed\n${t!.output}`);
        await moving;
        // What the crash left on warm: half a copy in the temp area, or the placed name.
        if (step === 'copying') expect(readdirSync(join(t.warm, '.tierfs-tmp')).map((n) => statSync(join(t!.warm, '.tierfs-tmp', n)).size)).toEqual([1024 * 1024]);
        else expect(readFileSync(join(t.warm, 'precious')).equals(data)).toBe(true);
      }
      await t.kill9();
      await moving;
      rmSync(join(t.dataDir, `paused-${step}`), { force: true });
      await t.start();
      // The queue is persistent: the interrupted request runs again after the restart.
      await t.drainQueue();
      expect((await fs.readFile(join(t.mnt, 'precious'))).equals(data)).toBe(true);
      const copies = [t.hot, t.warm].filter((d) => existsSync(join(d, 'precious')));
      expect(copies).toEqual([t.warm]); // moved once, not lost, not duplicated
      expect(existsSync(join(t.warm, '.tierfs-tmp')) ? readdirSync(join(t.warm, '.tierfs-tmp')) : []).toEqual([]); // no partial copy left
      expect(await where(t, 'precious')).toMatchObject({ tier: 'warm', state: 'ok' });
      const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
      expect(status.conflicts).toEqual([]);
      const journal = JSON.parse((await t.cli(['moves', '--json', t.mnt])).stdout).recent.filter((m: { path: string }) => m.path === 'precious');
      const states = journal.map((m: { state: string }) => m.state).sort();
      expect(states).toEqual(step === 'committed' ? ['done'] : ['aborted', 'done']);
    });
  }
});
