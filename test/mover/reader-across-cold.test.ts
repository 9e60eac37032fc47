// A reader that has a local file open while it moves to an object tier, with the kernel's
// passthrough off (kernels before 6.9): it reads on, and a write made after the file came
// back (copy-up) is what it reads, as from any other open of the file.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

const cold = tempDir('tierfs-reader-cold-');
let t: TierfsMount;

beforeAll(async () => {
  t = await new TierfsMount({ passthrough: 'off', moreTiers: fsObjectTier(cold.path, { chunkSize: '1MiB' }) }).start();
}, 120_000);

afterAll(async () => {
  await t?.dispose();
  cold.remove();
});

it('a reader open across a move to cold sees a write made after the file came back', async () => {
  const first = randomBytes(300_000);
  await fs.writeFile(join(t.mnt, 'log'), first);
  const reader = await fs.open(join(t.mnt, 'log'), 'r');
  try {
    const head = Buffer.alloc(1000);
    await reader.read(head, 0, 1000, 0);
    expect(head.equals(first.subarray(0, 1000))).toBe(true);
    const r = await t.cli(['move', join(t.mnt, 'log'), '--to', 'cold', '--json']);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'done' });
    await fs.appendFile(join(t.mnt, 'log'), 'appended after the move');
    const buf = Buffer.alloc(100);
    const { bytesRead } = await reader.read(buf, 0, 100, first.length);
    expect(buf.subarray(0, bytesRead).toString()).toBe('appended after the move');
    const again = Buffer.alloc(1000);
    await reader.read(again, 0, 1000, 150_000);
    expect(again.equals(first.subarray(150_000, 151_000))).toBe(true);
  } finally {
    await reader.close();
  }
});
