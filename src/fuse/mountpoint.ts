// Checks a mountpoint before mounting and recovers it after a crash: a FUSE
// mount whose daemon died answers "Transport endpoint is not connected" until
// someone unmounts it; tierfs detaches such a stale mount and mounts again.
import { execFile } from 'node:child_process';
import { constants, readFileSync } from 'node:fs';
import { access, realpath, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FsError } from '../errors.js';

const run = promisify(execFile);

export interface MountInfo {
  mountId: number;
  /** "major:minor" of the mounted filesystem */
  device: string;
  mountpoint: string;
  fstype: string;
  source: string;
  /** a FUSE mount's user_id: the uid of who mounted it (undefined for other filesystems) */
  mountedBy?: number;
}

/** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function readMountInfo(): MountInfo[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The lines of /proc/self/mountinfo. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right = ''] = line.split(' - ');
    const f = left!.split(' ');
    const r = right.split(' ');
    out.push({
      mountId: Number(f[0]),
      device: f[2]!,
      mountpoint: unescapeMountPath(f[4]!),
      fstype: r[0]!,
      source: unescapeMountPath(r[1] ?? ''),
      ...userIdOf(r[2] ?? ''),
    });
  }
  return out;
}

function userIdOf(superOptions: string): { mountedBy?: number } {
  const m = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(superOptions);
  return m ? { mountedBy: Number(m[1]) } : {};
}

/** The newest mount at `path` (an absolute, canonical path), if any. */
export function findMount(path: string): MountInfo | undefined {
  return readMountInfo().filter((m) => m.mountpoint === path).at(-1);
}

/**
 * The canonical path of `path` without touching `path` itself, which may be a
 * dead or hung mount.
 */
export async function canonicalMountpoint(path: string): Promise<string> {
  const abs = resolve(path);
  if (abs === '/') return abs;
  let parent: string;
  try {
    parent = await realpath(dirname(abs));
  } catch (err) {
    throw new FsError('ENOENT', `mountpoint ${abs}: parent directory missing (${(err as Error).message})`);
  }
  return join(parent, basename(abs));
}

/**
 * Asks the filesystem mounted at path, within ms: statfs, which the kernel always sends to
 * a FUSE daemon, where a stat may be answered from attributes it still has cached (for a
 * second after a daemon killed at once had answered, its dead mount would look alive).
 */
async function statfsWithin(path: string, ms: number): Promise<'ok' | 'hung' | NodeJS.ErrnoException> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'hung'>((res) => {
    timer = setTimeout(() => res('hung'), ms);
  });
  try {
    return await Promise.race([
      statfs(path).then(
        () => 'ok' as const,
        (err: NodeJS.ErrnoException) => err,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lazily unmounts whatever is mounted at `path` (fusermount3 -uz, else umount -l). */
export async function lazyUnmount(path: string): Promise<void> {
  try {
    await run('fusermount3', ['-u', '-z', '--', path]);
  } catch {
    await run('umount', ['-l', '--', path]);
  }
}

export interface PreparedMountpoint {
  path: string;
  /** true when a stale mount was found and detached */
  recoveredStale: boolean;
}

/**
 * Makes sure `path` can be mounted on: it exists, is a directory, nothing live is
 * mounted there (a stale FUSE mount is detached) and /dev/fuse is usable.
 * Throws FsError with ENOENT, ENOTDIR, EBUSY or ENODEV and a message that says why.
 */
export async function prepareMountpoint(path: string): Promise<PreparedMountpoint> {
  const mp = await canonicalMountpoint(path);
  let recoveredStale = false;
  const existing = findMount(mp);
  if (existing) {
    const probe = await statfsWithin(mp, 2000);
    const stale = typeof probe === 'object' && probe.code === 'ENOTCONN';
    if (!stale) {
      const how = probe === 'hung' ? 'and not responding' : 'and alive';
      throw new FsError('EBUSY', `${mp} is already mounted (${existing.fstype} from ${existing.source}) ${how}`);
    }
    await lazyUnmount(mp);
    recoveredStale = true;
  }
  const st = await stat(mp).catch((err: NodeJS.ErrnoException) => {
    throw new FsError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', `mountpoint ${mp}: ${err.message}`);
  });
  if (!st.isDirectory()) throw new FsError('ENOTDIR', `mountpoint ${mp} is not a directory`);
  await access('/dev/fuse', constants.R_OK | constants.W_OK).catch((err: Error) => {
    throw new FsError('ENODEV', `/dev/fuse is not usable (${err.message}); is the fuse module loaded?`);
  });
  return { path: mp, recoveredStale };
}
