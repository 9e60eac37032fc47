// The binding keeps the attributes of directories that requests changed (a mkdir's reply
// carries its parent's), up to a bound; past it, finishing a change swept the table and
// then wrote to the entry the sweep had just freed (heap corruption in the daemon, from
// nothing but mkdirs). Thousands of directories changed one after another: the daemon
// must go on serving, each directory with its own attributes. (Without a sanitizer the
// write into freed memory is mostly silent and this passes anyway; with the binding built
// with -fsanitize=address, AddressSanitizer stopped the daemon at the 4,097th directory's
// mkdir before the fix — "heap-use-after-free" — and reports nothing after it.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { run } from '../helpers/mount.js';

let t: TierfsMount;
beforeAll(async () => {
  t = await new TierfsMount().start();
});
afterAll(async () => {
  await t?.dispose();
});

it('more changed directories than the binding keeps: served on, nlinks right', { timeout: 120_000 }, async () => {
  const script = `
import os, sys
root = sys.argv[1]
n = 4300  # past the 4096 directories the binding keeps
os.mkdir(os.path.join(root, 't'))
for i in range(n):
    os.mkdir(os.path.join(root, 't', str(i)))
for i in range(n):
    os.mkdir(os.path.join(root, 't', str(i), 'x'))
bad = [i for i in range(n) if os.stat(os.path.join(root, 't', str(i))).st_nlink != 3]
print(len(bad), os.stat(os.path.join(root, 't')).st_nlink)
`;
  const r = await run('python3', ['-c', script, t.mnt], { timeoutMs: 110_000 });
  expect(r.code, r.stderr + t.output.slice(-2000)).toBe(0);
  expect(r.stdout.trim()).toBe(`0 ${4300 + 2}`);
});
