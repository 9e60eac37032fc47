#!/usr/bin/env node
// The mount helper: mount(8) runs it for /etc/fstab lines (and `mount -t fuse.tierfs`)
// of type fuse.tierfs, installed as /sbin/mount.fuse.tierfs (and /sbin/mount.tierfs for
// type tierfs) by scripts/install.sh. Like mount.fuse3 it is called as
//   mount.fuse.tierfs SOURCE MOUNTPOINT [-o OPTIONS] [-n] [-s] [-f] [-v]
// where SOURCE is the configuration file (`/etc/tierfs/tierfs.yaml`, or
// `tierfs#/etc/tierfs/tierfs.yaml` as older fuse lines write it). It runs
// `tierfs mount --config SOURCE MOUNTPOINT`, which returns once the mount is ready and
// leaves the daemon running; `umount MOUNTPOINT` ends it. Options:
//   nonempty              mount over a directory that has entries (tierfs mount --nonempty)
//   options mount(8) and systemd act on (defaults, _netdev, noauto, auto, nofail, user,
//   users, owner, group, comment=…, x-…) and the generic ones the kernel sets for every
//   mount (rw, suid, dev, exec, atime flags, …) are accepted and left alone; anything else
//   is refused with its name, so that a typo is not silently ignored.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const IGNORED = new Set([
  'defaults', '_netdev', 'noauto', 'auto', 'nofail', 'user', 'nouser', 'users', 'owner', 'group',
  'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'atime', 'noatime', 'relatime',
  'norelatime', 'strictatime', 'nostrictatime', 'lazytime', 'nolazytime', 'diratime', 'nodiratime',
  'async', 'sync', 'silent', 'loud',
]);

function usage(message) {
  process.stderr.write(`mount.tierfs: ${message}\nusage: mount.fuse.tierfs CONFIG-FILE MOUNTPOINT [-o OPTIONS]\n`);
  process.exit(1);
}

const positional = [];
const options = [];
let fake = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '-o') options.push(...(args[++i] ?? '').split(',').filter(Boolean));
  else if (a.startsWith('-o')) options.push(...a.slice(2).split(',').filter(Boolean));
  else if (a === '-f') fake = true; // mount -f: do everything but the mount itself
  else if (a === '-n' || a === '-s' || a === '-v') continue; // no mtab, sloppy, verbose
  else if (a === '-N') i++; // a mount namespace: mount(8) has already entered it
  else if (a.startsWith('-')) usage(`unknown flag ${a}`);
  else positional.push(a);
}
if (positional.length !== 2) usage(`expected a configuration file and a mountpoint, got ${positional.length} arguments`);
const [source, mountpoint] = positional;
const config = source.replace(/^tierfs#/, '');

const flags = [];
for (const o of options) {
  if (o === 'nonempty') flags.push('--nonempty');
  else if (IGNORED.has(o) || o.startsWith('x-') || o.startsWith('comment=')) continue;
  else usage(`unknown option ${o}`);
}
if (fake) process.exit(0);

const tierfs = join(dirname(fileURLToPath(import.meta.url)), 'tierfs.js');
const r = spawnSync(process.execPath, [tierfs, 'mount', '--config', config, ...flags, mountpoint], { stdio: 'inherit' });
process.exit(r.status ?? 1);
