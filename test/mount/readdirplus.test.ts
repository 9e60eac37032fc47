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
async function walk(readdirplus: 'always' | 'off' | 'adaptive'): Promise<{ lookups: number; found: string; listing: string }> {
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
  // adaptive: the first directory a caller lists carries attributes, all its pages
  const learned = await walk('adaptive');
  expect(learned.found).toBe(plus.found);
  expect(learned.listing).toBe(plus.listing);
  expect(learned.lookups).toBeLessThan(10);
});

const DIRS = 4;
const PER_DIR = 150;

/** A tree of DIRS directories made through an adaptive mount, remounted before each walk (the kernel knows no entry). */
async function adaptiveTree(): Promise<TierfsMount> {
  const m = (t = await new TierfsMount({ readdirplus: 'adaptive', cacheTimeout: '60s', metrics: true }).start());
  for (let d = 0; d < DIRS; d++) {
    await fs.mkdir(join(m.mnt, 'top', `d${d}`), { recursive: true });
    for (let i = 0; i < PER_DIR; i++) await fs.writeFile(join(m.mnt, 'top', `d${d}`, `f${i}`), 'y'.repeat(1 + i));
  }
  return m;
}

async function afresh(m: TierfsMount): Promise<{ lookups: number; with: number; without: number; stat: number }> {
  await m.stop();
  await m.start();
  return counts(m);
}

async function counts(m: TierfsMount): Promise<{ lookups: number; with: number; without: number; stat: number }> {
  return {
    lookups: await lookups(m),
    with: await m.metric('tierfs_fuse_listing_pages_total', { attributes: 'with' }),
    without: await m.metric('tierfs_fuse_listing_pages_total', { attributes: 'without' }),
    stat: await m.metric('tierfs_fuse_listing_callers_that_stat_total'),
  };
}

it('adaptive: a walk of names gets them without attributes; a walk that stats gets attributes once it has looked up one directory', { timeout: 60_000 }, async () => {
  const m = await adaptiveTree();
  const expected = Array.from({ length: DIRS * PER_DIR }, (_, k) => `f${k % PER_DIR} ${1 + (k % PER_DIR)}`).sort();

  // find of names: the top directory with attributes, every directory under it without.
  let before = await afresh(m);
  const names = execFileSync('find', [join(m.mnt, 'top'), '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  let after = await counts(m);
  expect(names).toHaveLength(DIRS * PER_DIR);
  expect(after.without - before.without).toBeGreaterThanOrEqual(DIRS);
  expect(after.lookups - before.lookups).toBeLessThan(DIRS + 10); // the directories it went into
  expect(after.stat - before.stat).toBe(0);

  // find -size, which stats every file: one directory's files looked up, then attributes.
  before = await afresh(m);
  const sized = execFileSync('find', [join(m.mnt, 'top'), '-type', 'f', '-printf', '%f %s\n'], { encoding: 'utf8' });
  after = await counts(m);
  expect(sized.split('\n').filter(Boolean).sort()).toEqual(expected);
  expect(after.stat - before.stat).toBe(1);
  expect(after.lookups - before.lookups).toBeGreaterThanOrEqual(PER_DIR - 8 /* STATS_SEEN */);
  expect(after.lookups - before.lookups).toBeLessThan(2 * PER_DIR); // off: every one of DIRS × PER_DIR
  expect(after.with - before.with).toBeGreaterThanOrEqual(DIRS - 1);

  // find piped to stat: the files find listed are looked up by another process, which counts for find.
  before = await afresh(m);
  const piped = execFileSync('sh', ['-c', `find '${join(m.mnt, 'top')}' -type f -print0 | xargs -0 stat -c '%n %s'`], { encoding: 'utf8' });
  after = await counts(m);
  expect(piped.split('\n').filter(Boolean).map((l) => l.replace(/^.*\//, '')).sort()).toEqual(expected);
  expect(after.stat - before.stat).toBe(1);

  // The same walk by Node: readdir on one thread of its pool, lstat on others: one caller.
  before = await afresh(m);
  const walker = `const fs = require('node:fs/promises'), path = require('node:path'); const out = [];
    async function walk(d) { for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name); if (e.isDirectory()) await walk(p); else out.push(e.name + ' ' + (await fs.lstat(p)).size); } }
    walk(process.argv[1]).then(() => console.log(out.join('\\n')));`;
  const byNode = execFileSync(process.execPath, ['-e', walker, join(m.mnt, 'top')], { encoding: 'utf8' });
  after = await counts(m);
  expect(byNode.split('\n').filter(Boolean).sort()).toEqual(expected);
  expect(after.stat - before.stat).toBe(1);
  expect(after.lookups - before.lookups).toBeLessThan(2 * PER_DIR);
});
