// Is the catalog file there, and can it be trusted? Asked before the catalog is opened
// for a mount or a rebuild: a catalog that is missing, empty or damaged must not be
// quietly replaced by a new filesystem while the tiers hold the old one's data, and a
// damaged one is kept aside for a person to look at, never written over.
import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** SQLite keeps these beside the catalog: they belong to it and move with it. */
const COMPANIONS = ['-wal', '-shm'] as const;

/**
 * Meta key set while a rebuild fills a catalog: one found with it was left half-made
 * (a crash, a store that stopped answering) and is treated as damaged.
 */
export const REBUILD_IN_PROGRESS = 'rebuildInProgress';

export function catalogPathOf(dataDir: string): string {
  return join(dataDir, 'catalog.db');
}

export type CatalogHealth =
  /** no catalog file */
  | { state: 'missing' }
  /** a database without a filesystem in it: no id, or nothing but the root directory */
  | { state: 'empty'; fsid: string | null }
  | { state: 'ok'; fsid: string; inodes: number }
  /** SQLite refuses it, or its quick check finds damage */
  | { state: 'corrupt'; detail: string };

const SQLITE_DAMAGE = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_IOERR_SHORT_READ']);

/**
 * Run SQLite's quick check (every page and index entry, in time linear in the size)
 * and read the filesystem id. Nothing is written but what SQLite itself does at open
 * after a crash (folding a WAL back in), so a damaged file stays as it was found.
 */
export function inspectCatalog(path: string): CatalogHealth {
  if (!existsSync(path)) return { state: 'missing' };
  let db: Database.Database | undefined;
  try {
    readThrough(path);
    db = new Database(path, { fileMustExist: true });
    const problems = (db.pragma('quick_check', { simple: false }) as { quick_check: string }[]).map((r) => r.quick_check);
    if (problems.length !== 1 || problems[0] !== 'ok') return { state: 'corrupt', detail: `quick_check: ${problems.slice(0, 5).join('; ')}` };
    const has = (table: string) => db!.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    if (!has('meta') || !has('inodes')) return { state: 'empty', fsid: null };
    const meta = (key: string) => (db!.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined) ?? null;
    if (meta(REBUILD_IN_PROGRESS) !== null) return { state: 'corrupt', detail: `a rebuild that did not finish (begun ${meta(REBUILD_IN_PROGRESS)})` };
    const fsid = meta('fsid');
    const inodes = db.prepare('SELECT count(*) FROM inodes').pluck().get() as number;
    if (fsid === null || inodes <= 1) return { state: 'empty', fsid };
    return { state: 'ok', fsid, inodes };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (SQLITE_DAMAGE.has(code) || code.startsWith('SQLITE_CORRUPT')) return { state: 'corrupt', detail: `${code}: ${(err as Error).message}` };
    throw err;
  } finally {
    db?.close();
  }
}

/**
 * Read the file once from start to end, into the page cache: the quick check reads every
 * page anyway, but in b-tree order, which a cold disk serves as random reads. At mount
 * after a reboot (a 260 MB catalog of 1M files): 4.5 s checked cold, 0.7 s read + 0.65 s
 * checked warm.
 */
function readThrough(path: string): void {
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(4 << 20);
  try {
    while (readSync(fd, chunk, 0, chunk.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

/** A file name stamp that sorts by time: 20261130T120501123Z. */
export function timeStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/**
 * Move the catalog and its WAL aside as `<catalog>.<why>-<time>` (the WAL keeps its
 * suffix, so SQLite opens the kept copy with its last transactions). Returns the new
 * path of the catalog file, or undefined if there was none.
 */
export function moveCatalogAside(path: string, why: string, date = new Date()): string | undefined {
  const aside = `${path}.${why}-${timeStamp(date)}`;
  let moved: string | undefined;
  if (existsSync(path)) {
    renameSync(path, aside);
    moved = aside;
  }
  for (const suffix of COMPANIONS) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  return moved;
}

/**
 * A WAL without its catalog file is not a catalog: SQLite would apply its pages to a
 * new, empty file and make something that is neither. Keep it aside instead.
 */
export function setOrphanWalAside(path: string): boolean {
  if (existsSync(path) || !COMPANIONS.some((s) => existsSync(path + s))) return false;
  moveCatalogAside(path, 'orphan-wal');
  return true;
}
