// File capabilities (security.capability) through the mount: the kernel looks for one
// before the first write to a file and removes it on a write, as on a local filesystem.
// A file the mount has just created has none, so that look is answered by the binding:
// creating files costs no trip into JavaScript for it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

// cap_net_raw, permitted and effective (a version 2 vfs_cap_data)
const CAP = '0x0100000200200000000000000000000000000000';

let t: TierfsMount;
const m = (p: string) => join(t.mnt, p);

beforeAll(async () => {
  t = await new TierfsMount({ metrics: true }).start();
});
afterAll(async () => {
  await t?.dispose();
});

/** getxattr requests that reached JavaScript */
const getxattrs = () => t.metric('tierfs_fuse_requests_total', { op: 'getxattr' });

const capabilityOf = (path: string) => {
  try {
    return execFileSync('getfattr', ['--absolute-names', '-e', 'hex', '--only-values', '-n', 'security.capability', path], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return null;
  }
};

it('files created and written through the mount ask JavaScript for no capability', async () => {
  const before = await getxattrs();
  for (let i = 0; i < 20; i++) await fs.writeFile(m(`new-${i}`), `file ${i}`);
  for (let i = 0; i < 20; i++) await fs.appendFile(m(`new-${i}`), ' and more');
  expect(await getxattrs()).toBe(before);
  expect(await fs.readFile(m('new-3'), 'utf8')).toBe('file 3 and more');
});

it('a capability given to a new file is kept until the next write removes it', async () => {
  await fs.writeFile(m('tool'), 'binary');
  execFileSync('setfattr', ['-n', 'security.capability', '-v', CAP, m('tool')]);
  expect(capabilityOf(m('tool'))).not.toBeNull();
  await fs.appendFile(m('tool'), ' patched');
  expect(capabilityOf(m('tool'))).toBeNull();
  expect(await fs.readFile(m('tool'), 'utf8')).toBe('binary patched');
});

// `ls -l` asks for security.selinux and system.posix_acl_access of every file it lists.
// Lookups and listings tell the binding which inodes have no xattrs stored, and it
// answers those itself until one is set or removed.
const xattr = (path: string, name: string) => {
  try {
    return execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', name, path], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return null;
  }
};

it('listing files with ls -l asks JavaScript for no xattr of files that have none, and stored ones read as before', async () => {
  await fs.mkdir(m('many'));
  for (let i = 0; i < 40; i++) await fs.writeFile(m(`many/f${i}`), `file ${i}`);
  execFileSync('setfattr', ['-n', 'user.k', '-v', 'seven', m('many/f7')]);
  execFileSync('setfacl', ['-m', 'u:1234:r', m('many/f8')]);
  // A new daemon and kernel inodes: what the binding knows now comes from lookups and listings.
  await t.stop();
  await t.start();
  const [before, nativeBefore] = [await getxattrs(), await t.metric('tierfs_fuse_xattrs_answered_natively_total')];
  const listing = execFileSync('ls', ['-l', m('many')], { encoding: 'utf8' });
  expect(listing.split('\n').filter((l) => / f\d+$/.test(l))).toHaveLength(40);
  expect(listing).toMatch(/^-rw-r--r--\+ .* f8$/m); // the ACL's "+"
  const asked = (await getxattrs()) - before;
  expect(asked).toBeLessThanOrEqual(4); // f7 and f8 only (each asked at most twice)
  expect((await t.metric('tierfs_fuse_xattrs_answered_natively_total')) - nativeBefore).toBeGreaterThanOrEqual(38); // the other 38, at least once each
  expect(xattr(m('many/f7'), 'user.k')).toBe('seven');
  expect(execFileSync('getfacl', ['-cp', m('many/f8')], { encoding: 'utf8' })).toContain('user:1234:r--');
  expect(xattr(m('many/f3'), 'user.k')).toBeNull();
  expect(xattr(m('many/f3'), 'user.tierfs.tier')).toBe('hot'); // computed, always asked
  // Set and removed on a file the binding knew to have none: seen at once.
  execFileSync('setfattr', ['-n', 'user.k', '-v', 'three', m('many/f3')]);
  expect(xattr(m('many/f3'), 'user.k')).toBe('three');
  execFileSync('setfattr', ['-x', 'user.k', m('many/f3')]);
  expect(xattr(m('many/f3'), 'user.k')).toBeNull();
  // A file created under a default ACL has an ACL from its first moment.
  await fs.mkdir(m('shared'));
  execFileSync('setfacl', ['-d', '-m', 'u:1234:rw', m('shared')]);
  await fs.writeFile(m('shared/new'), 'x');
  expect(execFileSync('getfacl', ['-cp', m('shared/new')], { encoding: 'utf8' })).toContain('user:1234:rw-');
});
