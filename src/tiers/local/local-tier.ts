// A local tier: one or more directories (volumes) that hold files as plain files at
// their path relative to the mount root, readable without tierfs.
import { mkdirSync, statfsSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { LocalTierConfig } from '../../config/schema.js';
import { FsError } from '../../errors.js';

const STATFS_TTL_MS = 500;

export interface VolumeUsage {
  path: string;
  totalBytes: number;
  freeBytes: number;
}

export interface TierUsage {
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
}

export class LocalTier {
  readonly kind = 'local';
  readonly name: string;
  readonly volumes: string[];

  constructor(readonly config: LocalTierConfig) {
    this.name = config.name;
    this.volumes = config.volumes.map((v) => v.path);
    for (const v of this.volumes) mkdirSync(v, { recursive: true });
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

  /** Create the directories above dataPath on volume, as a plain copy of the namespace would have them. */
  ensureParents(volume: string, dataPath: string): void {
    const slash = dataPath.lastIndexOf('/');
    if (slash > 0) mkdirSync(this.pathOf(volume, dataPath.slice(0, slash)), { recursive: true });
  }

  private statfsCache: { atMs: number; usage: VolumeUsage[] } | undefined;

  /**
   * Size and free space of each volume, at most STATFS_TTL_MS old: placing a file asks
   * for it, and a create per file must not cost a statfs per volume.
   */
  volumeUsage(): VolumeUsage[] {
    const now = Date.now();
    if (!this.statfsCache || now - this.statfsCache.atMs > STATFS_TTL_MS) {
      const usage = this.volumes.map((path) => {
        const s = statfsSync(path);
        return { path, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
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
    const vols = this.volumeUsage();
    const fsFree = vols.reduce((a, v) => a + v.freeBytes, 0);
    if (this.config.capacity !== undefined) {
      const capacityBytes = this.config.capacity;
      return { capacityBytes, usedBytes: catalogBytes, freeBytes: Math.max(0, Math.min(fsFree, capacityBytes - catalogBytes)) };
    }
    const capacityBytes = vols.reduce((a, v) => a + v.totalBytes, 0);
    return { capacityBytes, usedBytes: capacityBytes - fsFree, freeBytes: fsFree };
  }

  /** Room for one more file of `size` bytes below the high watermark. */
  hasRoom(catalogBytes: number, size = 0): boolean {
    const u = this.usage(catalogBytes);
    return u.capacityBytes > 0 && u.usedBytes + size <= u.capacityBytes * this.config.watermarks.high && u.freeBytes > size;
  }

  /** The volume with the most free space (mergerfs's "mfs"), for a new file. */
  pickVolume(): string {
    if (this.volumes.length === 1) return this.volumes[0]!;
    let best = this.volumes[0]!;
    let bestFree = -1;
    for (const v of this.volumeUsage()) {
      if (v.freeBytes > bestFree) [best, bestFree] = [v.path, v.freeBytes];
    }
    return best;
  }
}
