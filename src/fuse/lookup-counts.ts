// The kernel's references to inodes, as FUSE defines them: every entry the
// kernel accepted (lookup, mknod, mkdir, symlink, link, create, each
// readdirplus entry but . and ..) adds one; forget takes some away. When an
// inode's count reaches zero the filesystem may drop what it keeps for it.
import type { Ino } from './types.js';

export class LookupCounts {
  private readonly counts = new Map<Ino, number>();

  add(ino: Ino, n = 1): void {
    this.counts.set(ino, (this.counts.get(ino) ?? 0) + n);
  }

  /** Returns true when the kernel no longer references ino. */
  forget(ino: Ino, n: number): boolean {
    const left = (this.counts.get(ino) ?? 0) - n;
    if (left > 0) {
      this.counts.set(ino, left);
      return false;
    }
    this.counts.delete(ino);
    return true;
  }

  get(ino: Ino): number {
    return this.counts.get(ino) ?? 0;
  }

  /** Inodes the kernel still references. */
  get size(): number {
    return this.counts.size;
  }
}
