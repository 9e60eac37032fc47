// The tiers carry the namespace (issue 18, point 1): what exists only in the catalog is
// lost with it, so directories and symlinks are also made on the first local tier, at
// their path, as a plain copy of the tree would have them. A rebuild (vfs/reconcile.ts
// at mount, fsck --rebuild) imports them from there like any file; a volume read
// without tierfs shows them.
//
// Directories get the mount's mode and owner (their times follow what happens on the
// volume, not the mount); symlinks their target, owner and times. Both are best effort:
// a volume that is full or gone costs only this second copy, never the operation — the
// catalog is what the mount serves. Directories' renames, removals and mode changes
// already reach every backing directory (vfs.ts); symlinks' go through here.
import * as fs from 'node:fs';
import type { DirAttrsOf } from '../tiers/local/beneath.js';
import type { BackingIds } from '../catalog/catalog.js';
import { backingIdentity, type LocalTier } from '../tiers/local/local-tier.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('vfs');

/**
 * Seconds for lutimes, which libuv sets with microsecond precision, cutting what is below:
 * half a microsecond more keeps the double's rounding (a few hundred nanoseconds at this
 * size) from cutting a whole microsecond off.
 */
const seconds = (ns: bigint) => Number(ns / 1000n) / 1e6 + 5e-7;

const kindAt = (path: string) => {
  const st = fs.lstatSync(path, { throwIfNoEntry: false });
  return st === undefined ? undefined : st.isSymbolicLink() ? 'symlink' : 'other';
};

export class NamespaceMirror {
  constructor(
    private readonly tiers: LocalTier[],
    private readonly dirAttrsAt: DirAttrsOf,
  ) {}

  /** The volumes that hold directories and symlinks: those of the first local tier. */
  private *homes(): Generator<{ tier: LocalTier; volume: string }> {
    const first = this.tiers[0];
    if (first) for (const volume of first.volumes) yield { tier: first, volume };
  }

  private *everywhere(): Generator<{ tier: LocalTier; volume: string }> {
    for (const tier of this.tiers) for (const volume of tier.volumes) yield { tier, volume };
  }

  private bestEffort(what: string, path: string, volume: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.warn({ err, path, volume }, `could not ${what} on the local tier (the catalog has it)`);
    }
  }

  /** A new directory (path relative to the mount root; its catalog entry exists). */
  directory(path: string): void {
    for (const { tier, volume } of this.homes()) {
      // ensureParents makes every directory above its argument: the one below path is never made.
      this.bestEffort('make a directory', path, volume, () => tier.ensureParents(volume, `${path}/.tierfs-dir`, this.dirAttrsAt));
    }
  }

  /** A new symlink with its owner and times. */
  symlink(path: string, target: string, attrs: { uid: number; gid: number; atimeNs: bigint; mtimeNs: bigint }): void {
    for (const { tier, volume } of this.homes()) {
      this.bestEffort('make a symlink', path, volume, () =>
        tier.withName(
          volume,
          path,
          (p) => {
            fs.symlinkSync(target, p);
            fs.lchownSync(p, attrs.uid, attrs.gid);
            fs.lutimesSync(p, seconds(attrs.atimeNs), seconds(attrs.mtimeNs));
          },
          this.dirAttrsAt,
        ),
      );
    }
  }

  /** A symlink's name goes; `only`: its copies on those volumes alone, and only where they are still those (backingIdentity). */
  removeSymlink(path: string, only?: BackingIds): void {
    for (const { tier, volume } of this.everywhere()) {
      if (only && only[volume] === undefined) continue;
      this.bestEffort('remove a symlink', path, volume, () =>
        this.onName(tier, volume, path, (p) => {
          const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
          if (st?.isSymbolicLink() && (!only || backingIdentity(st) === only[volume])) fs.unlinkSync(p);
        }),
      );
    }
  }

  /**
   * A symlink renamed (or exchanged). Where a file is at `to`, the rename takes it only if
   * it is the replaced file's name on its volume (`replaces` says so of the volume), as a
   * file's rename over a file does; any other file there is a stray, which stays, and the
   * symlink's copy goes (left at `from`, the next mount would show a name renamed away).
   */
  renameSymlink(from: string, to: string, only?: BackingIds, replaces: (volume: string) => boolean = () => false): void {
    for (const { tier, volume } of this.everywhere()) {
      this.bestEffort('rename a symlink', from, volume, () =>
        this.onName(tier, volume, from, (src) => {
          const st = fs.lstatSync(src, { bigint: true, throwIfNoEntry: false });
          if (!st?.isSymbolicLink() || (only && backingIdentity(st) !== only[volume])) return;
          tier.withName(
            volume,
            to,
            (dst) => {
              if (kindAt(dst) === 'other' && !replaces(volume)) {
                log.warn({ path: to, volume }, "symlink's copy not renamed: its new name on the volume holds a file or directory the catalog does not have (a remount reports it); the copy is removed");
                return fs.unlinkSync(src);
              }
              fs.renameSync(src, dst);
            },
            this.dirAttrsAt,
          );
        }),
      );
    }
  }

  /**
   * The symlinks at path, volume by volume (backingIdentity): what a rename's intent
   * records, so that finishing it after a crash moves those only (renameSymlink's only),
   * never a symlink made under the name since.
   */
  symlinkIds(path: string): BackingIds {
    const ids: BackingIds = {};
    for (const { tier, volume } of this.everywhere()) {
      this.bestEffort('look at a symlink', path, volume, () =>
        this.onName(tier, volume, path, (p) => {
          const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
          if (st?.isSymbolicLink()) ids[volume] = backingIdentity(st);
        }),
      );
    }
    return ids;
  }

  /** A symlink's owner or times changed (lchown, utimensat with AT_SYMLINK_NOFOLLOW). */
  symlinkAttrs(path: string, attrs: { uid: number; gid: number; atimeNs: bigint; mtimeNs: bigint }): void {
    for (const { tier, volume } of this.everywhere()) {
      this.bestEffort('change a symlink', path, volume, () =>
        this.onName(tier, volume, path, (p) => {
          if (kindAt(p) !== 'symlink') return;
          fs.lchownSync(p, attrs.uid, attrs.gid);
          fs.lutimesSync(p, seconds(attrs.atimeNs), seconds(attrs.mtimeNs));
        }),
      );
    }
  }

  /** Whether a symlink (one of ours) is at path on a volume. */
  holdsSymlink(tierName: string, volume: string, path: string): boolean {
    const tier = this.tiers.find((t) => t.name === tierName);
    if (!tier) return false;
    try {
      return this.onName(tier, volume, path, (p) => kindAt(p) === 'symlink') === true;
    } catch {
      return false;
    }
  }

  /** fn on a name reached without following symlinks; nothing when its directory is missing. */
  private onName<T>(tier: LocalTier, volume: string, path: string, fn: (p: string) => T): T | undefined {
    try {
      return tier.withName(volume, path, fn);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }
}
