// Copying a file's bytes onto a local volume safely: into a temporary file under the
// volume's .tierfs-tmp directory, fsync'ed, hashed as written, so the caller can read it
// back (copy-thread.ts) and compare with the source before anything is switched. Copies
// from another local volume are made by the copy thread; this is for other sources.
import { createHash } from 'node:crypto';
import { matchXattrs, type Xattr } from './xattrs.js';
import { closeSync, constants as C, fchmodSync, fchownSync, fstatSync, fsyncSync, futimesSync, openSync, promises as fsp, read } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ByteSource } from '../object/types.js';

const CHUNK = 1 << 20;

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
    close: async () => closeSync(fd),
  };
}

/**
 * Hands each 1 MiB piece of a source to `use`, in order, reading the next piece while
 * `use` works on this one: the disk and the hashing overlap. Pieces are read into two
 * buffers taken in turn, not into new memory each (whose first touch, and collection,
 * cost more than the copy). `before` is awaited before each read (the mover's bandwidth
 * limit). A source that ends early is an error.
 */
export async function eachPiece(
  src: ByteSource,
  use: (piece: Buffer, offset: number) => Promise<void> | void,
  before?: (bytes: number) => Promise<void>,
): Promise<void> {
  const buffers = [Buffer.allocUnsafe(Math.min(CHUNK, src.size)), Buffer.allocUnsafe(Math.min(CHUNK, src.size))];
  const readAt = (offset: number, turn: number) => {
    const read = (async () => {
      const want = Math.min(CHUNK, src.size - offset);
      await before?.(want);
      const piece = await src.read(offset, want, buffers[turn % 2]);
      if (piece.length !== want) throw new Error(`source ended early at ${offset + piece.length} of ${src.size} bytes`);
      return piece;
    })();
    // Awaited later, once `use` is done with the piece before: not an unhandled rejection meanwhile.
    read.catch(() => undefined);
    return read;
  };
  let next = src.size > 0 ? readAt(0, 0) : undefined;
  for (let offset = 0, turn = 0; next; turn++) {
    const piece = await next;
    const after = offset + piece.length;
    // The buffer this read fills held the piece before this one, which `use` is done with.
    next = after < src.size ? readAt(after, turn + 1) : undefined;
    await use(piece, offset);
    offset = after;
  }
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
 * Copy src into a temporary file on volume, fsync it, and return its path and the
 * SHA-256 of the bytes read from the source. onProgress gets bytes copied so far;
 * throttle (if given) is awaited before each piece (the mover's bandwidth limit).
 * The copy is private (0600) while it is written and gets the file's owner, then its
 * mode and times, only once complete: chown first, because chown clears setuid/setgid,
 * and a root-owned setuid copy must never exist, not even for a moment.
 */
export async function copyToTemp(
  volume: string,
  name: string,
  src: ByteSource,
  opts: { attrs?: CopyAttrs; onProgress?: (bytes: number) => void; throttle?: (bytes: number) => Promise<void> } = {},
): Promise<{ path: string; sha256: string }> {
  const path = await prepareTemp(volume, name);
  const fh = await fsp.open(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  const h = createHash('sha256');
  try {
    await eachPiece(
      src,
      async (piece, offset) => {
        h.update(piece);
        for (const [from, to] of dataRuns(piece)) await writeAll(fh, piece.subarray(from, to), offset + from);
        opts.onProgress?.(offset + piece.length);
      },
      opts.throttle,
    );
    // Zeros were not written, so that holes stay holes: the length comes from here.
    await fh.truncate(src.size);
    const a = opts.attrs;
    if (a) {
      await fh.chown(a.uid, a.gid);
      await fh.chmod(a.mode & 0o7777);
      await fh.utimes(utimeSeconds(a.atimeNs), utimeSeconds(a.mtimeNs));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { path, sha256: h.digest('hex') };
}

/**
 * All of buf at pos: a write that meets the end of the volume's space is short, and
 * the next one fails with ENOSPC, which is what the move must report (not a copy that
 * later reads back different).
 */
async function writeAll(fh: fsp.FileHandle, buf: Buffer, pos: number): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, pos + done);
    if (bytesWritten === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

const BLOCK = 4096;
const ZEROS = Buffer.alloc(BLOCK);

/**
 * The [from, to) runs of buf that hold anything but zeros, in 4 KiB blocks: what a copy
 * must write. The blocks left out become holes, as they were in a sparse source (and a
 * block of zeros a source had written costs no space on the copy either).
 */
function dataRuns(buf: Buffer): [number, number][] {
  const runs: [number, number][] = [];
  for (let at = 0; at < buf.length; at += BLOCK) {
    const end = Math.min(at + BLOCK, buf.length);
    if (buf.subarray(at, end).equals(ZEROS.subarray(0, end - at))) continue;
    const last = runs.at(-1);
    if (last && last[1] === at) last[1] = end;
    else runs.push([at, end]);
  }
  return runs;
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
