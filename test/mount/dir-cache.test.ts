// The kernel keeps a directory's listing (FOPEN_CACHE_DIR) and lists it again without the
// daemon. Every change of the namespace comes through the kernel, which drops the listing
// of the directory it changed: what the mount creates, renames, links or removes is in the
// next listing at once — in this directory and in the one a rename takes a name to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount;
beforeAll(async () => {
  t = await new TierfsMount({ cacheTimeout: '30s', metrics: true }).start();
});
afterAll(async () => {
  await t?.dispose();
});

const readdirs = () => t.metric('tierfs_fuse_requests_total', { op: 'readdir' });

const list = async (dir: string) => (await fs.readdir(dir)).sort();

describe('directory listings kept by the kernel', () => {
  it('a directory listed again is answered without the daemon', async () => {
    const dir = join(t.mnt, 'kept');
    await fs.mkdir(dir);
    for (let i = 0; i < 300; i++) await fs.writeFile(join(dir, `f${i}`), '');
    const first = await list(dir);
    expect(first).toHaveLength(300);
    const before = await readdirs();
    for (let i = 0; i < 5; i++) expect(await list(dir)).toEqual(first);
    expect(await readdirs()).toBe(before);
  });

  it('what the mount creates, renames, links or removes is in the next listing', async () => {
    const a = join(t.mnt, 'a');
    const b = join(t.mnt, 'b');
    await fs.mkdir(a);
    await fs.mkdir(b);
    await fs.writeFile(join(a, 'one'), '1');
    expect(await list(a)).toEqual(['one']);
    expect(await list(b)).toEqual([]);

    await fs.writeFile(join(a, 'two'), '2');
    expect(await list(a)).toEqual(['one', 'two']);
    await fs.mkdir(join(a, 'sub'));
    await fs.symlink('one', join(a, 'sym'));
    await fs.link(join(a, 'one'), join(a, 'hard'));
    expect(await list(a)).toEqual(['hard', 'one', 'sub', 'sym', 'two']);
    await fs.rename(join(a, 'two'), join(b, 'moved'));
    expect(await list(a)).toEqual(['hard', 'one', 'sub', 'sym']);
    expect(await list(b)).toEqual(['moved']);
    await fs.unlink(join(a, 'one'));
    await fs.rmdir(join(a, 'sub'));
    expect(await list(a)).toEqual(['hard', 'sym']);
    await fs.rename(join(b, 'moved'), join(a, 'hard')); // over an existing name
    expect(await list(a)).toEqual(['hard', 'sym']);
    expect(await list(b)).toEqual([]);
    expect(await fs.readFile(join(a, 'hard'), 'utf8')).toBe('2');
  });
});
