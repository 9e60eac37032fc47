// Overwriting or truncating a file on an object tier brings back only what it keeps: `>
// f`, `cp new f` (O_TRUNC) fetch nothing, truncate(2) to N bytes the first N. Before, the
// whole file came down first — a large cold file could not be overwritten while the local
// tiers had less room than it, though the result needs almost none.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { run, tmpfsAt } from '../helpers/mount.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;
const cold = tempDir('tierfs-cold-truncate-');
let t: TierfsMount;
const unmounts: (() => void)[] = [];

beforeAll(async () => {
  t = new TierfsMount({ moreTiers: fsObjectTier(cold.path, { chunkSize: '1MiB' }), extraYaml: 'cache: { memory: 0, disk: 0 }\n' });
  for (const volume of [t.hot, t.warm]) unmounts.push(tmpfsAt(volume, '32m'));
  await t.start();
}, 120_000);

afterAll(async () => {
  await t?.stop();
  for (const u of unmounts) u();
  await t?.dispose();
  cold.remove();
});

const where = async (p: string) => JSON.parse((await t.cli(['where', '--json', join(t.mnt, p)])).stdout)[0] as { tier: string; size: number };
/** truncate(2), by path, from another process (the test process never touches the mount synchronously). */
async function truncate(path: string, size: number): Promise<void> {
  const r = await run('python3', ['-c', 'import os, sys; os.truncate(sys.argv[1], int(sys.argv[2]))', path, String(size)]);
  expect(r.code, r.stderr).toBe(0);
}
async function toCold(name: string, data: Buffer): Promise<void> {
  await fs.writeFile(join(t.mnt, name), data);
  const moved = await t.cli(['move', join(t.mnt, name), '--to', 'cold']);
  expect(moved.code, moved.stderr).toBe(0);
}

it('a cold file larger than the room on every local tier can be overwritten, and truncated', { timeout: 120_000 }, async () => {
  const big = randomBytes(24 * MiB);
  await toCold('big', big);
  await toCold('other', big);
  // The local tiers fill: 20 MiB on each of their 32.
  await fs.writeFile(join(t.mnt, 'filler-hot'), Buffer.alloc(20 * MiB, 1));
  const moved = await t.cli(['move', join(t.mnt, 'filler-hot'), '--to', 'warm']);
  expect(moved.code, moved.stderr).toBe(0);
  await fs.writeFile(join(t.mnt, 'filler-hot2'), Buffer.alloc(20 * MiB, 2));
  const before = await fs.stat(join(t.mnt, 'big'));

  await fs.writeFile(join(t.mnt, 'big'), 'overwritten'); // open(O_TRUNC), write, close
  expect(await fs.readFile(join(t.mnt, 'big'), 'utf8')).toBe('overwritten');
  const after = await fs.stat(join(t.mnt, 'big'));
  expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs);
  expect((await where('big')).tier).not.toBe('cold');

  // truncate(2) to a part of it: only that part comes back, exactly. (Node's fs.truncate
  // and coreutils' truncate open the file for writing first: that open brings it whole.)
  await truncate(join(t.mnt, 'other'), 3 * MiB + 5);
  const kept = await fs.readFile(join(t.mnt, 'other'));
  expect(kept.length).toBe(3 * MiB + 5);
  expect(kept.equals(big.subarray(0, 3 * MiB + 5))).toBe(true);
  expect(await where('other')).toMatchObject({ size: 3 * MiB + 5 });
});

it('a truncate that makes a cold file longer keeps all its bytes, then zeros', { timeout: 120_000 }, async () => {
  const data = randomBytes(300_000);
  await toCold('grows', data);
  await truncate(join(t.mnt, 'grows'), 500_000);
  const got = await fs.readFile(join(t.mnt, 'grows'));
  expect(got.subarray(0, 300_000).equals(data)).toBe(true);
  expect(got.subarray(300_000).equals(Buffer.alloc(200_000))).toBe(true);
  // An open with O_TRUNC of an empty cold file, too.
  await toCold('empty', Buffer.alloc(0));
  await fs.writeFile(join(t.mnt, 'empty'), 'x');
  expect(await fs.readFile(join(t.mnt, 'empty'), 'utf8')).toBe('x');
});
