// mount.readdirplus: whether a listing carries its entries' attributes. With them, a
// walk that stats what it lists (find -size, ls -l, du) needs no lookup per entry; without,
// a walk that reads names alone gives the daemon less to do. Either way a user sees the
// same names and attributes.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

const FILES = 300;
let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const lookups = (m: TierfsMount) => m.metric('tierfs_fuse_requests_total', { op: 'lookup' });

/** Files made through a mount with this setting, then the kernel's view of them after a restart: lookups made by find -size, and ls -l. */
async function walk(readdirplus: 'always' | 'off'): Promise<{ lookups: number; found: string; listing: string }> {
  t = await new TierfsMount({ readdirplus, cacheTimeout: '60s', metrics: true }).start();
  await fs.mkdir(join(t.mnt, 'd'));
  for (let i = 0; i < FILES; i++) await fs.writeFile(join(t.mnt, 'd', `file-${String(i).padStart(4, '0')}`), 'x'.repeat(i));
  await fs.utimes(join(t.mnt, 'd'), 1_700_000_000, 1_700_000_000);
  await t.stop();
  await t.start(); // the kernel knows none of the files now
  const before = await lookups(t);
  const found = execFileSync('find', [join(t.mnt, 'd'), '-size', '+0', '-printf', '%f %s %m\\n'], { encoding: 'utf8' });
  const after = await lookups(t);
  const listing = execFileSync('ls', ['-ln', '--time-style=+', join(t.mnt, 'd')], { encoding: 'utf8' });
  await t.dispose();
  t = undefined;
  return { lookups: after - before, found: found.split('\n').sort().join('\n'), listing };
}

it('always: a walk that stats every entry looks none up; off: it looks up each; both see the same', { timeout: 60_000 }, async () => {
  const plus = await walk('always');
  const plain = await walk('off');
  expect(plus.found.split('\n').filter(Boolean)).toHaveLength(FILES - 1); // file-0000 is empty
  expect(plain.found).toBe(plus.found);
  expect(plain.listing).toBe(plus.listing);
  expect(plus.lookups).toBeLessThan(10);
  expect(plain.lookups).toBeGreaterThanOrEqual(FILES);
});
