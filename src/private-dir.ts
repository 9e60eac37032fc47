// Directories only the daemon may enter: a volume root (the backing files keep the modes
// users gave them, which would be reachable around the mount) and the data directory (the
// catalog holds every name, xattr and access; the recall cache holds cold files' bytes;
// SQLite and the cache write their files readable by all).
import { chmodSync, chownSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { moduleLogger } from './log.js';

const log = moduleLogger('private-dir');

/**
 * The data directory must not be another user's: root reads its token, writes its pid
 * file and log, and opens its catalog there, and a user who owned it could have left a
 * token they know or a symlink to a file of root's in its place. Refused, not taken over.
 */
export function refuseOthersDataDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    return; // made by us
  }
  // (A daemon that is not root serves a directory it cannot own, as before: it says so.)
  if (process.getuid?.() === 0 && st.uid !== 0) {
    throw new Error(
      `data directory ${dir} is owned by uid ${st.uid}, not by root: a directory another user controlled may ` +
        'hold files left there for the daemon (a token they know, a symlink to a file of root\'s); check what is ' +
        'in it and chown -R root:root it, or use another',
    );
  }
}

/** Directories of the system itself: made root's and 0700, they would lock every user out. */
// (Not /mnt, /srv, /opt or /media: a disk mounted there may well be a volume of its own.)
const SYSTEM_DIRECTORIES = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/root', '/run', '/sbin', '/sys', '/tmp', '/usr', '/var']);

/**
 * A directory made private (a volume root, the data directory) must be one of its own:
 * never /, /usr, /home and the like (by where it resolves to). Asked also where nothing
 * is tightened (a configuration's dry run), so that the answer is the same.
 */
export function refuseSystemDirectory(dir: string, what: string): void {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return; // not there yet: it is made (under some existing directory, never one of these)
  }
  if (SYSTEM_DIRECTORIES.has(real)) {
    throw new Error(
      `${what} ${dir} is ${real === dir ? '' : `${real}, `}a directory of the system: it would be made root's with mode 0700, ` +
        'which would lock every other user out of it; give it a directory of its own',
    );
  }
}

/** Make dir (if missing), root's (when the daemon is root) and mode 0700, saying so when it was not; what names it in the log. */
export function makePrivate(dir: string, what: string): void {
  refuseSystemDirectory(dir, what);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir); // a configured path may be a symlink: its target is the directory
  try {
    if (process.getuid?.() === 0 && (st.uid !== 0 || st.gid !== 0)) {
      log.warn({ path: dir, uid: st.uid, gid: st.gid }, `${what} was not owned by root: giving it to root`);
      chownSync(dir, 0, 0);
    }
    if ((st.mode & 0o7777) !== 0o700) {
      log.warn({ path: dir, mode: (st.mode & 0o7777).toString(8) }, `${what} was reachable by others: mode 0700 now`);
      chmodSync(dir, 0o700);
    }
  } catch (err) {
    // A daemon that is not root may not own the directory; it serves anyway, and says so.
    log.error({ err, path: dir }, `cannot make the ${what} private`);
  }
}
