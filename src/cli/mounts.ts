// Finding running tierfs mounts: the kernel's mount table names each one, and its
// fsname is the data directory, where the daemon's admin socket lives.
import { lstatSync, realpathSync } from 'node:fs';
import { readMountInfo, type MountInfo } from '../fuse/mountpoint.js';
import { resolve, sep } from 'node:path';

export interface TierfsMount {
  mountpoint: string;
  dataDir: string;
}

/**
 * The tierfs mounts of root or of the caller. Any user may make a FUSE mount and give it
 * type fuse.tierfs and a source of their choosing (fusermount lets them): the CLI would
 * talk to that user's socket, show root what it says, and a command with no mountpoint
 * would find "several mounts". The kernel names who mounted each (user_id).
 */
export function tierfsMounts(table: MountInfo[] = readMountInfo()): TierfsMount[] {
  const me = process.getuid?.();
  return table
    .filter((m) => m.fstype === 'fuse.tierfs' && (m.mountedBy === 0 || m.mountedBy === me))
    .map((m) => ({ mountpoint: m.mountpoint, dataDir: m.source }));
}

/**
 * The tierfs mount at mountpoint, named by the caller: also one another user mounted (a
 * daemon run as a service user), if its data directory is that user's — a socket of the
 * user who mounted it, not one a third user put a fake mount's source on.
 */
export function namedTierfsMount(mountpoint: string, table: MountInfo[] = readMountInfo()): TierfsMount | undefined {
  const at = table.filter((m) => m.fstype === 'fuse.tierfs' && m.mountpoint === mountpoint).at(-1);
  if (!at) return undefined;
  const me = process.getuid?.();
  const trusted = at.mountedBy === 0 || at.mountedBy === me || (at.mountedBy !== undefined && ownerOf(at.source) === at.mountedBy);
  return trusted ? { mountpoint: at.mountpoint, dataDir: at.source } : undefined;
}

function ownerOf(path: string): number | undefined {
  try {
    return lstatSync(path).uid;
  } catch {
    return undefined;
  }
}

/** parent with its symlinks resolved, or undefined when it is gone (also while being looked at: a rename). */
function realParent(parent: string): string | undefined {
  try {
    return realpathSync(parent);
  } catch {
    return undefined;
  }
}

/** The tierfs mount that holds path, and path relative to its root. */
export function mountOf(path: string): { mount: TierfsMount; relative: string } | undefined {
  const abs = resolve(path);
  // Resolve symlinks of the directories above (not of the file itself, which may be a symlink).
  const parent = abs.slice(0, abs.lastIndexOf(sep)) || sep;
  const parentReal = realParent(parent);
  const real = parentReal === undefined ? abs : resolve(parentReal, abs.slice(abs.lastIndexOf(sep) + 1));
  let best: TierfsMount | undefined;
  for (const m of tierfsMounts()) {
    const inside = real === m.mountpoint || real.startsWith(m.mountpoint === sep ? sep : m.mountpoint + sep);
    if (inside && (!best || m.mountpoint.length > best.mountpoint.length)) best = m;
  }
  if (!best) return undefined;
  return { mount: best, relative: real.slice(best.mountpoint.length).replace(/^\/+/, '') };
}
