// The disk recall cache through a mount: a cold file's cells are fetched into their cache
// files and read from them; a cache file changed behind the daemon's back is found by the
// next read, never served, counted, and fetched again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { parseExposition } from '../helpers/exposition.js';

const KiB = 1024;
const cold = tempDir('tierfs-recall-cache-');
let t: TierfsMount;
let metricsUrl: string;
const data = randomBytes(1024 * KiB + 333);

beforeAll(async () => {
  t = new TierfsMount({
    pageCache: 'none', // every read reaches the daemon, as after the kernel dropped its pages
    // cells of 256 KiB: four checksummed blocks each
    moreTiers: fsObjectTier(cold.path, { chunkSize: '512KiB' }),
    extraYaml: 'cache: { memory: 64MiB, disk: 64MiB }\n',
  });
  await t.start();
  const status = await t.cli(['status', '--json', t.mnt]);
  metricsUrl = JSON.parse(status.stdout).metrics.url;
  writeFileSync(join(t.mnt, 'f'), data);
  const mv = await t.cli(['move', join(t.mnt, 'f'), '--to', 'cold']);
  expect(mv.code, mv.stderr).toBe(0);
});
afterAll(async () => {
  await t?.dispose();
  cold.remove();
});

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return parseExposition(await (await fetch(metricsUrl)).text()).value(name, labels) ?? 0;
}

const cacheDir = () => join(t.dataDir, 'cache', 'cold');
const cellFiles = () => readdirSync(cacheDir()).filter((n) => !n.includes('.tmp-')).sort();

it('reads a cold file from the cells fetched into the disk cache, and again from there', async () => {
  expect(readFileSync(join(t.mnt, 'f')).equals(data)).toBe(true);
  // 1 MiB + 333 bytes in stripes of 512 KiB, 2 data cells each: 3 stripes, 6 data cells.
  expect(cellFiles()).toHaveLength(6);
  const misses = await metric('tierfs_recall_cache_misses_total');
  expect(readFileSync(join(t.mnt, 'f')).equals(data)).toBe(true);
  expect(await metric('tierfs_recall_cache_misses_total')).toBe(misses);
  expect(await metric('tierfs_recall_cache_rejected_total')).toBe(0);
});

it('serves reads of cached cells in the binding, without JavaScript; a file changed since the cache wrote it is checked first', async () => {
  // Reads JavaScript answered are timed; the binding's are only counted.
  const jsReads = await metric('tierfs_fuse_request_seconds_count', { op: 'read' });
  const native = await metric('tierfs_fuse_cached_cell_reads_total');
  const checked = await metric('tierfs_fuse_cached_cell_blocks_checked_total');
  // A new handle is told of the six cached cells at open: every read of it is the binding's.
  expect(readFileSync(join(t.mnt, 'f')).equals(data)).toBe(true);
  expect(await metric('tierfs_fuse_request_seconds_count', { op: 'read' })).toBe(jsReads);
  expect(await metric('tierfs_fuse_cached_cell_reads_total')).toBeGreaterThan(native);
  expect(await metric('tierfs_fuse_cached_cell_read_bytes_total')).toBeGreaterThanOrEqual(data.length);
  // The cache wrote each file whole from checked bytes, and none has changed since: read as they are.
  expect(await metric('tierfs_fuse_cached_cell_blocks_checked_total')).toBe(checked);
  // A file whose ctime moved (its bytes the same) is checked block by block before it is served.
  const touched = cellFiles()[0]!;
  utimesSync(join(cacheDir(), touched), new Date(), new Date());
  expect(readFileSync(join(t.mnt, 'f')).equals(data)).toBe(true);
  expect(await metric('tierfs_fuse_cached_cell_blocks_checked_total')).toBe(checked + 4);
  // Random reads through one handle: the bytes asked for, and no block checked twice.
  const fd = openSync(join(t.mnt, 'f'), 'r');
  try {
    for (let i = 0; i < 200; i++) {
      const at = Math.floor(Math.random() * (data.length + 1000));
      const len = 1 + Math.floor(Math.random() * 300 * KiB);
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, at);
      expect(buf.subarray(0, n).equals(data.subarray(at, at + len))).toBe(true);
    }
  } finally {
    closeSync(fd);
  }
  expect(await metric('tierfs_fuse_cached_cell_blocks_checked_total')).toBeLessThanOrEqual(checked + 4 + 4);
  expect(await metric('tierfs_fuse_cached_cell_rejected_total')).toBe(0);
});

it('a cache file changed in place behind the daemon is caught by the next read, never served, and fetched again', async () => {
  const victim = cellFiles()[0]!;
  const good = readFileSync(join(cacheDir(), victim));
  const fd = openSync(join(cacheDir(), victim), 'r+');
  writeSync(fd, Buffer.from('rot'), 0, 3, 100 * KiB);
  closeSync(fd);
  expect(readFileSync(join(t.mnt, 'f')).equals(data)).toBe(true);
  // Refused by the binding (its check of the block) and then by JavaScript, which fetched it again.
  expect(await metric('tierfs_fuse_cached_cell_rejected_total')).toBe(1);
  expect(await metric('tierfs_recall_cache_rejected_total')).toBe(1);
  // Fetched again: the cache holds the good bytes once more.
  for (const end = Date.now() + 5000; !cellFiles().includes(victim) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  expect(readFileSync(join(cacheDir(), victim)).equals(good)).toBe(true);
});

it('a reader served from cached cells follows its file back to a local tier and sees later writes', async () => {
  const g = join(t.mnt, 'g');
  const first = randomBytes(600 * KiB);
  writeFileSync(g, first);
  expect((await t.cli(['move', g, '--to', 'cold'])).code).toBe(0);
  expect(readFileSync(g).equals(first)).toBe(true); // its cells now in the disk cache
  const reader = openSync(g, 'r');
  try {
    const buf = Buffer.alloc(4 * KiB);
    const native = await metric('tierfs_fuse_cached_cell_reads_total');
    readSync(reader, buf, 0, buf.length, 0);
    expect(await metric('tierfs_fuse_cached_cell_reads_total')).toBe(native + 1);
    const back = await t.cli(['move', g, '--to', 'hot']);
    expect(back.code, back.stderr).toBe(0);
    const second = randomBytes(first.length);
    writeFileSync(g, second);
    readSync(reader, buf, 0, buf.length, 0);
    expect(buf.equals(second.subarray(0, buf.length))).toBe(true);
  } finally {
    closeSync(reader);
  }
});
