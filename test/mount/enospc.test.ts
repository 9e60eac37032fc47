// A volume that really fills up during a user's write: hot and warm are 1 MiB tmpfs
// volumes. The writer gets ENOSPC (not EIO, not a hang), what was there stays intact,
// and once space is freed the mount takes writes again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount;
const m = (p: string) => join(t.mnt, p);
const mounted: string[] = [];

beforeAll(async () => {
  t = new TierfsMount();
  for (const volume of [t.hot, t.warm]) {
    mkdirSync(volume, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tierfs-test', volume]);
    mounted.push(volume);
  }
  await t.start();
});

afterAll(async () => {
  await t?.dispose().catch(() => undefined);
  for (const volume of mounted) execFileSync('umount', ['-l', volume]);
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
  // Freed space is usable again at once.
  await fs.unlink(m('big'));
  const again = Buffer.alloc(512 * 1024, 9);
  await fs.writeFile(m('again'), again);
  expect((await fs.readFile(m('again'))).equals(again)).toBe(true);
});
