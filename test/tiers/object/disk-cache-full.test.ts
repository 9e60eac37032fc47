// A file of blocks written as its filesystem fills: a write that takes only part of a
// block (no error) must not be recorded as the whole block written from checked bytes —
// the FUSE binding serves recorded blocks without checking them, and the hole would be
// read as zeros.
import { afterEach, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskCache } from '../../../src/tiers/object/disk-cache.js';
import { freeBytes, tmpfsAt } from '../../helpers/mount.js';
import { tempDir } from '../../helpers/tmp.js';

const KiB = 1024;
let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.reverse()) f();
  cleanup = [];
});

it('a block cut short by a full filesystem is not recorded as written', async () => {
  const dir = tempDir('tierfs-blocks-full-');
  cleanup.push(() => dir.remove());
  cleanup.push(tmpfsAt(dir.path, '2m'));
  const cache = await DiskCache.open(join(dir.path, 'cache'), 1024 * KiB);
  cleanup.push(() => void cache.close());
  const block = randomBytes(64 * KiB);
  cache.addBlocks('cell', 256 * KiB, 64 * KiB, block); // room enough when asked; written once this turn ends
  // Before that write, the filesystem fills to 20 KiB free (another writer, the catalog).
  writeFileSync(join(dir.path, 'filler'), Buffer.alloc(freeBytes(dir.path) - 20 * KiB));
  await cache.idle();
  const written = cache.blocksOf('cell');
  if (written) {
    // Whatever is recorded must be there, byte for byte.
    const file = readFileSync(written.path);
    for (const [from, to] of written.ranges) expect(file.subarray(from, to).equals(block.subarray(from - 64 * KiB, to - 64 * KiB))).toBe(true);
  }
  expect(written?.ranges ?? []).toEqual([]);
});
