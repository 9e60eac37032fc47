// The kernel's rule for setuid and setgid on a write, shared by the FUSE layer (which
// clears them) and the vfs (which keeps such files off FUSE passthrough).
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_IXGRP = 0o0010;

/**
 * The mode a write or truncate by an unprivileged caller leaves, by the kernel's
 * rule for local filesystems: no setuid; no setgid where group execute makes it
 * mean "run as the group" (without S_IXGRP it marks mandatory locking and stays).
 */
export function withoutPrivileges(mode: number): number {
  let m = mode & ~S_ISUID;
  if ((m & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) m &= ~S_ISGID;
  return m;
}
