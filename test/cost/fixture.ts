// A catalog built by hand for the cost reports: files on tiers (object files with a
// layout of cells), access events, metrics history points and copy removals, each at a
// time the test chooses. The SQL here only sets what the Catalog API stamps with the
// wall clock (when a file arrived on its tier).
import { join } from 'node:path';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { MetricsHistoryStore } from '../../src/catalog/metrics.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { labelKey } from '../../src/metrics/history.js';
import { tempDir } from '../helpers/tmp.js';

export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const GiB = 2 ** 30;
export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export interface CostFixture {
  catalog: Catalog;
  config: Config;
  /** a file at `path` on `tier`, arrived there at `sinceMs`; on an object tier, with `cells` objects per backend of `cellBytes` */
  file(path: string, size: number, tier: string, sinceMs: number, cells?: { perBackend: number; cellBytes: number }): number;
  /** reads of a file at `timeMs`, `times` of `length` bytes */
  read(ino: number, timeMs: number, length: number, times?: number): void;
  /** a point of the history (step: 1 hour unless given) */
  point(series: string, labels: Record<string, string>, timeMs: number, value: number, stepMs?: number): void;
  /** a copy that left an object tier, as the catalog's triggers record it */
  removal(r: { timeMs: number; tier: string; cause: 'deleted' | 'moved'; writtenMs: number; size: number; backendBytes: Record<string, number> }): void;
  dispose(): void;
}

/** `cost` is the configuration's cost section; tiers: hot (local), cold (object, 1+1 on two fs backends a and b). */
export function costFixture(cost: unknown = {}, extra: Record<string, unknown> = {}): CostFixture {
  const dir = tempDir();
  const config = configSchema.parse({
    dataDir: dir.path,
    tiers: [
      { name: 'hot', kind: 'local', volumes: [join(dir.path, 'hot')], capacity: '100GiB' },
      { name: 'cold', kind: 'object', scheme: { k: 1, m: 1 }, backends: [{ type: 'fs', root: join(dir.path, 'a'), name: 'a' }, { type: 'fs', root: join(dir.path, 'b'), name: 'b' }] },
    ],
    cost,
    ...extra,
  });
  const catalog = new Catalog(join(dir.path, 'catalog.db'));
  const history = new MetricsHistoryStore(catalog.db);
  const attrs = { uid: 0, gid: 0, rdev: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, target: null };
  let fileIds = 0;
  const dirOf = (path: string): number => {
    let ino = ROOT_INO;
    for (const part of path.split('/').slice(0, -1)) {
      ino = catalog.lookupIno(ino, part) ?? catalog.createInode({ ...attrs, mode: S_IFDIR | 0o755, nlink: 2, size: 0, tier: null, volume: null, dataPath: null }, ino, part);
    }
    return ino;
  };
  return {
    catalog,
    config,
    file(path, size, tier, sinceMs, cells) {
      const layout = cells && {
        version: 1, tier, fileId: `f${++fileIds}`, kind: 'striped', size, k: 1, m: 1, chunkSize: cells.cellBytes, sha256: '',
        stripes: Array.from({ length: cells.perBackend }, (_, index) => ({
          index, dataLength: cells.cellBytes,
          cells: [0, 1].map((backend) => ({ backend, key: `k${fileIds}-${index}-${backend}`, length: cells.cellBytes, crc: '0' })),
        })),
        manifest: [],
      };
      const name = path.split('/').at(-1)!;
      const ino = catalog.createInode(
        { ...attrs, mode: S_IFREG | 0o644, nlink: 1, size, tier, volume: layout ? null : 'v0', dataPath: path, layout: layout ? JSON.stringify(layout) : null },
        dirOf(path), name,
      );
      catalog.db.prepare('UPDATE inodes SET tier_since_ms = ? WHERE ino = ?').run(sinceMs, ino);
      return ino;
    },
    read(ino, timeMs, length, times = 1) {
      const i = catalog.getInode(ino)!;
      catalog.recordAccessBatch(
        Array.from({ length: times }, () => ({ timeMs, ino, path: i.dataPath ?? '', op: 'read' as const, offset: 0, length, size: i.size, count: 1 })),
        1_000_000,
      );
    },
    point(series, labels, timeMs, value, stepMs = HOUR) {
      history.add([{ series, labels: labelKey(labels), stepMs, timeMs, value }], () => false);
    },
    removal(r) {
      catalog.db
        .prepare('INSERT INTO object_removals (time_ms, ino, tier, cause, written_ms, size, objects, backend_bytes) VALUES (?, 0, ?, ?, ?, ?, ?, ?)')
        .run(r.timeMs, r.tier, r.cause, r.writtenMs, r.size, Object.keys(r.backendBytes).length, JSON.stringify(r.backendBytes));
    },
    dispose() {
      catalog.close();
      dir.remove();
    },
  };
}
