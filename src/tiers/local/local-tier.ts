// A local tier: one or more directories (volumes) that hold files as plain files at
// their path relative to the mount root, readable without tierfs.
import { closeSync, linkSync, lstatSync, mkdirSync, readdirSync, renameSync, statfsSync, statSync, type BigIntStats, type Stats, unlink, unlinkSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { LocalTierConfig } from '../../config/schema.js';
import { FsError } from '../../errors.js';
import { moduleLogger } from '../../log.js';
import { makePrivate, refuseSystemDirectory } from '../../private-dir.js';
import { type DirAttrsOf, openDirBeneath, openFileBeneath, removeTreeBeneath, withNameBeneath, withNamesBeneath } from './beneath.js';
import { TEMP_DIR, tempPathOf } from './copy.js';

const log = moduleLogger('local-tier');

const STATFS_TTL_MS = 500;
/** A file's last name is unlinked off the event loop from this many bytes on (unlinkAt). */
const UNLINK_OFF_LOOP_BYTES = 64 * 2 ** 20;
/** Free space below which an unlink frees its file's blocks before it returns (shortOfRoom). */
const SHORT_OF_ROOM_BYTES = 64 * 2 ** 20;

export interface VolumeUsage {
  path: string;
  /** the filesystem the volume is on (st_dev): two volumes on one disk share its space */
  dev: number;
  totalBytes: number;
  freeBytes: number;
  freeInodes: number;
  /** 0 where the filesystem keeps no count of inodes (btrfs): then it never runs out of them */
  totalInodes: number;
  /** Why the volume could not be measured (gone, unmounted): it then counts as full. */
  error?: string;
}

export interface TierUsage {
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  /**
   * The largest file a new file or copy could be: one goes to one volume, so the free
   * space of the roomiest volume that has inodes left, not the sum (nor more than freeBytes).
   */
  fitBytes: number;
  /** Volumes that could not be measured, with why: the figures above leave them out. */
  unreachable?: { path: string; error: string }[];
}

/** Whether unlinking the name st was read from frees a large file's blocks (its last name). */
function freesMuch(st: Stats): boolean {
  return st.isFile() && st.nlink === 1 && st.blocks * 512 >= UNLINK_OFF_LOOP_BYTES;
}

export class LocalTier {
  readonly kind = 'local';
  readonly name: string;
  readonly volumes: string[];

  /** tighten: false for a tier only checked (a configuration staged), which must change nothing until it is taken (makeVolumesPrivate) */
  constructor(
    readonly config: LocalTierConfig,
    opts: { tighten?: boolean } = {},
  ) {
    this.name = config.name;
    this.volumes = config.volumes.map((v) => v.path);
    for (const v of this.volumes) refuseSystemDirectory(v, 'volume');
    if (opts.tighten !== false) this.makeVolumesPrivate();
  }

  /**
   * Below a volume root, files and directories carry the owners and modes of the mount:
   * nobody may reach them except through it (which checks permissions), nor put things
   * there for the daemon to trip over. Only the root is tightened (made if missing).
   */
  makeVolumesPrivate(): void {
    for (const v of this.volumes) makePrivate(v, 'volume root');
  }

  has(volume: string): boolean {
    return this.volumes.includes(volume);
  }

  /** The absolute backing path of dataPath on volume; dataPath never escapes the volume. */
  pathOf(volume: string, dataPath: string): string {
    const rel = normalize(dataPath);
    if (rel.startsWith('..') || rel.startsWith(sep)) throw new FsError('EINVAL', `data path escapes its volume: ${dataPath}`);
    return join(volume, rel);
  }

  /**
   * Create the directories above dataPath on volume, as a plain copy of the namespace
   * would have them: each with the mode and owner dirAttrs gives for its path (the
   * mount's directory there), else private to root. No symlink on the way is followed.
   */
  ensureParents(volume: string, dataPath: string, dirAttrs: DirAttrsOf = () => undefined): void {
    const slash = dataPath.lastIndexOf('/');
    if (slash > 0) closeSync(openDirBeneath(volume, dataPath.slice(0, slash), dirAttrs));
  }

  /**
   * Run fn on a path that reaches dataPath through the descriptor of its directory: no
   * symlink above it is followed (see beneath.ts). With dirAttrs, missing directories
   * above it are made as ensureParents makes them.
   */
  withName<T>(volume: string, dataPath: string, fn: (path: string) => T, dirAttrs?: DirAttrsOf): T {
    return withNameBeneath(volume, dataPath, fn, dirAttrs);
  }

  /** withName for a rename's two names: `to`'s missing directories made as dirAttrs says. */
  withNames<T>(volume: string, from: string, to: string, fn: (fromPath: string, toPath: string) => T, dirAttrs?: DirAttrsOf): T {
    return withNamesBeneath(volume, from, to, fn, dirAttrs);
  }

  /** Removes the backing name dataPath (no symlink followed), as unlinkAt does; a missing one is fine. */
  unlinkFile(volume: string, dataPath: string): void {
    this.withName(volume, dataPath, (name) => this.unlinkAt(volume, name));
  }

  /**
   * Removes `name` (a path withName gave, or one in the volume's temp directory); a
   * missing one is fine. The last name of a large file does not free its blocks on the
   * event loop: the kernel frees them inside that unlink (0.7 s for 2 GiB cached, on this
   * project's ext4), and no request of the mount would be answered meanwhile. Such a name
   * is renamed into the volume's temp directory, which a mount empties should the daemon
   * stop first, and unlinked there on the thread pool.
   */
  unlinkAt(volume: string, name: string): void {
    const st = lstatSync(name, { throwIfNoEntry: false });
    if (st) this.unlinkStated(volume, name, st);
  }

  /** unlinkAt of a name whose lstat the caller has (setAside's). */
  private unlinkStated(volume: string, name: string, st: Stats): void {
    try {
      if (!freesMuch(st)) return unlinkSync(name);
      const doomed = this.doomedName(volume);
      renameSync(name, doomed);
      this.unlinkOffLoop(volume, doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /**
   * Moves the backing name dataPath (no symlink followed) into the volume's temp directory
   * as `tag`, where it stays until the caller removes it (the function returned, which
   * unlinks it as unlinkAt does): a removal that the next mount can still tell from a file
   * gone missing. Undefined when nothing is left to remove: there was no such name, or it
   * could not go there (a directory on another filesystem) and was unlinked as unlinkAt does.
   * (A large file's blocks are freed off the event loop: unlinksDone says when.)
   */
  setAside(volume: string, dataPath: string, tag: string): (() => void) | undefined {
    const to = tempPathOf(volume, tag);
    return this.withName(volume, dataPath, (name) => {
      const st = lstatSync(name, { throwIfNoEntry: false });
      if (!st) return undefined;
      // What unlink(2) would say of a directory standing where the file was.
      if (st.isDirectory()) throw new FsError('EISDIR', `${dataPath} on ${volume} is a directory`);
      try {
        renameSync(name, to);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EXDEV') {
          this.unlinkStated(volume, name, st);
          return undefined;
        }
        if (code !== 'ENOENT') throw err;
        // No temp directory yet.
        this.makeTempDir(volume);
        renameSync(name, to);
      }
      return () => this.unlinkStated(volume, to, st);
    });
  }

  /** The names in the volume's temp directory that begin with prefix. */
  tempNames(volume: string, prefix: string): string[] {
    try {
      return readdirSync(join(volume, TEMP_DIR)).filter((n) => n.startsWith(prefix));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /**
   * Renames `from` to `to` (paths withName gave). A large file it replaces is given a
   * second name in the temp directory first, so that the rename does not free its
   * blocks, and that name is unlinked on the thread pool (see unlinkAt). Unless `replacing`
   * (the mount has an entry at `to`), whatever is there is nobody's the mount shows: EEXIST.
   * `before` runs once the rename is known to go ahead, just before anything changes.
   */
  renameAt(volume: string, from: string, to: string, replacing: boolean, before?: () => void): void {
    const replaced = lstatSync(to, { throwIfNoEntry: false });
    if (replaced && !replacing) throw new FsError('EEXIST', 'the new name on the volume holds what the catalog does not have');
    before?.();
    const doomed = replaced && freesMuch(replaced) ? this.doomedName(volume) : undefined;
    if (doomed) linkSync(to, doomed);
    try {
      renameSync(from, to);
    } catch (err) {
      if (doomed) unlinkSync(doomed);
      throw err;
    }
    if (doomed) this.unlinkOffLoop(volume, doomed);
  }

  private makeTempDir(volume: string): void {
    mkdirSync(join(volume, TEMP_DIR), { recursive: true, mode: 0o700 });
  }

  private doomedName(volume: string): string {
    this.makeTempDir(volume);
    return tempPathOf(volume, `unlinked-${process.pid}-${++this.unlinked}`);
  }

  private unlinkOffLoop(volume: string, path: string): void {
    const done = new Promise<void>((resolve) =>
      unlink(path, (err) => {
        if (err) log.warn({ err, path }, 'could not remove a deleted file; the next mount removes it');
        resolve();
      }),
    );
    const under = this.unlinking.get(volume) ?? new Set<Promise<void>>();
    this.unlinking.set(volume, under.add(done));
    void done.then(() => under.delete(done));
  }
  private unlinked = 0;
  /** per volume, the unlinks under way off the event loop */
  private readonly unlinking = new Map<string, Set<Promise<void>>>();

  /** Settles once every unlink begun off the event loop on the volume so far (unlinkAt, renameAt) has freed its blocks. */
  unlinksDone(volume: string): Promise<void> {
    return Promise.all(this.unlinking.get(volume) ?? []).then(() => undefined);
  }

  /** A descriptor of the regular backing file dataPath, opened with no symlink followed; the caller closes it. */
  openFile(volume: string, dataPath: string, flags: number, opts: { mode?: number; dirAttrs?: DirAttrsOf } = {}): number {
    return openFileBeneath(volume, dataPath, flags, { mode: opts.mode, create: opts.dirAttrs });
  }

  /** A descriptor of the backing directory dirPath ('' is the volume root), no symlink followed; the caller closes it. */
  openDir(volume: string, dirPath: string): number {
    return openDirBeneath(volume, dirPath);
  }

  /** Remove dataPath and anything below it, following no symlink; a missing one is fine. */
  removeTree(volume: string, dataPath: string): void {
    removeTreeBeneath(volume, dataPath);
  }

  /**
   * Whether `freeing` bytes about to be freed on the volume matter to what is free there
   * now (a statfs of this moment where the cached one is near): less than 64 MiB, or less
   * than they, is free beside them. The next write may need them.
   */
  shortOfRoom(volume: string, freeing: number): boolean {
    if (freeing <= 0) return false;
    const room = Math.max(SHORT_OF_ROOM_BYTES, freeing);
    // A statfs costs an unlink a twentieth of its time here: the cached figure (half a
    // second old at most) answers for a volume with a GiB to spare.
    const cached = this.volumeUsage().find((u) => u.path === volume);
    if (cached && cached.error === undefined && cached.freeBytes >= 2 ** 30 + room) return false;
    try {
      const s = statfsSync(volume);
      return s.bavail * s.bsize < room;
    } catch {
      return false;
    }
  }

  private statfsCache: { atMs: number; usage: VolumeUsage[] } | undefined;

  /** The next look at the volumes' space is a fresh one (a write just found one full). */
  forgetVolumeUsage(): void {
    this.statfsCache = undefined;
  }

  /**
   * Size and free space of each volume, at most STATFS_TTL_MS old: placing a file asks
   * for it, and a create per file must not cost a statfs per volume.
   */
  volumeUsage(): VolumeUsage[] {
    const now = Date.now();
    if (!this.statfsCache || now - this.statfsCache.atMs > STATFS_TTL_MS) {
      const usage = this.volumes.map((path): VolumeUsage => {
        try {
          const s = statfsSync(path);
          return { path, dev: statSync(path).dev, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize, freeInodes: s.ffree, totalInodes: s.files };
        } catch (err) {
          // A disk unplugged or a directory moved away: nothing is placed there, and
          // whoever plans on these figures (the classifier) is told.
          return { path, dev: -1, totalBytes: 0, freeBytes: 0, freeInodes: 0, totalInodes: 0, error: (err as Error).message };
        }
      });
      this.statfsCache = { atMs: now, usage };
    }
    return this.statfsCache.usage;
  }

  /**
   * Capacity and use: with a configured capacity, use is what the catalog says this
   * tier holds (catalogBytes); without one, the volumes' filesystems are the measure.
   */
  usage(catalogBytes: number): TierUsage {
    const vols = distinctFilesystems(this.volumeUsage());
    const fsFree = vols.reduce((a, v) => a + v.freeBytes, 0);
    const fit = Math.max(0, ...vols.filter(takesFiles).map((v) => v.freeBytes));
    const gone = vols.filter((v) => v.error !== undefined).map((v) => ({ path: v.path, error: v.error! }));
    const unreachable = gone.length > 0 ? { unreachable: gone } : {};
    if (this.config.capacity !== undefined) {
      const capacityBytes = this.config.capacity;
      const freeBytes = Math.max(0, Math.min(fsFree, capacityBytes - catalogBytes));
      return { capacityBytes, usedBytes: catalogBytes, freeBytes, fitBytes: Math.min(fit, freeBytes), ...unreachable };
    }
    const capacityBytes = vols.reduce((a, v) => a + v.totalBytes, 0);
    return { capacityBytes, usedBytes: capacityBytes - fsFree, freeBytes: fsFree, fitBytes: fit, ...unreachable };
  }

  /** Room for one more file of `size` bytes below the high watermark. */
  hasRoom(catalogBytes: number, size = 0): boolean {
    const u = this.usage(catalogBytes);
    return u.capacityBytes > 0 && u.usedBytes + size <= u.capacityBytes * this.config.watermarks.high && u.fitBytes > size;
  }

  /** Space for one more file of `size` bytes, past the high watermark if need be. */
  hasSpace(catalogBytes: number, size = 0): boolean {
    const u = this.usage(catalogBytes);
    return u.capacityBytes > 0 && u.usedBytes + size <= u.capacityBytes && u.fitBytes > size;
  }

  /** The volume with the most free space (mergerfs's "mfs") that has inodes left, for a new file; none of `refused` if it can. */
  pickVolume(refused: ReadonlySet<string> = new Set()): string {
    const open = this.volumes.filter((v) => !refused.has(v));
    if (open.length <= 1) return open[0] ?? this.volumes[0]!;
    let best = open[0]!;
    let bestFree = -1;
    for (const v of this.volumeUsage()) {
      if (!refused.has(v.path) && takesFiles(v) && v.freeBytes > bestFree) [best, bestFree] = [v.path, v.freeBytes];
    }
    return best;
  }
}

/** A volume that can take a new file: measured, and not out of inodes (a filesystem that counts them). */
function takesFiles(v: VolumeUsage): boolean {
  return v.error === undefined && (v.totalInodes === 0 || v.freeInodes > 0);
}

/** One entry per filesystem: volumes on one disk share its size and free space. */
/**
 * Which file or directory an lstat found, to tell it later from one made under the same
 * name since: its inode number, which the filesystem may give a new file as soon as the
 * old one is gone, and its birth time, which then differs (0 where statx has none).
 */
export function backingIdentity(st: BigIntStats): string {
  return `${st.ino}:${st.birthtimeNs}`;
}

export function distinctFilesystems(vols: VolumeUsage[]): VolumeUsage[] {
  const seen = new Set<number>();
  return vols.filter((v) => v.error !== undefined || (!seen.has(v.dev) && seen.add(v.dev)));
}
