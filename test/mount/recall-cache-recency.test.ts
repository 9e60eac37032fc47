// The disk recall cache keeps what the FUSE binding reads: reads it answers from cell files
// never reach JavaScript, so it reports the files it read, and they count as recently used
// when the cache must evict.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

const KiB = 1024;
const cold = tempDir('tierfs-recall-recency-');
let t: TierfsMount;

beforeAll(async () => {
  t = new TierfsMount({
    pageCache: 'none', // every read reaches the daemon
    // cells of 256 KiB; the disk cache holds four of them
    moreTiers: fsObjectTier(cold.path, { chunkSize: '512KiB' }),
    extraYaml: 'cache: { memory: 0, disk: 1MiB }\n',
  });
  await t.start();
});
afterAll(async () => {
  await t?.dispose();
  cold.remove();
});

const cacheDir = () => join(t.dataDir, 'cache', 'cold');
const cellFiles = () => new Set(readdirSync(cacheDir()).filter((n) => !n.includes('.tmp-')));

async function coldFile(name: string): Promise<{ path: string; data: Buffer }> {
  const path = join(t.mnt, name);
  const data = randomBytes(512 * KiB); // one stripe: two cells
  writeFileSync(path, data);
  const mv = await t.cli(['move', path, '--to', 'cold']);
  expect(mv.code, mv.stderr).toBe(0);
  return { path, data };
}

/** Reads the file whole and returns the cache files that appeared. */
function readAndSee(f: { path: string; data: Buffer }): string[] {
  const before = cellFiles();
  expect(readFileSync(f.path).equals(f.data)).toBe(true);
  return [...cellFiles()].filter((n) => !before.has(n));
}

it('evicts the cells read least recently, counting the reads the binding answered itself', async () => {
  const a = await coldFile('a');
  const b = await coldFile('b');
  const c = await coldFile('c');
  const aCells = readAndSee(a);
  const bCells = readAndSee(b);
  expect(aCells).toHaveLength(2);
  expect(bCells).toHaveLength(2);
  // a again, answered by the binding from its files: JavaScript hears of it in the next batch.
  expect(readFileSync(a.path).equals(a.data)).toBe(true);
  await new Promise((r) => setTimeout(r, 1000));
  // c's two cells need room: b's go, a's stay.
  expect(readAndSee(c)).toHaveLength(2);
  // The cache unlinks what it evicts in the background (disk-cache.ts): under load the
  // files may still be there for a moment after the read that evicted them.
  for (const end = Date.now() + 5000; bCells.some((n) => cellFiles().has(n)) && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const left = cellFiles();
  expect(aCells.every((n) => left.has(n))).toBe(true);
  expect(bCells.some((n) => left.has(n))).toBe(false);
});
