// Where and how a move's copy onto a local volume is made safe: a temporary file under
// the volume's .tierfs-tmp directory (written, hashed and read back by the copy thread,
// copy-thread.ts), given the file's attributes at the commit, its directories fsync'ed.
import { matchXattrs, type Xattr } from './xattrs.js';
import { close, closeSync, constants as C, fchmodSync, fchownSync, fstatSync, fsyncSync, futimesSync, openSync, promises as fsp, read } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ByteSource } from '../object/types.js';

/** The directory of a volume where copies are assembled (never imported, never served). */
export const TEMP_DIR = '.tierfs-tmp';

export function tempPathOf(volume: string, name: string): string {
  return join(volume, TEMP_DIR, name);
}

/** An open file as a byte source (the caller opened it, without following symlinks); close() closes it. */
export function fdSource(fd: number): ByteSource & { fd: number; close(): Promise<void> } {
  return {
    fd,
    size: fstatSync(fd).size,
    read: (offset, length, into) =>
      new Promise((resolve, reject) => {
        const buf = into && into.length >= length ? into : Buffer.allocUnsafe(length);
        read(fd, buf, 0, length, offset, (err, n) => (err ? reject(err) : resolve(buf.subarray(0, n))));
      }),
    // Off the event loop: the source of a move is often the old copy's last descriptor,
    // whose close frees its blocks (LocalTier.unlinkAt).
    close: () => new Promise<void>((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve()))),
  };
}

/** The owner, permission bits and times a copy must end with (those of the file on the mount). */
export interface CopyAttrs {
  uid: number;
  gid: number;
  mode: number;
  atimeNs: bigint;
  mtimeNs: bigint;
}

/** Seconds as a double for utimes (Node takes no nanoseconds): exact to a fraction of a microsecond. */
export const utimeSeconds = (ns: bigint) => Number(ns) / 1e9;

/** The path of a copy named `name` on volume, with the directory it goes in made if need be. */
export async function prepareTemp(volume: string, name: string): Promise<string> {
  // Not recursive: a volume that is gone (an unplugged disk) must fail the move, not be
  // made again as an empty directory on whatever filesystem is below it.
  await fsp.mkdir(join(volume, TEMP_DIR), { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return tempPathOf(volume, name);
}

/**
 * Give a finished copy the owner, mode, times and xattrs the file has now, where they
 * differ from what the copy got: they may change while the bytes are copied (a chmod is
 * no change of the data, so the move goes on). Synchronous, for the commit's critical
 * section; chown before chmod, as in copyToTemp.
 */
export function matchAttrsSync(path: string, a: CopyAttrs, xattrs: Xattr[]): void {
  const fd = openSync(path, C.O_RDONLY | C.O_NOFOLLOW);
  try {
    const st = fstatSync(fd, { bigint: true });
    // Times set through utimes come back up to about 1.25 µs off (a double, then libuv's
    // microseconds; see reconcile.ts): setting them again would land the same.
    const near = (x: bigint, y: bigint) => (x > y ? x - y : y - x) < 2000n;
    const owner = Number(st.uid) !== a.uid || Number(st.gid) !== a.gid;
    const mode = owner || (Number(st.mode) & 0o7777) !== (a.mode & 0o7777);
    const times = !near(st.mtimeNs, a.mtimeNs) || !near(st.atimeNs, a.atimeNs);
    if (owner) fchownSync(fd, a.uid, a.gid);
    if (mode) fchmodSync(fd, a.mode & 0o7777);
    if (times) futimesSync(fd, utimeSeconds(a.atimeNs), utimeSeconds(a.mtimeNs));
    matchXattrs(fd, xattrs);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * fsync every directory from the one holding `path` up to the volume root: a name
 * created there (and any directory made for it) survives a power cut only then.
 * `done` collects directories already synced, so several names cost one sync each.
 */
export function syncDirsUp(volume: string, path: string, done = new Set<string>()): void {
  for (let dir = dirname(path); dir.startsWith(volume) && !done.has(dir); dir = dirname(dir)) {
    const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    done.add(dir);
    if (dir === volume) break;
  }
}
