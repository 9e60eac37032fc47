// The old copy of a moved file, between the commit and its removal (step 5 of the move
// protocol). Found by the differential test with moves (seed 5): a directory renamed in
// that window took the old local copy along on its volume, so the removal, looking at the
// path recorded at the commit, missed it — and the next mount imported it back.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount, type CliResult } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

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
