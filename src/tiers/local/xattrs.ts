// The xattrs of backing files and directories, kept in step with the catalog: the tiers
// carry the namespace (issue 18), so a catalog lost with no backup, or one older than the
// last change, costs no user.* attribute, pin or class of a file on a local tier. The
// catalog stays what the mount serves; these are its copy on the volume, written where
// the catalog changes, and read back only by an import (vfs/reconcile.ts). All calls take
// a descriptor, opened as every backing name is: beneath the volume, no symlink followed.
import { nativeBinding } from '../../fuse/native.js';

export interface Xattr {
  name: string;
  value: Buffer;
}

/**
 * The names the mount stores (vfs.ts checkXattrName) are the names carried: user.*,
 * trusted.*, security.* and POSIX ACLs. A security module's own labels on the backing
 * entry (SELinux, SMACK, AppArmor, IMA/EVM) belong to the volume, never to the file.
 */
const LSM_LABELS = /^security\.(selinux|SMACK64|apparmor|ima|evm)/;
const isCarried = (name: string) =>
  name.startsWith('user.') || name.startsWith('trusted.') || (name.startsWith('security.') && !LSM_LABELS.test(name)) || name === 'system.posix_acl_access' || name === 'system.posix_acl_default';

/** The carried xattrs of an open file or directory, by name. */
export function userXattrsOf(fd: number): Xattr[] {
  const n = nativeBinding();
  return n
    .xattrList(fd)
    .filter(isCarried)
    .sort()
    .flatMap((name) => {
      const value = n.xattrGet(fd, name);
      return value === undefined ? [] : [{ name, value }];
    });
}

/** Make the carried xattrs of an open file or directory exactly `want`: set what differs, remove the rest. */
export function matchXattrs(fd: number, want: Xattr[]): void {
  const n = nativeBinding();
  const have = new Map(userXattrsOf(fd).map((x) => [x.name, x.value]));
  for (const { name, value } of want) if (!have.get(name)?.equals(value)) n.xattrSet(fd, name, value);
  const wanted = new Set(want.map((x) => x.name));
  for (const name of have.keys()) if (!wanted.has(name)) n.xattrRemove(fd, name);
}
