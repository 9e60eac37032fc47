// Paths below a volume root, resolved without ever following a symlink.
//
// The daemon works on backing files as root, and a user who can write inside a backing
// directory (adopted trees keep their owners) could put a symlink where tierfs expects a
// file or a directory, and have root open, chmod or delete what it points to. So every
// backing path is walked one component at a time, each directory opened O_NOFOLLOW |
// O_DIRECTORY relative to the descriptor of the one above, and the last step happens
// relative to the descriptor of its directory. Node has no openat(); a path through
// /proc/self/fd/N resolves the descriptor itself (a swap of the path behind it changes
// nothing), which makes `${at(fd, name)}` behave as the *at() calls do. Opening a file or
// a directory tries openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) first, which gives the
// same guarantee in one call; the walk remains for everything else and for every failure,
// so that errors (a symlink refused, directories to create, a name missing) are its own.
import * as fs from 'node:fs';
import { constants as os } from 'node:os';
import { FsError } from '../../errors.js';
import { nativeBinding } from '../../fuse/native.js';
import { moduleLogger } from '../../log.js';

const log = moduleLogger('local-tier');
const C = fs.constants;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** The attributes a backing directory is created with (the mount's directory at that path). */
export interface DirAttrs {
  mode: number;
  uid: number;
  gid: number;
}

/** For a directory path relative to the volume, the attributes it should be created with. */
export type DirAttrsOf = (dirPath: string) => DirAttrs | undefined;

/** A directory made when the mount knows nothing of it: reachable by root only. */
const PRIVATE_DIR: DirAttrs = { mode: 0o700, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

/** The path by which `name` is reached inside the directory open as dirFd, as openat(dirFd, name) would. */
export function at(dirFd: number, name: string): string {
  return `/proc/self/fd/${dirFd}/${name}`;
}

function refused(root: string, rel: string): FsError {
  log.warn({ volume: root, path: rel }, 'refused to follow a symlink in a backing path');
  return new FsError('ELOOP', `a symlink in the backing path ${rel} on ${root}`);
}

function isSymlinkAt(dirFd: number, name: string): boolean {
  try {
    return fs.lstatSync(at(dirFd, name)).isSymbolicLink();
  } catch {
    return false;
  }
}

function components(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new FsError('EINVAL', `backing path escapes its volume: ${rel}`);
  return parts;
}

/** mkdir then set owner and mode through the new directory's descriptor (mkdir's mode is cut by the umask). */
function makeDir(parentFd: number, name: string, attrs: DirAttrs): void {
  try {
    fs.mkdirSync(at(parentFd, name), 0o700);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  const fd = fs.openSync(at(parentFd, name), DIR_FLAGS);
  try {
    // chown first: it clears setgid, which the mode then puts back.
    fs.fchownSync(fd, attrs.uid, attrs.gid);
    fs.fchmodSync(fd, attrs.mode & 0o7777);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A descriptor of the directory `dir` below `root` ('' is root itself); the caller closes
 * it. A symlink at any component is refused (ELOOP). With `create`, missing directories
 * are made, each with the attributes create gives for its path.
 */
export function openDirBeneath(root: string, dir: string, create?: DirAttrsOf): number {
  const parts = components(dir);
  if (parts.length > 0) {
    const fast = openat2Beneath(root, parts.join('/'), DIR_FLAGS, 0);
    if (fast >= 0) return fast;
  }
  // The volume root is the administrator's: its own path may go through symlinks.
  let fd = fs.openSync(root, C.O_RDONLY | C.O_DIRECTORY);
  try {
    for (let k = 0; k < parts.length; k++) {
      const name = parts[k]!;
      let next: number;
      try {
        next = fs.openSync(at(fd, name), DIR_FLAGS);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'ELOOP' || code === 'ENOTDIR') && isSymlinkAt(fd, name)) throw refused(root, parts.slice(0, k + 1).join('/'));
        if (code !== 'ENOENT' || !create) throw err;
        const path = parts.slice(0, k + 1).join('/');
        makeDir(fd, name, create(path) ?? PRIVATE_DIR);
        next = fs.openSync(at(fd, name), DIR_FLAGS);
      }
      fs.closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function split(rel: string): { dir: string; name: string } {
  const parts = components(rel);
  const name = parts.pop();
  if (name === undefined) throw new FsError('EINVAL', 'a backing path names the volume root');
  return { dir: parts.join('/'), name };
}

/**
 * Run fn with a path that reaches the last component of `rel` through its directory's
 * descriptor: rename, link, unlink, mkdir and rmdir on it never follow a symlink above it,
 * and do not follow one at it either (those calls never do).
 */
export function withNameBeneath<T>(root: string, rel: string, fn: (path: string) => T, create?: DirAttrsOf): T {
  const { dir, name } = split(rel);
  const dirFd = openDirBeneath(root, dir, create);
  try {
    return fn(at(dirFd, name));
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * withNameBeneath for two names at once (a rename's): `to`'s directory made as `create`
 * says; one descriptor when both are in one directory.
 */
export function withNamesBeneath<T>(root: string, from: string, to: string, fn: (fromPath: string, toPath: string) => T, create?: DirAttrsOf): T {
  const a = split(from);
  const b = split(to);
  if (a.dir !== b.dir) return withNameBeneath(root, from, (src) => withNameBeneath(root, to, (dst) => fn(src, dst), create));
  const dirFd = openDirBeneath(root, b.dir, create);
  try {
    return fn(at(dirFd, a.name), at(dirFd, b.name));
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * Open the regular file `rel` below root with no symlink followed anywhere on its path.
 * O_NONBLOCK keeps a FIFO put in its place from blocking the daemon; it changes nothing for
 * a regular file, and anything else is refused after the open.
 */
export function openFileBeneath(root: string, rel: string, flags: number, opts: { mode?: number; create?: DirAttrsOf } = {}): number {
  const { dir, name } = split(rel);
  let fd = openat2Beneath(root, rel, flags | C.O_NOFOLLOW | C.O_NONBLOCK, opts.mode ?? 0o666);
  if (fd < 0) {
    const dirFd = openDirBeneath(root, dir, opts.create);
    try {
      fd = fs.openSync(at(dirFd, name), flags | C.O_NOFOLLOW | C.O_NONBLOCK, opts.mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || (code === 'ENOTDIR' && isSymlinkAt(dirFd, name))) throw refused(root, rel);
      throw err;
    } finally {
      fs.closeSync(dirFd);
    }
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    log.warn({ volume: root, path: rel }, 'refused a backing file that is not a regular file');
    throw new FsError('EIO', `the backing file ${rel} on ${root} is not a regular file`);
  }
  return fd;
}

let haveOpenat2 = true;

/** openat2 of rel below root (see the top of this file); -1 when it failed or the kernel lacks it. */
function openat2Beneath(root: string, rel: string, flags: number, mode: number): number {
  if (!haveOpenat2) return -1;
  const fd = nativeBinding().openBeneath(root, rel, flags, mode);
  // ENOSYS: before Linux 5.6; EPERM: a seccomp filter (containers) that refuses it
  if (fd === -os.errno.ENOSYS || fd === -os.errno.EPERM) haveOpenat2 = false;
  return fd >= 0 ? fd : -1;
}

/** Remove `name` inside the directory open as dirFd, and everything below it, without following symlinks. */
export function removeTreeAt(dirFd: number, name: string): void {
  const path = at(dirFd, name);
  try {
    fs.unlinkSync(path); // a file or a symlink (the link itself)
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw err;
  }
  const fd = fs.openSync(path, DIR_FLAGS);
  try {
    for (const child of fs.readdirSync(`/proc/self/fd/${fd}`)) removeTreeAt(fd, child);
  } finally {
    fs.closeSync(fd);
  }
  fs.rmdirSync(path);
}

/** Remove `rel` below root and everything below it; nothing on the way is followed. A missing rel is fine. */
export function removeTreeBeneath(root: string, rel: string): void {
  const { dir, name } = split(rel);
  let dirFd: number;
  try {
    dirFd = openDirBeneath(root, dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    removeTreeAt(dirFd, name);
  } finally {
    fs.closeSync(dirFd);
  }
}
