// A move whose file is replaced while the move waits to copy it: here a symlink is renamed
// over the file's name. The move already holds the file's bytes open (it opens them with
// its look at the names), copies them, and must end as a lost race ("file was deleted
// during the move"), not as an error about the backing path; the symlink and everything
// else stay as the user left them.
// (Seen first by the differential test with moves, seed 931676.)
import { afterEach, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

it('a file replaced by a symlink before its move copies it ends the move as a lost race', { timeout: 90_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_PAUSE_AT: 'intent' });
  await fs.writeFile(join(t.mnt, 'f'), 'bytes');
  const moving = t.cli(['move', join(t.mnt, 'f'), '--to', 'warm', '--json']);
  const marker = join(t.dataDir, 'paused-intent');
  await waitFor(() => existsSync(marker), 20_000, () => `the move never paused\n${t!.output}`);
  await fs.symlink('elsewhere', join(t.mnt, 's'));
  await fs.rename(join(t.mnt, 's'), join(t.mnt, 'f'));
  rmSync(marker);

  const r = await moving;
  expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'aborted', reason: 'file was deleted during the move' });
  expect(await fs.readlink(join(t.mnt, 'f'))).toBe('elsewhere');
  expect(await fs.readdir(t.mnt)).toEqual(['f']);
  expect(existsSync(join(t.warm, 'f'))).toBe(false);
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  expect(status.conflicts).toEqual([]);
});
