// A volume that really fills up during a user's write: hot and warm are 1 MiB tmpfs
// volumes. The writer gets ENOSPC (not EIO, not a hang), what was there stays intact,
// and once space is freed (rm returned) the mount takes writes again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { tmpfsAt, waitFor } from '../helpers/mount.js';

let t: TierfsMount;
const m = (p: string) => join(t.mnt, p);
const unmounts: (() => void)[] = [];

beforeAll(async () => {
  // Changes commit a second after they are made: an unlink answered before its commit
  // would free its file's blocks only then (the first test's last write needs them).
  t = new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' });
  for (const volume of [t.hot, t.warm]) unmounts.push(tmpfsAt(volume, '1m'));
  // Moves stop at their first step until told to go on (the second test fills the
  // target meanwhile); the user writes of the first test start no move.
  await t.start({ TIERFS_TEST_PAUSE_AT: 'intent' });
});

afterAll(async () => {
  await t?.dispose().catch(() => undefined);
  for (const unmount of unmounts) unmount();
});

it('a write that fills the volume fails with ENOSPC; the mount stays whole and usable', async () => {
  await fs.writeFile(m('small'), 'kept');
  const fh = await fs.open(m('big'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 7);
  let written = 0;
  let failure: NodeJS.ErrnoException | undefined;
  try {
    // A file grows on the volume it was created on: 3 MiB cannot fit in its 1 MiB.
    // (A write that meets the end of the space may be short; the next one fails.)
    while (written < 3 << 20) written += (await fh.write(chunk, 0, chunk.length, written)).bytesWritten;
  } catch (err) {
    failure = err as NodeJS.ErrnoException;
  } finally {
    await fh.close().catch(() => undefined);
  }
  expect(failure?.code).toBe('ENOSPC');
  expect(written).toBeGreaterThan(0);
  expect(written).toBeLessThanOrEqual(1 << 20);
  // What the writer got in is there; the other file is untouched.
  const big = await fs.readFile(m('big'));
  expect(big.length).toBe(written);
  expect(big.every((b) => b === 7)).toBe(true);
  expect(await fs.readFile(m('small'), 'utf8')).toBe('kept');
  // Freed space is usable again at once: on a volume short of room, unlink returns once
  // the blocks are free.
  await fs.unlink(m('big'));
  const again = Buffer.alloc(512 * 1024, 9);
  await fs.writeFile(m('again'), again);
  expect((await fs.readFile(m('again'))).equals(again)).toBe(true);
});

it('a move whose target fills up during the copy is aborted, its partial copy removed, the source intact', async () => {
  for (const name of ['small', 'again']) await fs.unlink(m(name));
  const data = randomBytes(700 * 1024);
  await fs.writeFile(m('moving'), data);
  const move = t.cli(['move', '--json', m('moving'), '--to', 'warm']);
  const marker = join(t.dataDir, 'paused-intent');
  await waitFor(() => existsSync(marker), 20_000, () => `the move never started\n${t.output}`);
  // Room for the file when the move chose warm; gone before the copy runs.
  writeFileSync(join(t.warm, 'filler'), Buffer.alloc(600 * 1024, 1));
  rmSync(marker);
  const r = await move;
  const outcome = JSON.parse(r.stdout)[0];
  // The volume's own error, not a copy that reads back different (a short write unnoticed).
  expect(outcome).toMatchObject({ state: 'aborted', error: expect.stringMatching(/^ENOSPC/) });
  expect((await fs.readFile(m('moving'))).equals(data)).toBe(true);
  const w = JSON.parse((await t.cli(['where', '--json', m('moving')])).stdout)[0];
  expect(w.tier).toBe('hot');
  expect(existsSync(join(t.warm, 'moving'))).toBe(false);
  expect(readdirSync(join(t.warm, '.tierfs-tmp'))).toEqual([]);
});
