// A cold file read in small pieces keeps the blocks it fetched in a sparse file of their
// cell in the disk cache, and the binding answers the next reads of them from it, without
// JavaScript; a block never read is a hole there, which sends its read to JavaScript
// (and the cell stays served); a block changed behind the daemon's back is caught by its
// CRC, never served, counted, and written again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/mount.js';

const KiB = 1024;
const BLOCK = 64 * KiB;
const cold = tempDir('tierfs-recall-blocks-');
let t: TierfsMount;
// cells of 1 MiB (16 blocks of 64 KiB), two data cells a stripe
const data = randomBytes(4096 * KiB);

beforeAll(async () => {
  t = new TierfsMount({
    pageCache: 'none', // every read reaches the daemon
    moreTiers: fsObjectTier(cold.path, { chunkSize: '2MiB' }),
    extraYaml: 'cache: { memory: 64MiB, disk: 64MiB }\n',
  });
  await t.start();
  writeFileSync(join(t.mnt, 'f'), data);
  const mv = await t.cli(['move', join(t.mnt, 'f'), '--to', 'cold']);
  expect(mv.code, mv.stderr).toBe(0);
});
afterAll(async () => {
  await t?.dispose();
  cold.remove();
});

const metric = (name: string, labels?: Record<string, string>) => t.metric(name, labels);
const jsReads = () => metric('tierfs_fuse_request_seconds_count', { op: 'read' });
const cacheDir = () => join(t.dataDir, 'cache', 'cold');
const blockFiles = () => readdirSync(cacheDir()).filter((n) => n.endsWith('.blocks')).sort();

/** 4 KiB at `at` through a new handle, checked against the file's bytes. */
function read4k(fd: number, at: number): void {
  const buf = Buffer.alloc(4 * KiB);
  const n = readSync(fd, buf, 0, buf.length, at);
  expect(n).toBe(buf.length);
  expect(buf.equals(data.subarray(at, at + buf.length)), `bytes at ${at}`).toBe(true);
}

// One 4 KiB read in each of these blocks (of both cells of the first stripe, and of the last cell).
const offsets = [30, 3, 63, 18, 7].map((b) => b * BLOCK + 1000);

it('blocks read once are answered by the binding from the cell\'s file of blocks; a hole goes to JavaScript and the cell stays', async () => {
  const ranged = await metric('tierfs_recall_ranged_reads_total');
  let fd = openSync(join(t.mnt, 'f'), 'r');
  try {
    for (const at of offsets) read4k(fd, at);
  } finally {
    closeSync(fd);
  }
  expect(await metric('tierfs_recall_ranged_reads_total')).toBe(ranged + offsets.length);
  // the two cells of stripe 0 (blocks 3, 7 and 18, 30) and the last (63): files of blocks, no whole cell
  await eventually(() => blockFiles().length === 3, 5000, () => `files of blocks: ${blockFiles().join(', ')}`);
  expect(readdirSync(cacheDir()).filter((n) => !n.endsWith('.blocks'))).toEqual([]);

  const before = { js: await jsReads(), native: await metric('tierfs_fuse_cached_cell_reads_total') };
  fd = openSync(join(t.mnt, 'f'), 'r');
  try {
    for (const at of offsets) read4k(fd, at);
    expect(await jsReads()).toBe(before.js);
    expect(await metric('tierfs_fuse_cached_cell_reads_total')).toBe(before.native + offsets.length);
    // Block 5 of cell 0 was never read: a hole, so JavaScript fetches it …
    read4k(fd, 5 * BLOCK + 10);
    expect(await jsReads()).toBe(before.js + 1);
    expect(await metric('tierfs_recall_ranged_reads_total')).toBe(ranged + offsets.length + 1);
    // … and the cell is still the binding's for the blocks it has, the new one included
    await eventually(async () => (read4k(fd, 5 * BLOCK + 10), (await jsReads()) === before.js + 1), 5000, () => 'block 5 still read by JavaScript');
    read4k(fd, offsets[1]!);
    expect(await jsReads()).toBe(before.js + 1);
  } finally {
    closeSync(fd);
  }
  expect(await metric('tierfs_fuse_cached_cell_rejected_total')).toBe(0);
});

it('a block changed in its file behind the daemon is caught by its CRC, never served, counted and written again', async () => {
  const file = join(cacheDir(), blockFiles()[0]!);
  const at = offsets[1]!; // block 3 of cell 0
  const wfd = openSync(file, 'r+');
  writeSync(wfd, Buffer.from('not the block'), 0, 13, 3 * BLOCK + 100);
  closeSync(wfd);
  const rejected = await metric('tierfs_fuse_cached_cell_rejected_total');
  const fd = openSync(join(t.mnt, 'f'), 'r');
  try {
    const js = await jsReads();
    read4k(fd, at);
    expect(await metric('tierfs_fuse_cached_cell_rejected_total')).toBe(rejected + 1);
    expect(await jsReads()).toBe(js + 1);
  } finally {
    closeSync(fd);
  }
  // Written again from the checked copy JavaScript served: a new handle is the binding's again.
  await eventually(
    async () => {
      const fd2 = openSync(join(t.mnt, 'f'), 'r');
      try {
        const js = await jsReads();
        read4k(fd2, at);
        return (await jsReads()) === js;
      } finally {
        closeSync(fd2);
      }
    },
    5000,
    () => 'the rewritten block still read by JavaScript',
  );
  expect(await metric('tierfs_fuse_cached_cell_rejected_total')).toBe(rejected + 1);
});
