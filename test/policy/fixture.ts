// A catalog in a temp directory with two local tiers (hot, warm) and a classifier
// over them: files are created through the Catalog API, time is passed explicitly.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Catalog, ROOT_INO, type AccessEvent } from '../../src/catalog/catalog.js';
import { configSchema, type ObjectTierConfig, type TierConfig } from '../../src/config/schema.js';
import type { PolicyConfig } from '../../src/config/policy.js';
import { Classifier } from '../../src/policy/classifier.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { openObjectTier } from '../../src/tiers/object/index.js';
import { TierSet, type AnyTier } from '../../src/tiers/tier-set.js';
import { tempDir } from '../helpers/tmp.js';
import { policy } from './facts.js';

export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;

export interface Fixture {
  catalog: Catalog;
  classifier: Classifier;
  /** the policy the classifier runs with; a configuration apply changes it in place, as here */
  policy: PolicyConfig;
  tierConfigs: TierConfig[];
  openForWrite: Set<number>;
  /** a file of `size` bytes at `path` (parents created), on `tier` since `arrivedMs` (default: now) */
  file(path: string, size: number, tier?: string, arrivedMs?: number): number;
  dir(path: string): number;
  /** opens of `inos` at `timeMs` (marks them dirty, adds heat) */
  open(inos: number[], timeMs: number, times?: number): void;
  /** where the queue says each file goes: ino → tier */
  queued(): Map<number, string>;
  dispose(): void;
}

interface FixtureOptions {
  policy?: Record<string, unknown>;
  hotCapacity?: number;
  warmCapacity?: number;
  watermarks?: { high: number; low: number };
}

/** The fixture with a third tier, cold: an object tier on a memory store, of `capacity` bytes (none: no limit). */
export async function fixtureWithCold(opts: FixtureOptions & { coldCapacity?: number }): Promise<Fixture> {
  const watermarks = opts.watermarks ?? { high: 0.9, low: 0.75 };
  const config = configSchema.parse({
    dataDir: '/unused',
    tiers: [
      { name: 'hot', kind: 'local', volumes: ['/unused'] },
      { name: 'cold', kind: 'object', backends: [{ type: 'memory' }], capacity: opts.coldCapacity, watermarks },
    ],
  }).tiers[1] as ObjectTierConfig;
  const dir = tempDir();
  const object = await openObjectTier(config, randomUUID(), dir.path, { memoryCacheBytes: 0, diskCacheBytes: 0 });
  const f = fixture(opts, { config, tier: { kind: 'object', name: 'cold', object } });
  return {
    ...f,
    dispose() {
      f.dispose();
      void object.close().finally(() => dir.remove());
    },
  };
}

export function fixture(opts: FixtureOptions = {}, slower?: { config: TierConfig; tier: AnyTier }): Fixture {
  const dir = tempDir();
  // The catalog's clock is the real one, but for files created as having arrived earlier.
  let arrivedAt: number | undefined;
  const catalog = new Catalog(join(dir.path, 'catalog.db'), { now: () => arrivedAt ?? Date.now() });
  const watermarks = opts.watermarks ?? { high: 0.9, low: 0.75 };
  const tierConfigs: TierConfig[] = [
    { name: 'hot', kind: 'local', volumes: [{ path: join(dir.path, 'hot') }], capacity: opts.hotCapacity ?? 1e12, watermarks },
    { name: 'warm', kind: 'local', volumes: [{ path: join(dir.path, 'warm') }], capacity: opts.warmCapacity ?? 1e12, watermarks },
  ];
  const locals: AnyTier[] = tierConfigs.map((c) => ({ kind: 'local' as const, name: c.name, local: new LocalTier(c as Extract<TierConfig, { kind: 'local' }>) }));
  if (slower) tierConfigs.push(slower.config);
  const tiers = new TierSet(slower ? [...locals, slower.tier] : locals);
  const openForWrite = new Set<number>();
  const p = policy(opts.policy ?? {});
  const classifier = new Classifier({ catalog, tiers, tierConfigs, policy: p, openHold: (ino) => (openForWrite.has(ino) ? 'open for writing' : null) });
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
    policy: p,
    tierConfigs,
    openForWrite,
    file(path, size, tier = 'hot', arrivedMs) {
      const t = tiers.get(tier);
      const volume = t.kind === 'local' ? t.local.volumes[0]! : null;
      const name = path.split('/').at(-1)!;
      const mtimeNs = BigInt(Date.now()) * 1_000_000n;
      arrivedAt = arrivedMs;
      try {
        return catalog.createInode({ ...attrs, mtimeNs, ctimeNs: mtimeNs, mode: S_IFREG | 0o644, nlink: 1, size, tier, volume, dataPath: path }, dirOf(path), name);
      } finally {
        arrivedAt = undefined;
      }
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
