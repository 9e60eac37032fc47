// A backing directory's entries with an lstat of each, read by native threads while
// JavaScript goes on (the stats themselves on a few threads): what the mount's
// reconciliation needs of every backing file. At a million files, readdir plus a Node
// lstat per file was three quarters of the mount.
import { nativeBinding } from '../../fuse/native.js';

/** Per entry of the native scan's `stats` and `exact` arrays (native/fuse/fs-calls.cc). */
const FIELDS = 8;
const EXACT = 4;
const [MODE, UID, GID, SIZE, BLOCKS, NLINK, MTIME_MS, ERRNO] = [0, 1, 2, 3, 4, 5, 6, 7];
const [ATIME_NS, MTIME_NS, CTIME_NS, INO] = [0, 1, 2, 3];

export interface RawScan {
  names: Buffer;
  stats: Float64Array;
  exact: BigInt64Array;
}

/** One entry: its name and its lstat; times in nanoseconds and the inode number exact. */
export class ScannedEntry {
  constructor(
    private readonly scan: RawScan,
    private readonly i: number,
    /** the name, or undefined when its bytes are not valid UTF-8 */
    readonly name: string | undefined,
    private readonly raw?: Buffer,
  ) {}

  /** the name as the directory holds it */
  get bytes(): Buffer {
    return this.raw ?? Buffer.from(this.name!, 'utf8');
  }

  private stat(k: number): number {
    return this.scan.stats[this.i * FIELDS + k]!;
  }
  private exactly(k: number): bigint {
    return this.scan.exact[this.i * EXACT + k]!;
  }

  /** 0 when the entry was gone by the time it was stat-ed (see errno) */
  get mode(): number { return this.stat(MODE); }
  get errno(): number { return this.stat(ERRNO); }
  get uid(): number { return this.stat(UID); }
  get gid(): number { return this.stat(GID); }
  get size(): number { return this.stat(SIZE); }
  get blocks(): number { return this.stat(BLOCKS); }
  get nlink(): number { return this.stat(NLINK); }
  /** a double, as fs.Stats' mtimeMs */
  get mtimeMs(): number { return this.stat(MTIME_MS); }
  get atimeNs(): bigint { return this.exactly(ATIME_NS); }
  get mtimeNs(): bigint { return this.exactly(MTIME_NS); }
  get ctimeNs(): bigint { return this.exactly(CTIME_NS); }
  get ino(): bigint { return this.exactly(INO); }
}

/** A scan begun on a thread of its own. */
export interface PendingScan {
  /**
   * The directory's entries ("." and ".." left out) in its own order, once the thread is
   * done (waits for it); errors are thrown here.
   */
  finish(): ScannedEntry[];
}

/** Begin the scan of the directory open at fd, which the scan takes: it closes fd when done. */
export function startScan(fd: number): PendingScan {
  const handle = nativeBinding().scanDirStart(fd);
  return { finish: () => entriesOf(nativeBinding().scanDirFinish(handle)) };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The entries with their names. A directory's names are decoded in one call and split at
 * their NULs (a NUL byte is never part of a UTF-8 character, nor taken into a replacement
 * one), not a decoder call and a Buffer per name: a million of each at a million files. A
 * replacement character anywhere (a name that is not UTF-8, or one that holds U+FFFD)
 * sends the directory the slow way, name by name, strictly.
 */
function entriesOf(scan: RawScan): ScannedEntry[] {
  const text = scan.names.toString('utf8');
  if (!text.includes('\uFFFD')) {
    const names = text.split('\0');
    names.pop(); // after the last NUL
    return names.map((name, i) => new ScannedEntry(scan, i, name));
  }
  const out: ScannedEntry[] = [];
  for (let at = 0, i = 0; at < scan.names.length; i++) {
    const end = scan.names.indexOf(0, at);
    const bytes = scan.names.subarray(at, end);
    out.push(new ScannedEntry(scan, i, strictName(bytes), bytes));
    at = end + 1;
  }
  return out;
}

function strictName(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
