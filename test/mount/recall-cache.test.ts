// The disk recall cache through a mount: a cold file's cells are fetched into their cache
// files and read from them; a cache file changed behind the daemon's back is found by the
// next read, never served, counted, and fetched again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
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
  expect(await metric('tierfs_recall_cache_hits_total', { layer: 'disk' })).toBeGreaterThan(0);
  expect(await metric('tierfs_recall_cache_rejected_total')).toBe(0);
});

it('a cache file changed in place behind the daemon is caught by the next read, never served, and fetched again', async () => {
  const victim = cellFiles()[0]!;
  const good = readFileSync(join(cacheDir(), victim));
  const fd = openSync(join(cacheDir(), victim), 'r+');
  writeSync(fd, Buffer.from('rot'), 0, 3, 100 * KiB);
  closeSync(fd);
  expect(readFileSync(join(t.mnt, 'f')).equals(data)).toBe(true);
  expect(await metric('tierfs_recall_cache_rejected_total')).toBe(1);
  // Fetched again: the cache holds the good bytes once more.
  for (const end = Date.now() + 5000; !cellFiles().includes(victim) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  expect(readFileSync(join(cacheDir(), victim)).equals(good)).toBe(true);
});
