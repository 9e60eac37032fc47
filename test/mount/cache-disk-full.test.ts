// The recall cache lives in the data directory, beside the catalog. Recalls that filled
// that filesystem would leave the catalog no room to commit, and a commit that fails
// stops the daemon: the cache leaves part of its filesystem free (5%, at most 1 GiB),
// whatever its budget says.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { freeBytes, tmpfsAt } from '../helpers/mount.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;
const cold = tempDir('tierfs-cache-full-');
let t: TierfsMount;
let unmountData: (() => void) | undefined;

beforeAll(async () => {
  t = new TierfsMount({
    moreTiers: fsObjectTier(cold.path, { chunkSize: '1MiB' }),
    extraYaml: 'cache: { memory: 0, disk: 1GiB }\n', // a budget far past the filesystem
  });
  unmountData = tmpfsAt(t.dataDir, '48m'); // the data directory, its cache and (here) the local tiers
  await t.start();
}, 120_000);

afterAll(async () => {
  await t?.stop();
  unmountData?.();
  await t?.dispose();
  cold.remove();
});

it('recalls that would fill the data directory leave it room: the catalog still commits, the mount serves on', { timeout: 120_000 }, async () => {
  const files = Array.from({ length: 4 }, (_, i) => [`f${i}`, randomBytes(16 * MiB)] as const);
  for (const [name, data] of files) {
    await fs.writeFile(join(t.mnt, name), data);
    const moved = await t.cli(['move', join(t.mnt, name), '--to', 'cold']);
    expect(moved.code, moved.stderr).toBe(0);
  }
  // 64 MiB read from cold through a cache on a 48 MiB filesystem, twice.
  for (let round = 0; round < 2; round++) {
    for (const [name, data] of files) expect((await fs.readFile(join(t.mnt, name))).equals(data), name).toBe(true);
  }
  expect(freeBytes(t.dataDir)).toBeGreaterThanOrEqual(2 * MiB); // 5% of 48 MiB, less a write under way
  // The catalog commits: a new file, a rename, a stat, all as the daemon says they are.
  await fs.writeFile(join(t.mnt, 'after'), 'still here');
  await fs.rename(join(t.mnt, 'after'), join(t.mnt, 'after2'));
  expect(await fs.readFile(join(t.mnt, 'after2'), 'utf8')).toBe('still here');
  const status = await t.cli(['status', '--json', t.mnt]);
  expect(status.code, status.stderr).toBe(0);
  expect(t.output).toContain('the disk cache takes no more for now');
});
