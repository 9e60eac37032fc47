// Directories the daemon makes its own (root's, mode 0700): the data directory and every
// volume root. A directory of the system given as one would lock every user out of it.
// (/root is the one asked here: it is root's and 0700 already, so a build without the
// refusal changes nothing on the machine that runs this test.)
import { afterEach, expect, it } from 'vitest';
import { statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivate } from '../src/private-dir.js';
import { tempDir } from './helpers/tmp.js';

let dir: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  dir?.remove();
  dir = undefined;
});

it('refuses a directory of the system as the data directory, also through a symlink', () => {
  expect(() => makePrivate('/root', 'data directory')).toThrow(/^data directory \/root is a directory of the system: .*give it a directory of its own/);
  dir = tempDir('tierfs-private-');
  const link = join(dir.path, 'data');
  symlinkSync('/root', link);
  expect(() => makePrivate(link, 'data directory')).toThrow(`data directory ${link} is /root, a directory of the system`);
});

it('makes a directory of its own root\'s and 0700', () => {
  dir = tempDir('tierfs-private-');
  const own = join(dir.path, 'data');
  makePrivate(own, 'data directory');
  expect(statSync(own).mode & 0o7777).toBe(0o700);
});
