// A file whose last name went while it was open (unlinked, or renamed over) keeps its
// bytes for its handles — and for a reopen through /proc/self/fd, as on Linux. Its old
// name may be another user's file by then: a reopen, a truncate or a chmod of the
// unnamed file must reach its own bytes, never that file.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount;
beforeAll(async () => {
  t = await new TierfsMount({ allowOther: true }).start();
  chmodSync(dirname(t.mnt), 0o711); // (the test's own directory: nobody must get to the mount)
  mkdirSync(join(t.mnt, 'pub'));
  chmodSync(join(t.mnt, 'pub'), 0o1777);
});
afterAll(async () => {
  await t?.dispose();
});

// Run as nobody: makes `pub/NAME` (0600), loses its name (unlink, or the victim renames
// over it), waits, then reaches the unnamed file through /proc/self/fd every way it can.
const ATTACK = `
import os, sys
d, name, how = sys.argv[1], sys.argv[2], sys.argv[3]
p = os.path.join(d, name)
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
os.write(fd, b'mine')
if how == 'unlink':
    os.unlink(p)
print('ready', flush=True)
sys.stdin.readline()
me = '/proc/self/fd/%d' % fd
def step(f):
    try:
        return f()
    except OSError as e:
        return 'error %d' % e.errno
def reread():
    r = os.open(me, os.O_RDONLY)
    try:
        return os.pread(r, 100, 0).decode()
    finally:
        os.close(r)
got = step(reread)
step(lambda: os.close(os.open(me, os.O_RDWR | os.O_TRUNC)))
step(lambda: os.truncate(me, 0))
step(lambda: os.fchmod(fd, 0o666))
print(got, flush=True)
`;

async function attack(name: string, how: 'unlink' | 'renamed-over', victim: () => void): Promise<string> {
  const child = spawn('python3', ['-c', ATTACK, join(t.mnt, 'pub'), name, how], { uid: 65534, gid: 65534, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  let exited = false;
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => ((exited = true), resolve(c))));
  while (!out.includes('ready') && !exited) await new Promise((r) => setTimeout(r, 20));
  victim();
  child.stdin.end('\n');
  expect(await code).toBe(0);
  return out.replace('ready\n', '').trim();
}

const victimFile = (name: string) => ({ mount: join(t.mnt, 'pub', name), backing: join(t.hot, 'pub', name) });

it('an unlinked file reopened through /proc/self/fd is its own bytes, not the file that took its name', async () => {
  const v = victimFile('x');
  const got = await attack('x', 'unlink', () => writeFileSync(v.mount, 'the secret', { mode: 0o600 }));
  expect(readFileSync(v.mount, 'utf8')).toBe('the secret');
  expect(statSync(v.mount).mode & 0o7777).toBe(0o600);
  expect(got).toBe('mine');
  expect(statSync(v.backing).mode & 0o7777).toBe(0o600);
});

it('a file renamed over while open: the same', async () => {
  const v = victimFile('y');
  const got = await attack('y', 'renamed-over', () => {
    writeFileSync(join(t.mnt, 'pub', 'y.new'), 'the secret', { mode: 0o600 });
    renameSync(join(t.mnt, 'pub', 'y.new'), v.mount);
  });
  expect(readFileSync(v.mount, 'utf8')).toBe('the secret');
  expect(statSync(v.backing).mode & 0o7777).toBe(0o600);
  expect(got).toBe('mine');
});
