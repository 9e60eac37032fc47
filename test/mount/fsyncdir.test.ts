// fsync(2) of a directory puts its names on disk: a rename or an unlink in it survives a
// power cut once the call returns (what Maildir, git and every atomic save rely on). A
// directory's names live in the catalog (whose WAL, with synchronous NORMAL, is synced
// only at checkpoints) and in the backing directories: both are synced. No power cut here:
// the daemon's system calls, seen by strace, say what reached the disk.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { run } from '../helpers/mount.js';

let t: TierfsMount;
const out = tempDir('tierfs-fsyncdir-');
beforeAll(async () => {
  t = await new TierfsMount().start();
});
afterAll(async () => {
  await t?.dispose();
  out.remove();
});

it('syncs the catalog\'s log and the directory on its volume', async () => {
  mkdirSync(join(t.mnt, 'd'));
  writeFileSync(join(t.mnt, 'd', 'new'), 'saved');
  renameSync(join(t.mnt, 'd', 'new'), join(t.mnt, 'd', 'f'));
  const trace = join(out.path, 'strace');
  // -f: the daemon's threads; -y: each descriptor's path
  const strace = spawn('strace', ['-f', '-y', '-e', 'trace=fsync,fdatasync', '-o', trace, '-p', String(t.pid)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500)); // attached
  const sync = await run('python3', ['-c', `import os; fd = os.open(${JSON.stringify(join(t.mnt, 'd'))}, os.O_RDONLY); os.fsync(fd); os.close(fd)`]);
  expect(sync.code, sync.stderr).toBe(0);
  strace.kill('SIGINT');
  await new Promise((r) => strace.on('exit', r));
  const synced = readFileSync(trace, 'utf8');
  expect(synced).toMatch(/fsync\(\d+<[^>]*\/catalog\.db-wal>\) += 0/);
  expect(synced).toContain(`<${join(t.hot, 'd')}>) = 0`);
});

it('a directory removed while open syncs as Linux does: no error', async () => {
  mkdirSync(join(t.mnt, 'gone'));
  const r = await run('python3', ['-c', `import os; fd = os.open(${JSON.stringify(join(t.mnt, 'gone'))}, os.O_RDONLY); os.rmdir(${JSON.stringify(join(t.mnt, 'gone'))}); os.fsync(fd); os.close(fd); print('ok')`]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim()).toBe('ok');
});
