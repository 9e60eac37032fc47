// Preallocation and holes through the mount, side by side with a plain directory on the
// same filesystem: every fallocate mode the kernel passes to a FUSE filesystem gives the
// same file (size and bytes) as it does there, and the modes FUSE itself does not pass
// on fail as the kernel makes them fail, harming nothing; SEEK_DATA and SEEK_HOLE find
// the same holes, whether the binding or JavaScript serves the file, and a file on an
// object tier is all data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

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

/** Where SEEK_DATA and SEEK_HOLE land from each offset of a sparse file (python's os.lseek). */
const SEEKS = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for off in [0, 4096, 8192, 1 << 20, (1 << 20) + 4096, (2 << 20) + 8192]:
    for name, whence in (('data', os.SEEK_DATA), ('hole', os.SEEK_HOLE)):
        try:
            print(name, off, os.lseek(fd, off, whence))
        except OSError as e:
            print(name, off, e.strerror)
`;
const seeks = (path: string) => spawnSync('python3', ['-c', SEEKS, path], { encoding: 'utf8' }).stdout;

/** 4 KiB of data, a hole to 1 MiB, 4 KiB of data, a hole to 2 MiB + 4 KiB. */
function writeSparse(path: string): void {
  writeFileSync(path, randomBytes(4096));
  const r = spawnSync('bash', ['-c', `dd if=/dev/urandom of="${path}" bs=4096 count=1 seek=256 conv=notrunc status=none && truncate -s $((2*1024*1024+4096)) "${path}"`]);
  expect(r.status, String(r.stderr)).toBe(0);
}

describe('du', () => {
  it('a sparse file takes on the mount what its backing file takes: truncate -s 10G, dd into a hole, a punched hole', async () => {
    const blocks = (p: string) => statSync(p).blocks;
    for (const dir of [plain, t.mnt]) {
      spawnSync('truncate', ['-s', '10G', join(dir, 'big')]);
      writeSparse(join(dir, 'holey'));
      writeFileSync(join(dir, 'punched'), randomBytes(256 * 1024));
      spawnSync('fallocate', ['-p', '-o', '65536', '-l', '131072', join(dir, 'punched')]);
    }
    for (const f of ['big', 'holey', 'punched']) expect(blocks(join(t.mnt, f)), f).toBe(blocks(join(plain, f)));
    expect(blocks(join(t.mnt, 'big'))).toBeLessThan(1024); // not 10 GiB
    // Across a restart (the catalog keeps it) and a move (the new copy's).
    await t.stop();
    await t.start();
    expect(blocks(join(t.mnt, 'holey'))).toBe(blocks(join(plain, 'holey')));
    expect((await t.cli(['move', join(t.mnt, 'holey'), '--to', 'warm'])).code).toBe(0);
    expect(blocks(join(t.mnt, 'holey'))).toBe(statSync(join(t.warm, 'holey')).blocks);
  });
});

describe('SEEK_DATA and SEEK_HOLE', () => {
  it('find the holes a plain directory finds, served by the binding', () => {
    writeSparse(join(plain, 'sparse'));
    writeSparse(join(t.mnt, 'sparse'));
    const want = seeks(join(plain, 'sparse'));
    expect(want).toMatch(/hole 0 4096/); // the filesystem under the test keeps holes
    expect(seeks(join(t.mnt, 'sparse'))).toBe(want);
  });

  it('served by JavaScript too, and a file on an object tier is all data', async () => {
    const cold = tempDir('tierfs-sparse-cold-');
    const js = new TierfsMount({
      fastPath: false,
      moreTiers: `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    backends:
      - { name: a, type: fs, root: ${cold.path}/a }
      - { name: b, type: fs, root: ${cold.path}/b }
      - { name: c, type: fs, root: ${cold.path}/c }
`,
    });
    try {
      await js.start();
      writeSparse(join(js.mnt, 'sparse'));
      expect(seeks(join(js.mnt, 'sparse'))).toBe(seeks(join(plain, 'sparse')));
      expect((await js.cli(['move', join(js.mnt, 'sparse'), '--to', 'cold'])).code).toBe(0);
      const size = 2 * 1024 * 1024 + 4096;
      const allData = [0, 4096, 8192, 1 << 20, (1 << 20) + 4096, (2 << 20) + 8192]
        .map((off) => (off < size ? `data ${off} ${off}\nhole ${off} ${size}\n` : `data ${off} No such device or address\nhole ${off} No such device or address\n`))
        .join('');
      expect(seeks(join(js.mnt, 'sparse'))).toBe(allData);
    } finally {
      await js.dispose();
      cold.remove();
    }
  });
});
