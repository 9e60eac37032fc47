// Any path the kernel takes under the mount works, however long the tier's own directory
// path: the daemon reaches backing names one directory at a time (beneath.ts), never by an
// absolute path that could pass PATH_MAX. The paths here are longer than PATH_MAX from the
// tier's root; the shell reaches them with relative steps, as pjdfstest does.
import { afterEach, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  if (!t) return;
  await t.stop();
  // Node's rmSync takes absolute paths, too long here; rm walks with descriptors.
  spawnSync('rm', ['-rf', t.root]);
  await t.dispose();
  t = undefined;
});

const bash = (script: string) => spawnSync('bash', ['-c', `set -e; ${script}`], { encoding: 'utf8' });

it('paths past PATH_MAX from a tier with a long directory path: create, write, rename, link, symlink, remove, move', async () => {
  t = new TierfsMount();
  const volume = join(t.dataDir, 'v'.repeat(250), 'w'.repeat(250), 'hot');
  writeFileSync(t.configFile, readFileSync(t.configFile, 'utf8').replace('./data/hot', volume));
  await t.start();
  const comp = 'd'.repeat(250);
  const down = `for i in $(seq 1 15); do cd ${comp}; done`; // 15 × 251 bytes below the root
  const made = bash(`cd ${t.mnt}; for i in $(seq 1 15); do mkdir ${comp}; cd ${comp}; done; echo hello > f; mv f g; ln g h; rm g; ln -s h s; mkdir sub; rmdir sub; cat h; readlink s`);
  expect(made.stderr).toBe('');
  expect(made.stdout).toBe('hello\nh\n');
  // The backing file is at the same relative path on the tier.
  expect(bash(`cd ${volume}; ${down}; cat h; readlink s`).stdout).toBe('hello\nh\n');
  // And it moves, and comes back.
  const moved = bash(`cd ${t.mnt}; ${down}; "${process.execPath}" "${join(import.meta.dirname, '../../bin/tierfs.js')}" move h --to warm`);
  expect(moved.status, moved.stderr).toBe(0);
  expect(bash(`cd ${t.warm}; ${down}; cat h`).stdout).toBe('hello\n');
  expect(bash(`cd ${t.mnt}; ${down}; cat h; rm h s`).stdout).toBe('hello\n');
});
