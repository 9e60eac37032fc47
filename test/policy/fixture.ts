// A catalog in a temp directory with two local tiers (hot, warm) and a classifier
// over them: files are created through the Catalog API, time is passed explicitly.
import { join } from 'node:path';
import { Catalog, ROOT_INO, type AccessEvent } from '../../src/catalog/catalog.js';
import type { TierConfig } from '../../src/config/schema.js';
import { Classifier } from '../../src/policy/classifier.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { TierSet } from '../../src/tiers/tier-set.js';
import { tempDir } from '../helpers/tmp.js';
import { policy } from './facts.js';

export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;

export interface Fixture {
  catalog: Catalog;
  classifier: Classifier;
  tierConfigs: TierConfig[];
  openForWrite: Set<number>;
  /** a file of `size` bytes at `path` (parents created), on `tier` */
  file(path: string, size: number, tier?: string): number;
  dir(path: string): number;
  /** opens of `inos` at `timeMs` (marks them dirty, adds heat) */
  open(inos: number[], timeMs: number, times?: number): void;
  /** where the queue says each file goes: ino → tier */
  queued(): Map<number, string>;
  dispose(): void;
}

export function fixture(opts: { policy?: Record<string, unknown>; hotCapacity?: number; watermarks?: { high: number; low: number } } = {}): Fixture {
  const dir = tempDir();
  const catalog = new Catalog(join(dir.path, 'catalog.db'));
  const watermarks = opts.watermarks ?? { high: 0.9, low: 0.75 };
  const tierConfigs: TierConfig[] = [
    { name: 'hot', kind: 'local', volumes: [{ path: join(dir.path, 'hot') }], capacity: opts.hotCapacity ?? 1e12, watermarks },
    { name: 'warm', kind: 'local', volumes: [{ path: join(dir.path, 'warm') }], capacity: 1e12, watermarks },
  ];
  const tiers = new TierSet(tierConfigs.map((c) => ({ kind: 'local' as const, name: c.name, local: new LocalTier(c as Extract<TierConfig, { kind: 'local' }>) })));
  const openForWrite = new Set<number>();
  const p = policy(opts.policy ?? {});
  const classifier = new Classifier({ catalog, tiers, tierConfigs, policy: p, isOpenForWrite: (ino) => openForWrite.has(ino) });
  const attrs = { uid: 1000, gid: 1000, rdev: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, target: null };

  const dirOf = (path: string): number => {
    let ino = ROOT_INO;
    for (const part of path.split('/').slice(0, -1)) {
      ino =
        catalog.lookupIno(ino, part) ??
        catalog.createInode({ ...attrs, mode: S_IFDIR | 0o755, nlink: 2, size: 0, tier: null, volume: null, dataPath: null }, ino, part);
    }
    return ino;
  };
  return {
    catalog,
    classifier,
    tierConfigs,
    openForWrite,
    file(path, size, tier = 'hot') {
      const volume = tiers.local(tier).volumes[0]!;
      const name = path.split('/').at(-1)!;
      const mtimeNs = BigInt(Date.now()) * 1_000_000n;
      return catalog.createInode({ ...attrs, mtimeNs, ctimeNs: mtimeNs, mode: S_IFREG | 0o644, nlink: 1, size, tier, volume, dataPath: path }, dirOf(path), name);
    },
    dir(path) {
      return dirOf(`${path}/x`);
    },
    open(inos, timeMs, times = 1) {
      const events: AccessEvent[] = inos.flatMap((ino) =>
        Array.from({ length: times }, () => ({ timeMs, ino, path: '', op: 'open' as const, offset: 0, length: 0, size: 0, count: 1 })),
      );
      catalog.recordAccessBatch(events, 0, p.halfLife);
    },
    queued() {
      return new Map(catalog.queuedMoves(1_000_000).map((e) => [e.ino, e.toTier]));
    },
    dispose() {
      catalog.close();
      dir.remove();
    },
  };
}
