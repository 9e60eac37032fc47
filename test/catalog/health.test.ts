// What a mount sees of the catalog file before it opens it: missing, empty, intact or
// damaged — and a damaged one is moved aside whole, WAL included, never rewritten.
import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Catalog } from '../../src/catalog/catalog.js';
import { inspectCatalog, moveCatalogAside, REBUILD_IN_PROGRESS, setOrphanWalAside } from '../../src/catalog/health.js';
import { tempDir } from '../helpers/tmp.js';

let dir: ReturnType<typeof tempDir>;
afterEach(() => dir?.remove());

/** A catalog with a few thousand inodes (enough pages to damage one), closed. */
function catalogWithFiles(path: string): string {
  const c = new Catalog(path);
  const t = 1n;
  c.tx(() => {
    for (let i = 0; i < 3000; i++) {
      c.createInode({ mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: i, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: 'hot', volume: '/v', dataPath: `file-${i}`, target: null }, 1, `file-${i}`);
    }
  });
  const fsid = c.fsid;
  c.close();
  return fsid;
}

describe('inspectCatalog', () => {
  it('tells missing, empty (no file system in it, or the root alone) and intact apart', () => {
    dir = tempDir();
    const path = join(dir.path, 'catalog.db');
    expect(inspectCatalog(path)).toEqual({ state: 'missing' });
    writeFileSync(path, '');
    expect(inspectCatalog(path)).toEqual({ state: 'empty', fsid: null });
    const fresh = new Catalog(join(dir.path, 'fresh.db'));
    fresh.close();
    expect(inspectCatalog(join(dir.path, 'fresh.db'))).toEqual({ state: 'empty', fsid: fresh.fsid });
    const fsid = catalogWithFiles(join(dir.path, 'full.db'));
    expect(inspectCatalog(join(dir.path, 'full.db'))).toEqual({ state: 'ok', fsid, inodes: 3001 });
  });

  it.each([
    ['with a page overwritten', (p: string) => {
      const fd = openSync(p, 'r+');
      writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 4096 * Math.floor(statSync(p).size / 4096 / 2));
      closeSync(fd);
    }],
    ['cut short', (p: string) => truncateSync(p, Math.floor(statSync(p).size / 8192) * 4096)],
    ['that is not a database', (p: string) => writeFileSync(p, Buffer.alloc(8192, 7))],
  ])('a catalog %s is reported damaged and left as it was', (_what, damage) => {
    dir = tempDir();
    const path = join(dir.path, 'catalog.db');
    catalogWithFiles(path);
    damage(path);
    const bytes = readFileSync(path);
    expect(inspectCatalog(path).state).toBe('corrupt');
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('a catalog whose rebuild did not finish counts as damaged: a mount must not serve half a namespace', () => {
    dir = tempDir();
    const path = join(dir.path, 'catalog.db');
    catalogWithFiles(path);
    const c = new Catalog(path);
    c.setMeta(REBUILD_IN_PROGRESS, '2026-11-30T12:00:00.000Z');
    c.close();
    expect(inspectCatalog(path)).toEqual({ state: 'corrupt', detail: 'a rebuild that did not finish (begun 2026-11-30T12:00:00.000Z)' });
  });

  it('sets a damaged catalog aside with its WAL, and a WAL without a catalog too', () => {
    dir = tempDir();
    const path = join(dir.path, 'catalog.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    // Left open: the WAL and shared memory files exist, as after a crash.
    expect(existsSync(`${path}-wal`)).toBe(true);
    const aside = moveCatalogAside(path, 'corrupt', new Date(Date.UTC(2026, 10, 30, 12, 5, 1, 123)));
    db.close();
    expect(aside).toBe(`${path}.corrupt-20261130T120501123Z`);
    expect(readdirSync(dir.path).sort()).toEqual(['catalog.db.corrupt-20261130T120501123Z', 'catalog.db.corrupt-20261130T120501123Z-shm', 'catalog.db.corrupt-20261130T120501123Z-wal']);

    writeFileSync(`${path}-wal`, 'stale');
    expect(setOrphanWalAside(path)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(readdirSync(dir.path).filter((f) => f.includes('orphan-wal'))).toHaveLength(1);
  });
});
