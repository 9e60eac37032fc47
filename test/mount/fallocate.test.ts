// fallocate through the mount, side by side with a plain directory on the same
// filesystem: every mode the kernel passes to a FUSE filesystem gives the same file
// (size and bytes) as it does there; the modes FUSE itself does not pass on fail as the
// kernel makes them fail, and harm nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount;
let plain: string;
beforeAll(async () => {
  t = await new TierfsMount().start();
  plain = join(t.root, 'plain');
  mkdirSync(plain);
});
afterAll(async () => {
  await t?.dispose();
});

const original = randomBytes(64 * 1024);

/** Run fallocate(1) on a fresh copy of `original` in dir; the file's size and bytes after, and the error if any. */
function run(dir: string, name: string, args: string[]): { size: number; bytes: Buffer; error: string } {
  const f = join(dir, name);
  writeFileSync(f, original);
  const r = spawnSync('fallocate', [...args, f], { encoding: 'utf8' });
  return { size: statSync(f).size, bytes: readFileSync(f), error: r.status === 0 ? '' : r.stderr.replace(f, 'FILE').trim() };
}

describe('fallocate', () => {
  it.each([
    ['preallocate past the end (mode 0)', ['-o', '65536', '-l', '1048576']],
    ['preallocate keeping the size (KEEP_SIZE)', ['-n', '-o', '65536', '-l', '1048576']],
    ['punch a hole (PUNCH_HOLE | KEEP_SIZE)', ['-p', '-o', '4096', '-l', '8192']],
    ['zero a range (ZERO_RANGE)', ['-z', '-o', '8192', '-l', '8192']],
    ['zero a range past the end (ZERO_RANGE)', ['-z', '-o', '61440', '-l', '16384']],
  ])('%s: the same file as in a plain directory', (_what, args) => {
    const want = run(plain, 'f', args);
    const got = run(t.mnt, `f${args.join('')}`, args);
    expect(want.error).toBe(''); // the filesystem under the test supports the mode
    expect(got.error).toBe('');
    expect(got.size).toBe(want.size);
    expect(got.bytes.equals(want.bytes)).toBe(true);
  });

  it.each([
    ['collapse a range (COLLAPSE_RANGE)', ['-c', '-o', '4096', '-l', '4096']],
    ['insert a range (INSERT_RANGE)', ['-i', '-o', '4096', '-l', '4096']],
  ])('%s: refused by the kernel for every FUSE filesystem, the file untouched', (_what, args) => {
    const got = run(t.mnt, `g${args.join('')}`, args);
    expect(got.error).toMatch(/Operation not supported/);
    expect(got.bytes.equals(original)).toBe(true);
  });

  it('the size a preallocation gave reaches the catalog (and the next mount)', async () => {
    run(t.mnt, 'kept', ['-o', '0', '-l', '200000']);
    await t.stop();
    await t.start();
    expect(statSync(join(t.mnt, 'kept')).size).toBe(200000);
    expect(readFileSync(join(t.mnt, 'kept')).subarray(0, original.length).equals(original)).toBe(true);
  });

  it('a file moved to another tier: the change reaches its copy there', async () => {
    const f = join(t.mnt, 'moved');
    writeFileSync(f, original);
    expect((await t.cli(['move', f, '--to', 'warm'])).code).toBe(0);
    const want = run(plain, 'p2', ['-p', '-o', '0', '-l', '4096']);
    const r = spawnSync('fallocate', ['-p', '-o', '0', '-l', '4096', f], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(f).equals(want.bytes)).toBe(true);
    expect(readFileSync(join(t.warm, 'moved')).equals(want.bytes)).toBe(true);
  });
});
