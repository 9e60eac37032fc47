// The catalog: the one source of truth for the namespace. Every SQL statement of
// tierfs lives in this module, named for what it does; callers never see SQL.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { closeSync, fsync, openSync } from 'node:fs';
import { Checkpointer } from './checkpointer.js';
import { GroupCommit } from './group-commit.js';
import { moduleLogger } from '../log.js';
import { MIGRATIONS } from './migrations.js';

const log = moduleLogger('catalog');

export const ROOT_INO = 1;

/** A rename by names: what Vfs.rename was asked. */
export interface PendingRename {
  parent: number;
  name: string;
  newParent: number;
  newName: string;
  /**
   * What it moves on the tiers: each volume holding the backing file or directory, with
   * its identity there (backingIdentity). Undefined in rows written before it was recorded.
   */
  backing?: BackingIds;
  /** RENAME_EXCHANGE, or 0 */
  flags?: number;
  /** An exchange's other half: what the new name's entry moves to the old name. */
  exchanged?: BackingIds;
}

export type BackingIds = Record<string, string>;

export interface Inode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  rdev: number;
  size: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  generation: number;
  tier: string | null;
  volume: string | null;
  dataPath: string | null;
  target: string | null;
  state: string;
  /** JSON layout of a file on an object tier */
  layout: string | null;
  /** tier this file or directory (and what is below it) is pinned to */
  pin: string | null;
  /** SHA-256 of the bytes at this generation, once a move has read them all */
  sha256: string | null;
  /** 512-byte blocks the backing file takes (holes take none); null: not measured */
  blocks: number | null;
}

export type NewInode = Omit<Inode, 'ino' | 'generation' | 'state' | 'layout' | 'pin' | 'sha256' | 'blocks'> & { state?: string; layout?: string | null };

export type MoveState = 'intent' | 'committed' | 'done' | 'aborted';

export interface MoveRecord {
  id: number;
  ino: number;
  path: string;
  fromTier: string;
  toTier: string;
  generation: number;
  state: MoveState;
  source: string;
  target: string | null;
  requestedBy: string;
  bytes: number;
  verified: boolean;
  error: string | null;
  startedMs: number;
  /** when the move committed or aborted (null while under way); its old copy is deleted after */
  finishedMs: number | null;
}

/** Where a file's bytes are: switched in one transaction when a move commits. */
export interface DataLocation {
  tier: string;
  volume: string | null;
  layout: string | null;
}

/** One file as the classifier sees it (times in ms). */
export interface ClassificationRow {
  ino: number;
  path: string;
  size: number;
  uid: number;
  tier: string;
  mtimeMs: number;
  lastAccessMs: number;
  heat: number;
  heatMs: number;
  tierSinceMs: number;
  class: string | null;
  pin: string | null;
}

/** A move waiting in the queue or running, with what it does to the usage of two tiers. */
export interface PendingMove {
  id: number;
  ino: number;
  /** the tier the file is on */
  from: string;
  to: string;
  size: number;
  /** heat decayed to now */
  heat: number;
  priority: number;
  requestedBy: string;
  /** the move protocol has journaled its intent and not finished: it can no longer be taken back */
  running: boolean;
}

export interface QueueEntry {
  id: number;
  ino: number;
  toTier: string;
  priority: number;
  requestedBy: string;
  reason: string;
  enqueuedMs: number;
  notBeforeMs: number;
  attempts: number;
  lastError: string | null;
}

export interface StoredDecision {
  timeMs: number;
  target: string | null;
  rule: string;
  reason: string;
  inputs: string;
}

export interface GarbageRecord {
  id: number;
  ino: number;
  tier: string;
  location: string;
}

export interface DirRow extends Inode {
  name: string;
}

/** A directory entry as reconcile compares it with its backing file. */
export interface ReconcileRow {
  name: string;
  ino: number;
  mode: number;
  tier: string | null;
  volume: string | null;
  dataPath: string | null;
  state: string;
  size: number;
  blocks: number | null;
  mtimeMs: number;
}

/** What the kernel is told of a file's attributes (stat), and nothing more. */
export type InodeAttrs = Pick<Inode, 'ino' | 'mode' | 'nlink' | 'uid' | 'gid' | 'rdev' | 'size' | 'blocks' | 'atimeNs' | 'mtimeNs' | 'ctimeNs'>;

/** Whether an inode has extended attributes stored (the binding answers for those that have none). */
export interface XattrsStored {
  storedXattrs: boolean;
}

/**
 * A directory entry as readdirplus gives it — position, name, attributes and whether it
 * has xattrs stored — as an array in this column order, not an object: a listing of a
 * large tree reads millions (what find and ls -l cost the daemon is mostly this).
 * Times in seconds and nanoseconds, so that no column is a BigInt; blocks null when
 * not measured.
 */
export type DirAttrsTuple = [
  cookie: number,
  name: string,
  ino: number,
  mode: number,
  nlink: number,
  uid: number,
  gid: number,
  rdev: number,
  size: number,
  blocks: number | null,
  atimeS: number,
  atimeNsec: number,
  mtimeS: number,
  mtimeNsec: number,
  ctimeS: number,
  ctimeNsec: number,
  storedXattrs: 0 | 1,
];

/**
 * Entries of a directory without attributes, as one string: `cookie,ino,type,name` each
 * (type: the mode's S_IFMT bits), '/' between them (a name holds no '/'); `count` entries.
 * The FUSE binding reads it.
 */
export interface JoinedNames {
  count: number;
  joined: string;
}

/** One entry of JoinedNames, as listDirNames's query makes them (for entries it does not read: '.' and '..'). */
export function joinedName(cookie: number, ino: number, mode: number, name: string): string {
  return `${cookie},${ino},${mode & 0o170000},${name}`; // the type: S_IFMT
}

export interface AccessStats {
  opens: number;
  reads: number;
  readBytes: number;
  writes: number;
  writeBytes: number;
  firstMs: number;
  lastMs: number;
}

export interface AccessEvent {
  timeMs: number;
  ino: number;
  path: string;
  op: 'open' | 'read' | 'write';
  offset: number;
  length: number;
  size: number;
  /** how many operations this event stands for (a native batch folds many reads into one event) */
  count: number;
}

export interface TraceRow {
  timeMs: number;
  path: string;
  op: string;
  offset: number;
  length: number;
  size: number;
}

/**
 * The columns an Inode is read from, in the order toInode takes them (`i` is the inodes
 * table). Rows are read as arrays: an object per row, with its 20 properties looked up by
 * name, cost 7 of a lookup's 12 µs, the array 2–5 µs in all (a throwaway script). A
 * statement that reads more puts its columns after these (INODE_WIDTH on).
 */
const INODE_COLUMN_NAMES = [
  'ino', 'mode', 'uid', 'gid', 'nlink', 'rdev', 'size', 'atime_ns', 'mtime_ns', 'ctime_ns', 'generation',
  'tier', 'volume', 'data_path', 'target', 'state', 'layout', 'pin', 'sha256', 'blocks',
];
const INODE_COLUMNS = INODE_COLUMN_NAMES.map((c) => `i.${c}`).join(', ');
const INODE_WIDTH = INODE_COLUMN_NAMES.length;

/** An Inode from a row of INODE_COLUMNS read raw, with safe integers (ns times need BigInt). */
function toInode(r: unknown[]): Inode {
  return {
    ino: Number(r[0]),
    mode: Number(r[1]),
    uid: Number(r[2]),
    gid: Number(r[3]),
    nlink: Number(r[4]),
    rdev: Number(r[5]),
    size: Number(r[6]),
    atimeNs: r[7] as bigint,
    mtimeNs: r[8] as bigint,
    ctimeNs: r[9] as bigint,
    generation: Number(r[10]),
    tier: r[11] as string | null,
    volume: r[12] as string | null,
    dataPath: r[13] as string | null,
    target: r[14] as string | null,
    state: r[15] as string,
    layout: r[16] as string | null,
    pin: r[17] as string | null,
    sha256: r[18] as string | null,
    blocks: r[19] === null ? null : Number(r[19]),
  };
}

/** The most of the catalog file mapped by Catalog.mapped (SQLite caps it at its own limit, 2 GB by default). */
const MAP_BYTES = 2 ** 31;

/** Whether inode i has extended attributes stored: one seek into the xattrs key. */
const STORED_XATTRS = 'EXISTS (SELECT 1 FROM xattrs x WHERE x.ino = i.ino)';

const CLASSIFY_SELECT = `SELECT i.ino, coalesce(i.data_path, '') AS path, i.size, i.uid, i.tier, i.mtime_ns / 1000000 AS mtimeMs,
    coalesce(a.last_ms, i.tier_since_ms) AS lastAccessMs, coalesce(a.heat, 0) AS heat, coalesce(a.heat_ms, 0) AS heatMs,
    i.tier_since_ms AS tierSinceMs, i.class, i.pin
  FROM inodes i LEFT JOIN access_stats a ON a.ino = i.ino
  WHERE i.tier IS NOT NULL AND i.nlink > 0 AND (i.mode & 61440) = 32768`;

const QUEUE_COLUMNS = `id, ino, to_tier AS toTier, priority, requested_by AS requestedBy, reason, enqueued_ms AS enqueuedMs,
  not_before_ms AS notBeforeMs, attempts, last_error AS lastError`;

/** Regular files whose bytes are on a local tier. */
const ON_LOCAL = 'tier IS NOT NULL AND data_path IS NOT NULL AND (mode & 61440) = 32768';

const MOVE_COLUMNS = `id, ino, path, from_tier AS fromTier, to_tier AS toTier, generation, state, source, target,
  requested_by AS requestedBy, bytes, verified, error, started_ms AS startedMs, finished_ms AS finishedMs`;

function toMove(r: MoveRecord & { verified: unknown }): MoveRecord {
  return { ...r, verified: Boolean(r.verified) };
}

/** A batch's accesses of one file, folded: what access_stats adds in one upsert. */
export interface FileAccesses {
  ino: number;
  firstMs: number;
  /** the last access */
  timeMs: number;
  opens: number;
  reads: number;
  readBytes: number;
  writes: number;
  writeBytes: number;
  /** the opens' heat as of timeMs */
  heat: number;
}

/**
 * A batch's events folded per file, in the order files first appear: one upsert per file
 * instead of one per event (a file read in a loop is thousands of events a second). The
 * heat folds as the upsert decays it, event after event, so the result is the same.
 */
export class AccessFold {
  private readonly byIno = new Map<number, FileAccesses>();
  /** records of an earlier batch, taken again after clear() (the simulator folds millions of file-hours) */
  private readonly spare: FileAccesses[] = [];

  constructor(private readonly halfLifeMs: number) {}

  add(ino: number, timeMs: number, op: AccessEvent['op'], length: number, count: number): void {
    const opens = op === 'open' ? count : 0;
    let a = this.byIno.get(ino);
    if (!a) {
      a = this.spare.pop();
      if (!a) a = { ino, firstMs: timeMs, timeMs, opens: 0, reads: 0, readBytes: 0, writes: 0, writeBytes: 0, heat: 0 };
      else {
        a.ino = ino;
        a.firstMs = a.timeMs = timeMs;
        a.opens = a.reads = a.readBytes = a.writes = a.writeBytes = a.heat = 0;
      }
      this.byIno.set(ino, a);
    }
    a.heat = a.heat * 2 ** (-Math.max(0, timeMs - a.timeMs) / this.halfLifeMs) + opens;
    a.firstMs = Math.min(a.firstMs, timeMs);
    a.timeMs = Math.max(a.timeMs, timeMs);
    a.opens += opens;
    if (op === 'read') (a.reads += count), (a.readBytes += length);
    if (op === 'write') (a.writes += count), (a.writeBytes += length);
  }

  get size(): number {
    return this.byIno.size;
  }

  files(): IterableIterator<FileAccesses> {
    return this.byIno.values();
  }

  /** Empty, for the next batch (what files() gave is reused: read it before). */
  clear(): void {
    for (const a of this.byIno.values()) this.spare.push(a);
    this.byIno.clear();
  }
}

export class Catalog {
  readonly db: Database.Database;
  /** the requests of one turn of the event loop commit together (group-commit.ts) */
  readonly group: GroupCommit;
  /** this filesystem's id: the first part of every object key, in every manifest */
  fsid: string;
  private readonly s;
  /** the clock of the times this module writes itself (the policy simulator runs a catalog in simulated time) */
  private readonly now: () => number;
  /** WAL checkpoints on a worker thread (the daemon's catalog), or none: SQLite's own in the commits */
  private readonly checkpointer: Checkpointer | undefined;
  /**
   * Called, before the change is made, whenever the attributes a stat of an inode shows
   * (its mode, owner, size, blocks, link count or times) change: the binding drops what it
   * kept of them (native/fuse/file-attrs.h). A new method that writes one of those columns
   * must call it too, or stats answered by the binding go stale.
   */
  onAttrsChanged: (ino: number) => void = () => {};

  /**
   * Called whenever a directory's names change (an entry added, removed, moved or pointed
   * at another inode): what was read of its listing ahead of a walk is stale
   * (vfs/listing-ahead.ts). A new method that writes dirents must call it too.
   */
  onNamesChanged: (dir: number) => void = () => {};

  /**
   * opts.fsid: the id a new catalog takes (a rebuild of a filesystem whose catalog was lost);
   * default a new one. opts.cacheBytes: memory for SQLite's page cache (default better-sqlite3's, 16 MB).
   * opts.commitDelayMs: how long a group of changes may stay open (group-commit.ts; default 0).
   * opts.checkpointInBackground: WAL checkpoints by a worker thread, not in this thread's
   * commits (checkpointer.ts; the daemon's catalog).
   */
  constructor(
    path: string,
    opts: { fsid?: string; now?: () => number; cacheBytes?: number; commitDelayMs?: number; checkpointInBackground?: boolean } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.db = new Database(path);
    this.inTx = this.db.transaction((fn: () => unknown) => fn());
    this.group = new GroupCommit(this.db, opts.commitDelayMs);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a power cut may lose the last transactions but never corrupts.
    this.db.pragma('synchronous = NORMAL');
    // Pages kept in memory (KiB): a lookup whose pages are there reads nothing.
    if (opts.cacheBytes) this.db.pragma(`cache_size = -${Math.max(1, Math.round(opts.cacheBytes / 1024))}`);
    this.db.pragma('foreign_keys = OFF');
    // Statement journals in memory: a statement that fires triggers, or runs in a savepoint
    // (a transaction nested in the open group), saves the pages it changes first, and with
    // temporary files (SQLite's default here) that is a pwrite per page once the journal
    // has spilled to disk: in one long transaction, 13 per insert of an inode, 31 µs an
    // insert against 7 µs in memory (a throwaway script: `strace -c` counted 67,169 pwrite
    // calls for 5,000 inserts, 513 with this). In the daemon's short groups it spills less:
    // 2,000 files created, renamed and unlinked through the mount made 91,789 pwrite calls
    // before, 50,917 with this (the WAL's), and its main thread's CPU moved within noise.
    // Sorts and temporary tables go to memory too: queries with a LIMIT sort only what they
    // return, and the largest sort, of every name, is an old catalog's migration (tens of
    // MiB at 1,000,000 files, once).
    this.db.pragma('temp_store = MEMORY');
    this.migrate();
    if (opts.checkpointInBackground) {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer(path, (err) => {
        log.warn({ err }, 'the checkpoint thread stopped: the catalog checkpoints in its commits again');
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      });
    }
    this.s = this.prepare();
    this.fsid = this.ensureMeta('fsid', opts.fsid ?? randomUUID());
    this.ensureRoot();
  }

  /** A new catalog starts with the root directory, owned by root, mode 0755. */
  private ensureRoot(): void {
    if (this.getInode(ROOT_INO)) return;
    const t = BigInt(Date.now()) * 1_000_000n;
    this.createInode(
      { mode: 0o040755, uid: 0, gid: 0, nlink: 2, rdev: 0, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: null, volume: null, dataPath: null, target: null },
      undefined,
      undefined,
      ROOT_INO,
    );
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`catalog schema version ${version} is newer than this tierfs (${MIGRATIONS.length}); upgrade tierfs`);
    }
    this.db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
  }

  /**
   * fn with the catalog file mapped into memory (SQLite's mmap): a walk over every row, as
   * reconciliation at mount makes, then reads no page through read(2) into SQLite's cache
   * — about a second of a 1M-file catalog's first walk. Only meanwhile: a disk error on a
   * mapped page is a SIGBUS, not an error SQLite can report, so a serving mount reads.
   */
  mapped<T>(fn: () => T): T {
    this.db.pragma(`mmap_size = ${MAP_BYTES}`);
    try {
      return fn();
    } finally {
      this.db.pragma('mmap_size = 0');
    }
  }

  private prepare() {
    const d = this.db;
    const big = <T extends Database.Statement>(st: T) => st.safeIntegers(true) as T;
    // Rows of INODE_COLUMNS (and what follows them) as arrays, for toInode.
    const inodeRows = <T extends Database.Statement>(st: T) => st.safeIntegers(true).raw(true) as T;
    return {
      getMeta: d.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: d.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      deleteMeta: d.prepare('DELETE FROM meta WHERE key = ?'),
      dirNames: d.prepare('SELECT name FROM dirents WHERE parent = ? LIMIT ?').pluck(),
      beginRename: d.prepare('INSERT INTO renames (id, parent, name, new_parent, new_name, backing, flags, exchanged) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      lastRenameId: d.prepare('SELECT coalesce(max(id), 0) FROM renames').pluck(),
      endRename: d.prepare('DELETE FROM renames WHERE id = ?'),
      reserveInos: d.prepare("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'inodes' RETURNING seq").pluck(),
      getInode: inodeRows(d.prepare(`SELECT ${INODE_COLUMNS} FROM inodes i WHERE i.ino = ?`)),
      lookup: inodeRows(d.prepare(`SELECT ${INODE_COLUMNS} FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?`)),
      lookupEntry: inodeRows(
        d.prepare(`SELECT ${INODE_COLUMNS}, ${STORED_XATTRS} FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?`),
      ),
      lookupIno: d.prepare('SELECT ino FROM dirents WHERE parent = ? AND name = ?').pluck(),
      listDir: inodeRows(d.prepare(`SELECT ${INODE_COLUMNS}, d.name FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? ORDER BY d.name`)),
      // names, inode numbers and types only (find over a tree asks for nothing more; no inode
      // is read), each entry one string made by SQLite: an array per entry cost JavaScript
      // twice the query. (The shift is cast: better-sqlite3 binds numbers as reals.)
      listDirNames: d.prepare(
        `SELECT (cookie + CAST(? AS INTEGER)) || ',' || ino || ',' || type || ',' || name
         FROM dirents WHERE parent = ? AND cookie > ? AND name IS NOT ? ORDER BY cookie LIMIT ?`,
      ).pluck(),
      reconcileListing: d.prepare(
        `SELECT d.name, i.ino, i.mode, i.tier, i.volume, i.data_path AS dataPath, i.state, i.size, i.blocks, i.mtime_ns / 1e6 AS mtimeMs
         FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ?`,
      ).raw(true),
      // readdirplus: the columns of DirAttrsTuple
      listDirAttrs: d.prepare(
        `SELECT d.cookie, d.name, i.ino, i.mode, i.nlink, i.uid, i.gid, i.rdev, i.size, i.blocks,
                i.atime_ns / 1000000000 AS a_s, i.atime_ns % 1000000000 AS a_n, i.mtime_ns / 1000000000 AS m_s,
                i.mtime_ns % 1000000000 AS m_n, i.ctime_ns / 1000000000 AS c_s, i.ctime_ns % 1000000000 AS c_n,
                ${STORED_XATTRS} AS x
         FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.cookie > ? ORDER BY d.cookie LIMIT ?`,
      ).raw(true),
      hasChildren: d.prepare('SELECT 1 FROM dirents WHERE parent = ? LIMIT 1').pluck(),
      nextSubdir: d.prepare(`SELECT ino FROM dirents WHERE parent = ? AND cookie > ? AND type = ${0o040000} ORDER BY cookie LIMIT 1`).pluck(),
      nameOf: d.prepare('SELECT parent, name, cookie FROM dirents WHERE ino = ? LIMIT 1'),
      // Positional: named parameters cost an object's 17 properties looked up by name
      // (createInode 24–27 → 13 µs with these and the entry's type given; a throwaway
      // script, with a test run beside it).
      insertInode: d.prepare(
        `INSERT INTO inodes (ino, mode, uid, gid, nlink, rdev, size, atime_ns, mtime_ns, ctime_ns, tier, volume, data_path, target, state, layout, tier_since_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertEntry: d.prepare('INSERT INTO dirents (parent, name, ino, type) VALUES (?, ?, ?, ?)'),
      // the entry's type from its inode (given twice: better-sqlite3 binds positional values only)
      insertDirent: d.prepare('INSERT INTO dirents (parent, name, ino, type) VALUES (?, ?, ?, (SELECT mode & 61440 FROM inodes WHERE ino = ?))'),
      deleteDirent: d.prepare('DELETE FROM dirents WHERE parent = ? AND name = ?'),
      moveDirent: d.prepare('UPDATE dirents SET parent = ?, name = ? WHERE parent = ? AND name = ?'),
      pointDirent: d.prepare('UPDATE dirents SET ino = ?, type = (SELECT mode & 61440 FROM inodes WHERE ino = ?) WHERE parent = ? AND name = ?'),
      updateAttrs: d.prepare(
        `UPDATE inodes SET mode = @mode, uid = @uid, gid = @gid, size = @size, atime_ns = @atimeNs, mtime_ns = @mtimeNs,
         ctime_ns = @ctimeNs WHERE ino = @ino`,
      ),
      updateData: d.prepare(
        // A change of the data makes the recorded hash stale.
        `UPDATE inodes SET size = @size, mtime_ns = @mtimeNs, ctime_ns = @ctimeNs, generation = generation + @changed,
           sha256 = CASE WHEN @changed = 0 THEN sha256 END WHERE ino = @ino`,
      ),
      setNlink: d.prepare('UPDATE inodes SET nlink = ?, ctime_ns = ? WHERE ino = ?'),
      setBlocks: d.prepare('UPDATE inodes SET blocks = ? WHERE ino = ?'),
      setCtime: d.prepare('UPDATE inodes SET ctime_ns = ? WHERE ino = ?'),
      setMtimeCtime: d.prepare('UPDATE inodes SET mtime_ns = ?, ctime_ns = ? WHERE ino = ?'),
      setDataPath: d.prepare('UPDATE inodes SET data_path = ? WHERE ino = ?'),
      renameDataPaths: d.prepare(
        // (substr and length count characters; JavaScript's length counts UTF-16 units.)
        `UPDATE inodes SET data_path = ? || substr(data_path, length(?) + 1) WHERE data_path >= ? AND data_path < ?`,
      ),
      setState: d.prepare('UPDATE inodes SET state = ? WHERE ino = ?'),
      deleteInode: d.prepare('DELETE FROM inodes WHERE ino = ?'),
      deleteXattrsOf: d.prepare('DELETE FROM xattrs WHERE ino = ?'),
      deleteStatsOf: d.prepare('DELETE FROM access_stats WHERE ino = ?'),
      orphans: d.prepare('SELECT ino FROM inodes WHERE nlink = 0').pluck(),
      filesOnLocalCount: d.prepare(`SELECT count(*) FROM inodes WHERE ${ON_LOCAL}`).pluck(),
      filesOnLocal: d.prepare(`SELECT ino, tier, volume, data_path AS dataPath, state FROM inodes WHERE ${ON_LOCAL}`),
      filesWithLayout: inodeRows(d.prepare(`SELECT ${INODE_COLUMNS} FROM inodes i WHERE i.layout IS NOT NULL AND i.nlink > 0 ORDER BY i.ino`)),
      byDataPath: inodeRows(d.prepare(`SELECT ${INODE_COLUMNS} FROM inodes i WHERE i.data_path = ? AND i.nlink > 0 LIMIT 1`)),
      usageByTier: d.prepare('SELECT tier, files, bytes FROM tier_usage'),
      inodeCount: d.prepare('SELECT n FROM inode_count').pluck(),
      getXattr: d.prepare('SELECT value FROM xattrs WHERE ino = ? AND name = ?').pluck(),
      hasXattrs: d.prepare('SELECT EXISTS (SELECT 1 FROM xattrs WHERE ino = ?)').pluck(),
      setXattr: d.prepare('INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?) ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value'),
      listXattrs: d.prepare('SELECT name FROM xattrs WHERE ino = ? ORDER BY name').pluck(),
      removeXattr: d.prepare('DELETE FROM xattrs WHERE ino = ? AND name = ?'),
      addConflict: d.prepare(
        `INSERT INTO conflicts (time_ms, path, kind, detail) VALUES (?, ?, ?, ?)
         ON CONFLICT (path, kind) DO UPDATE SET time_ms = excluded.time_ms, detail = excluded.detail`,
      ),
      clearConflict: d.prepare('DELETE FROM conflicts WHERE path = ? AND kind = ?'),
      listConflicts: d.prepare('SELECT time_ms AS timeMs, path, kind, detail FROM conflicts ORDER BY path'),
      // heat decays by half every halfLifeMs; each open counts 1 (reads and writes of an
      // open file are the same use, and counting them would favour small read sizes).
      // Parameters by position (a value used twice is bound twice): better-sqlite3 looks
      // named ones up in the object one by one, 12–18 µs an upsert against 6–10 (a
      // throwaway comparison); each flush makes an upsert per file and a log row per access.
      addAccess: d.prepare(
        `INSERT INTO access_stats (ino, opens, reads, read_bytes, writes, write_bytes, first_ms, last_ms, heat, heat_ms, cool_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? + ? * log2(?))
         ON CONFLICT (ino) DO UPDATE SET opens = opens + excluded.opens, reads = reads + excluded.reads,
           read_bytes = read_bytes + excluded.read_bytes, writes = writes + excluded.writes,
           write_bytes = write_bytes + excluded.write_bytes, last_ms = max(last_ms, excluded.last_ms),
           heat = heat * pow(2, -max(0, excluded.heat_ms - heat_ms) / ?) + excluded.heat,
           heat_ms = max(heat_ms, excluded.heat_ms),
           cool_ms = max(heat_ms, excluded.heat_ms)
             + ? * log2(heat * pow(2, -max(0, excluded.heat_ms - heat_ms) / ?) + excluded.heat)`,
      ),
      // cool_ms: when heat decays to 1 (log2 of 0 is NULL: a file never opened crosses nothing)
      recomputeCool: d.prepare('UPDATE access_stats SET cool_ms = heat_ms + @halfLifeMs * log2(heat)'),
      // a range of inodes_tier_cool per tier (the tiers files are on: tier_usage)
      cooledBetween: d.prepare(
        'SELECT ino FROM inodes WHERE tier IN (SELECT tier FROM tier_usage) AND cool_ms >= @from AND cool_ms < @to',
      ).pluck(),
      markDirty: d.prepare('INSERT OR IGNORE INTO dirty (ino) VALUES (?)'),
      logAccess: d.prepare('INSERT INTO access_log (time_ms, ino, path, op, offset, length, size) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      trimAccessLog: d.prepare('DELETE FROM access_log WHERE id <= (SELECT max(id) FROM access_log) - ?'),
      getAccess: d.prepare(
        `SELECT opens, reads, read_bytes AS readBytes, writes, write_bytes AS writeBytes, first_ms AS firstMs, last_ms AS lastMs
         FROM access_stats WHERE ino = ?`,
      ),
      namesOf: d.prepare('SELECT parent, name FROM dirents WHERE ino = ? ORDER BY parent, name'),
      setLocation: d.prepare('UPDATE inodes SET tier = @tier, volume = @volume, layout = @layout, tier_since_ms = @nowMs WHERE ino = @ino'),
      setPin: d.prepare('UPDATE inodes SET pin = ? WHERE ino = ?'),
      markSubtreeDirty: d.prepare(
        `WITH RECURSIVE below(ino) AS (SELECT ? UNION SELECT d.ino FROM dirents d JOIN below b ON d.parent = b.ino)
         INSERT OR IGNORE INTO dirty (ino) SELECT ino FROM below`,
      ),
      recordHash: d.prepare('UPDATE inodes SET sha256 = ? WHERE ino = ? AND generation = ?'),
      journalIntent: d.prepare(
        `INSERT INTO moves (ino, path, from_tier, to_tier, generation, state, source, target, requested_by, started_ms)
         VALUES (@ino, @path, @fromTier, @toTier, @generation, 'intent', @source, @target, @requestedBy, @startedMs)`,
      ),
      journalState: d.prepare(
        // A move finishes when it commits (the file is on its new tier) or aborts; deleting
        // the old copy afterwards ('done') keeps that time.
        `UPDATE moves SET state = @state, bytes = @bytes, verified = @verified, error = @error, target = coalesce(@target, target),
           finished_ms = CASE WHEN @state = 'done' THEN coalesce(finished_ms, @finishedMs) ELSE @finishedMs END WHERE id = @id`,
      ),
      unfinishedMoves: d.prepare(`SELECT ${MOVE_COLUMNS} FROM moves WHERE state IN ('intent', 'committed') ORDER BY id`),
      getMove: d.prepare(`SELECT ${MOVE_COLUMNS} FROM moves WHERE id = ?`),
      recentMoves: d.prepare(`SELECT ${MOVE_COLUMNS} FROM moves ORDER BY id DESC LIMIT ?`),
      addGarbage: d.prepare('INSERT INTO garbage (ino, tier, location, added_ms) VALUES (?, ?, ?, ?)'),
      listGarbage: d.prepare('SELECT id, ino, tier, location FROM garbage ORDER BY id'),
      removeGarbage: d.prepare('DELETE FROM garbage WHERE id = ?'),
      classifyPage: d.prepare(`${CLASSIFY_SELECT} AND i.ino > ? ORDER BY i.ino LIMIT ?`),
      classifyOne: d.prepare(`${CLASSIFY_SELECT} AND i.ino = ?`),
      dirty: d.prepare('SELECT ino FROM dirty').pluck(),
      clearDirty: d.prepare('DELETE FROM dirty'),
      // last use in the window: opened then, or (never opened) arrived then
      idleCrossed: d.prepare(
        `SELECT ino FROM access_stats WHERE last_ms >= @from AND last_ms < @to
         UNION SELECT i.ino FROM inodes i WHERE i.tier IS NOT NULL AND i.tier_since_ms >= @from AND i.tier_since_ms < @to
           AND NOT EXISTS (SELECT 1 FROM access_stats a WHERE a.ino = i.ino)`,
      ).pluck(),
      arrivedBetween: d.prepare(
        `SELECT i.ino, i.tier, i.size, coalesce(a.heat * pow(2, -max(0, @now - a.heat_ms) / @halfLifeMs), 0) AS heat
         FROM inodes i LEFT JOIN access_stats a ON a.ino = i.ino
         WHERE i.tier IS NOT NULL AND i.tier_since_ms >= @from AND i.tier_since_ms < @to`,
      ),
      crossedAge: d.prepare('SELECT ino FROM inodes WHERE tier IS NOT NULL AND mtime_ns >= ? AND mtime_ns < ?').pluck(),
      pinned: d.prepare('SELECT ino, pin FROM inodes WHERE pin IS NOT NULL'),
      saveDecision: d.prepare(
        `INSERT INTO decisions (ino, time_ms, target, rule, reason, inputs) VALUES (@ino, @timeMs, @target, @rule, @reason, @inputs)
         ON CONFLICT (ino) DO UPDATE SET time_ms = excluded.time_ms, target = excluded.target, rule = excluded.rule,
           reason = excluded.reason, inputs = excluded.inputs`,
      ),
      getDecision: d.prepare('SELECT time_ms AS timeMs, target, rule, reason, inputs FROM decisions WHERE ino = ?'),
      // Coldest first: heat, then the longest idle, then the largest (one move frees the
      // most), then ino so that two calls agree on the order of equals.
      coldest: d.prepare(
        `SELECT i.ino, coalesce(i.data_path, '') AS path, i.size, i.uid, i.tier, i.mtime_ns / 1000000 AS mtimeMs,
                coalesce(a.last_ms, i.tier_since_ms) AS lastAccessMs,
                coalesce(a.heat * pow(2, -max(0, @now - a.heat_ms) / @halfLifeMs), 0) AS heat, @now AS heatMs,
                i.tier_since_ms AS tierSinceMs, i.class, i.pin
         FROM inodes i INDEXED BY inodes_tier_cool LEFT JOIN access_stats a ON a.ino = i.ino
         WHERE i.tier = @tier AND i.nlink > 0 AND (i.mode & 61440) = 32768
         ORDER BY i.cool_ms ASC, lastAccessMs ASC, i.size DESC, i.ino ASC LIMIT @limit`,
      // i.cool_ms orders by heat now (see migration 14): the index gives the order, and
      // only files of equal heat (never opened, mostly) are sorted among themselves.
      ),
      pendingMoves: d.prepare(
        `SELECT q.id, q.ino, i.tier AS "from", q.to_tier AS "to", i.size,
                coalesce(a.heat * pow(2, -max(0, @now - a.heat_ms) / @halfLifeMs), 0) AS heat,
                q.priority, q.requested_by AS requestedBy,
                EXISTS (SELECT 1 FROM moves m WHERE m.ino = q.ino AND m.state = 'intent') AS running
         FROM move_queue q CROSS JOIN inodes i ON i.ino = q.ino LEFT JOIN access_stats a ON a.ino = q.ino
         WHERE i.tier IS NOT NULL AND i.nlink > 0 AND i.tier <> q.to_tier`,
      // CROSS JOIN keeps the queue the outer loop: left to itself, SQLite walked every
      // file (by inodes_tier_since) twice a pass to find the few in the queue.
      ),
      enqueue: d.prepare(
        `INSERT INTO move_queue (ino, to_tier, priority, requested_by, reason, enqueued_ms)
         VALUES (@ino, @toTier, @priority, @requestedBy, @reason, @nowMs)
         ON CONFLICT (ino) DO UPDATE SET to_tier = excluded.to_tier, priority = excluded.priority,
           requested_by = excluded.requested_by, reason = excluded.reason, not_before_ms = 0
         WHERE excluded.priority <= move_queue.priority
         RETURNING id`,
      ),
      // In the order asked for within a priority: a move that waited (deferred) keeps its
      // place, so a tier's relief still runs coldest first.
      runnable: d.prepare(
        `SELECT ${QUEUE_COLUMNS} FROM move_queue WHERE (priority, id) > (@priority, @id) AND not_before_ms <= @nowMs
         ORDER BY priority, id LIMIT @limit`,
      ),
      queuedOf: d.prepare(`SELECT ${QUEUE_COLUMNS} FROM move_queue WHERE ino = ?`),
      queueRemoveIf: d.prepare('DELETE FROM move_queue WHERE id = ? AND to_tier = ? AND priority = ?'),
      queued: d.prepare(`SELECT ${QUEUE_COLUMNS} FROM move_queue ORDER BY priority, not_before_ms, id LIMIT ?`),
      queueLength: d.prepare('SELECT count(*) FROM move_queue').pluck(),
      queueRemove: d.prepare('DELETE FROM move_queue WHERE id = ?'),
      queueRemoveAuto: d.prepare("DELETE FROM move_queue WHERE ino = ? AND priority > 0 AND requested_by NOT LIKE 'watermark:%'"),
      queueDefer: d.prepare('UPDATE move_queue SET not_before_ms = ?, attempts = attempts + 1, last_error = ? WHERE id = ?'),
      queueDueNow: d.prepare('UPDATE move_queue SET not_before_ms = 0 WHERE ino = ? AND not_before_ms > 0'),
      setClass: d.prepare('UPDATE inodes SET class = ? WHERE ino = ?'),
      tracePage: d.prepare(
        'SELECT id, time_ms AS timeMs, path, op, offset, length, size FROM access_log WHERE id > ? AND id <= ? AND time_ms >= ? ORDER BY id LIMIT ?',
      ),
      lastAccessId: d.prepare('SELECT coalesce(max(id), 0) FROM access_log').pluck(),
      changeCount: d.prepare('SELECT total_changes()').pluck(),
      pendingManifestUpdates: d.prepare('SELECT ino, seq FROM manifest_updates ORDER BY ino LIMIT ?'),
      manifestUpdateDone: d.prepare('DELETE FROM manifest_updates WHERE ino = ? AND seq = ?'),
      xattrsOf: d.prepare('SELECT name, value FROM xattrs WHERE ino = ? ORDER BY name'),
      maxIno: d.prepare('SELECT coalesce(max(ino), 0) FROM inodes').pluck(),
      missingFiles: d.prepare("SELECT coalesce(data_path, '') FROM inodes WHERE state = 'missing' AND nlink > 0 ORDER BY data_path").pluck(),
      settleRestoredMoves: d.prepare(
        `UPDATE moves SET state = 'aborted', finished_ms = @nowMs,
           error = 'catalog restored from a backup taken during this move: nothing undone (the tiers decide where the file is)'
         WHERE state IN ('intent', 'committed')`,
      ),
      dropRestoredLocalGarbage: d.prepare("DELETE FROM garbage WHERE json_extract(location, '$.kind') = 'local'"),
    };
  }

  private ensureMeta(key: string, fallback: string): string {
    const v = this.s.getMeta.get(key) as string | undefined;
    if (v !== undefined) return v;
    this.s.setMeta.run(key, fallback);
    return fallback;
  }

  /** A value kept with the catalog (the last recovery's report, …); undefined if never set. */
  getMeta(key: string): string | undefined {
    return this.s.getMeta.get(key) as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }

  deleteMeta(key: string): void {
    this.s.deleteMeta.run(key);
  }

  /**
   * Everything committed so far, on disk (an fsync of a directory asks it): the open group
   * committed, then the WAL synced — synchronous NORMAL syncs it only at checkpoints, and a
   * power cut would take the commits since back.
   */
  async syncLog(): Promise<void> {
    this.group.commit();
    let fd: number;
    try {
      fd = openSync(`${this.db.name}-wal`, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // checkpointed and gone: the database file was synced
      throw err;
    }
    try {
      await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
    } finally {
      closeSync(fd);
    }
  }

  /** Rows changed through this connection since it opened: unchanged means nothing to back up. */
  changeCount(): number {
    return this.s.changeCount.get() as number;
  }

  maxIno(): number {
    return this.s.maxIno.get() as number;
  }

  /**
   * A consistent copy of the catalog in a new file, taken online with SQLite's backup
   * API a few pages at a time: the mount goes on between steps, and a write made through
   * this connection meanwhile reaches the copy too.
   */
  async backupTo(path: string): Promise<void> {
    await this.group.withoutGroups(() => this.db.backup(path));
  }

  /**
   * A catalog restored from a backup has the moves that ran when the backup was taken
   * still open in its journal. Finishing them as a restart does (removing the target,
   * or the source) would delete copies that later became the file: close them instead,
   * and forget the old local copies it had yet to delete.
   */
  settleRestoredMoves(): number {
    // Old local copies it still meant to delete likewise: their names may hold the file
    // again by now (moved back since, with the same size and mtime a move keeps), and a
    // deletion would take its only copy. Left on their volumes, for reconcile to judge.
    this.s.dropRestoredLocalGarbage.run();
    return this.s.settleRestoredMoves.run({ nowMs: Date.now() }).changes;
  }

  /** Cold files whose manifest must be written again (see migration 6), with the change they were last marked for. */
  pendingManifestUpdates(limit = 1000): { ino: number; seq: number }[] {
    return this.s.pendingManifestUpdates.all(limit) as { ino: number; seq: number }[];
  }

  /** The rewrite for change `seq` is done; a later change keeps the file marked. */
  manifestUpdateDone(ino: number, seq: number): void {
    this.s.manifestUpdateDone.run(ino, seq);
  }

  /** Every stored xattr of ino with its value. */
  xattrsOf(ino: number): { name: string; value: Buffer }[] {
    return this.s.xattrsOf.all(ino) as { name: string; value: Buffer }[];
  }

  /** Paths of files whose bytes were not found on their tier. */
  missingFiles(): string[] {
    return this.s.missingFiles.all() as string[];
  }

  /** Take over the id of the filesystem whose tiers a rebuild reads (fsck --rebuild). */
  setFsid(fsid: string): void {
    this.s.setMeta.run('fsid', fsid);
    this.fsid = fsid;
  }

  /**
   * A transaction that is on disk when it returns, not only visible: the move protocol
   * deletes a file's old copy right after its commit, and a power cut must not roll the
   * catalog back to a state that points at that deleted copy. (NORMAL, the default, syncs
   * the WAL only at checkpoints.)
   */
  durableTx<T>(fn: () => T): T {
    this.group.commit();
    this.db.pragma('synchronous = FULL');
    try {
      const result = this.tx(fn);
      this.snapshotForTests();
      return result;
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  private durableSnapshots = 0;
  /** the half-life access_stats.cool_ms was computed with (kept in meta; undefined until first needed) */
  private coolHalfLifeMs: number | undefined;
  private directoryRenamed = false;
  /** the last rename intent's id (beginRename); undefined until the first */
  private lastRenameId: number | undefined;

  /**
   * Tests of power loss (test/mover/power-cut.test.ts): TIERFS_TEST_DURABLE_SNAPSHOTS=DIR
   * copies the catalog as each durable transaction left it to DIR/durable-N.db, so that a
   * test can put together what a disk held at any point of a move.
   */
  private snapshotForTests(): void {
    const dir = process.env.TIERFS_TEST_DURABLE_SNAPSHOTS;
    if (!dir) return;
    this.db.prepare('VACUUM INTO ?').run(`${dir}/durable-${++this.durableSnapshots}.db`);
  }

  /** Run fn in one transaction (nested calls, and calls inside an open group, join the outer one). */
  tx<T>(fn: () => T): T {
    return this.inTx(fn) as T;
  }
  // One transaction function for every fn: better-sqlite3 builds four wrappers per
  // db.transaction() call, which cost a create's few changes more than the changes.
  private readonly inTx: (fn: () => unknown) => unknown;

  close(): void {
    try {
      this.group.commit();
    } finally {
      // First: the last connection to close checkpoints the log and removes it.
      this.checkpointer?.close();
      this.db.close();
    }
  }

  // ── namespace ──────────────────────────────────────────────────────────────

  getInode(ino: number): Inode | undefined {
    const r = this.s.getInode.get(ino) as unknown[] | undefined;
    return r && toInode(r);
  }

  lookup(parent: number, name: string): Inode | undefined {
    const r = this.s.lookup.get(parent, name) as unknown[] | undefined;
    return r && toInode(r);
  }

  /** lookup for the kernel: the inode with whether it has extended attributes stored. */
  lookupEntry(parent: number, name: string): (Inode & XattrsStored) | undefined {
    const r = this.s.lookupEntry.get(parent, name) as unknown[] | undefined;
    return r && { ...toInode(r), storedXattrs: r[INODE_WIDTH] === 1n };
  }

  lookupIno(parent: number, name: string): number | undefined {
    return this.s.lookupIno.get(parent, name) as number | undefined;
  }

  /** The inode at a path relative to the mount root ("a/b/c"; empty and "." parts skipped), or undefined. */
  inoAtPath(path: string): number | undefined {
    let ino: number | undefined = ROOT_INO;
    for (const name of path.split('/')) {
      if (name === '' || name === '.') continue;
      ino = this.lookupIno(ino, name);
      if (ino === undefined) return undefined;
    }
    return ino;
  }

  listDir(parent: number): DirRow[] {
    return (this.s.listDir.all(parent) as unknown[][]).map((r) => ({ ...toInode(r), name: r[INODE_WIDTH] as string }));
  }

  /**
   * Up to `limit` entries of a directory after position `afterCookie` (0: from the
   * start), in position order, each with the child's current attributes.
   */
  listDirAttrs(parent: number, afterCookie: number, limit: number): DirAttrsTuple[] {
    return this.s.listDirAttrs.all(parent, afterCookie, limit) as DirAttrsTuple[];
  }

  /**
   * Up to `limit` entries of a directory after position `afterCookie`, in position order,
   * as JoinedNames: each cookie given as its position plus `cookieShift`, the name `hidden`
   * (if any) left out.
   */
  listDirNames(parent: number, afterCookie: number, limit: number, cookieShift = 0, hidden: string | null = null): JoinedNames {
    const entries = this.s.listDirNames.all(cookieShift, parent, afterCookie, hidden, limit) as string[];
    return { count: entries.length, joined: entries.join('/') };
  }

  /** A directory's entries with what reconcile compares with the disk, as plain values (mtime in milliseconds, a double). */
  reconcileListing(parent: number): ReconcileRow[] {
    // Rows as arrays, made objects here: a third of the cost of better-sqlite3's objects,
    // a second per million files at mount.
    type Raw = [string, number, number, string | null, string | null, string | null, string, number, number | null, number];
    return (this.s.reconcileListing.all(parent) as Raw[]).map(([name, ino, mode, tier, volume, dataPath, state, size, blocks, mtimeMs]) => (
      { name, ino, mode, tier, volume, dataPath, state, size, blocks, mtimeMs }
    ));
  }

  /** The first subdirectory of dir after position afterCookie (0: from the start), in listing order. */
  nextSubdir(dir: number, afterCookie: number): number | undefined {
    return this.s.nextSubdir.get(dir, afterCookie) as number | undefined;
  }

  hasChildren(dir: number): boolean {
    return this.s.hasChildren.get(dir) !== undefined;
  }

  /** One (parent, name) of ino, and its position there (its cookie); the root and unlinked inodes have none. */
  nameOf(ino: number): { parent: number; name: string; cookie: number } | undefined {
    return this.s.nameOf.get(ino) as { parent: number; name: string; cookie: number } | undefined;
  }

  /** A path of ino relative to the root ('' for the root), or undefined if unlinked. */
  pathOf(ino: number): string | undefined {
    const parts: string[] = [];
    for (let cur = ino; cur !== ROOT_INO; ) {
      const n = this.nameOf(cur);
      if (!n) return undefined;
      parts.push(n.name);
      cur = n.parent;
    }
    return parts.reverse().join('/');
  }

  /** Create an inode and, when parent is given, its first name. Returns the new ino. */
  createInode(i: NewInode, parent?: number, name?: string, ino?: number): number {
    return this.tx(() => {
      const info = this.s.insertInode.run(
        ino ?? null, i.mode, i.uid, i.gid, i.nlink, i.rdev, i.size, i.atimeNs, i.mtimeNs, i.ctimeNs, i.tier, i.volume, i.dataPath, i.target,
        i.state ?? 'ok', i.layout ?? null, this.now(),
      );
      const newIno = Number(info.lastInsertRowid);
      if (parent !== undefined && name !== undefined) {
        this.s.insertEntry.run(parent, name, newIno, i.mode & 0o170000);
        this.onNamesChanged(parent);
      }
      return newIno;
    });
  }

  /** Every name in directory parent, or undefined when it holds more than `limit`. */
  dirNames(parent: number, limit: number): string[] | undefined {
    const names = this.s.dirNames.all(parent, limit + 1) as string[];
    return names.length > limit ? undefined : names;
  }

  /**
   * Sets `count` inode numbers aside (for creates the FUSE binding makes): the first;
   * new inodes take numbers after them. Numbers set aside and never used are skipped.
   */
  reserveInos(count: number): number {
    return this.tx(() => Number(this.s.reserveInos.get(count)) - count + 1);
  }

  addName(parent: number, name: string, ino: number): void {
    this.s.insertDirent.run(parent, name, ino, ino);
    this.onNamesChanged(parent);
  }

  removeName(parent: number, name: string): void {
    this.s.deleteDirent.run(parent, name);
    this.onNamesChanged(parent);
  }

  /** Move a name; the caller has removed any name at the destination. */
  moveName(parent: number, name: string, newParent: number, newName: string): void {
    this.s.moveDirent.run(newParent, newName, parent, name);
    this.onNamesChanged(parent);
    if (newParent !== parent) this.onNamesChanged(newParent);
  }

  /**
   * A rename about to change backing names; endRename(id) goes in the transaction that
   * renames in the catalog. What the row guards against is the daemon dying between the
   * two, and the WAL has it once this returns: it commits with the open group (the changes
   * it holds come before the rename), in one write. The next group opens at once, so that
   * the rename's changes in the catalog join it: the rename need not wait for them to
   * commit, since the next mount finishes it from this row (Vfs.finishRenames).
   * Its id is new for as long as the catalog is open, not the table's next row id (which
   * an empty table gives again and again): names set aside for a rename carry it, and
   * finishing one must not take another's left behind for its own.
   */
  /** durable: synced before it returns (durableTx), not only committed. */
  beginRename(r: PendingRename, { durable = false } = {}): number {
    const exchanged = r.exchanged === undefined ? null : JSON.stringify(r.exchanged);
    const id = (this.lastRenameId = (this.lastRenameId ?? (this.s.lastRenameId.get() as number)) + 1);
    const write = () => this.s.beginRename.run(id, r.parent, r.name, r.newParent, r.newName, JSON.stringify(r.backing ?? {}), r.flags ?? 0, exchanged);
    if (durable) {
      this.durableTx(write);
    } else {
      this.group.open();
      write();
      this.group.commit();
    }
    this.group.open();
    return id;
  }

  endRename(id: number): void {
    this.s.endRename.run(id);
  }

  /** Renames a daemon died in the middle of, oldest first. */
  pendingRenames(): (PendingRename & { id: number })[] {
    const rows = this.db
      .prepare('SELECT id, parent, name, new_parent AS newParent, new_name AS newName, backing, flags, exchanged FROM renames ORDER BY id')
      .all() as (PendingRename & { id: number; backing: string | null; exchanged: string | null })[];
    const ids = (json: string | null) => (json === null ? undefined : (JSON.parse(json) as BackingIds));
    return rows.map((r) => ({ ...r, backing: ids(r.backing), exchanged: ids(r.exchanged) }));
  }

  /** Point an existing name at another inode (rename over, exchange). */
  pointName(parent: number, name: string, ino: number): void {
    this.s.pointDirent.run(ino, ino, parent, name);
    this.onNamesChanged(parent);
  }

  updateAttrs(i: Pick<Inode, 'ino' | 'mode' | 'uid' | 'gid' | 'size' | 'atimeNs' | 'mtimeNs' | 'ctimeNs'>): void {
    this.onAttrsChanged(i.ino);
    this.s.updateAttrs.run(i);
  }

  /** New size and mtime after the data changed; bumps the generation when changed is true. */
  /** What the backing file takes on disk, as fstat said (null: the size stands in). */
  setBlocks(ino: number, blocks: number | null): void {
    this.onAttrsChanged(ino);
    this.s.setBlocks.run(blocks, ino);
  }

  updateData(ino: number, size: number, mtimeNs: bigint, ctimeNs: bigint, changed: boolean): void {
    this.onAttrsChanged(ino);
    this.s.updateData.run({ size, mtimeNs, ctimeNs, changed: changed ? 1 : 0, ino });
  }

  setNlink(ino: number, nlink: number, ctimeNs: bigint): void {
    this.onAttrsChanged(ino);
    this.s.setNlink.run(nlink, ctimeNs, ino);
  }

  touchCtime(ino: number, ctimeNs: bigint): void {
    this.onAttrsChanged(ino);
    this.s.setCtime.run(ctimeNs, ino);
  }

  /** A directory's entries changed: its mtime and ctime move. */
  touchDir(ino: number, nowNs: bigint): void {
    this.onAttrsChanged(ino);
    this.s.setMtimeCtime.run(nowNs, nowNs, ino);
  }

  setDataPath(ino: number, dataPath: string): void {
    this.s.setDataPath.run(dataPath, ino);
  }

  /** A directory moved from `from` to `to`: every data path below it follows. */
  renameDataPaths(from: string, to: string): void {
    // data_path in [from + '/', from + '0'): '0' is the character after '/'.
    this.s.renameDataPaths.run(to, from, `${from}/`, `${from}0`);
  }

  setState(ino: number, state: string): void {
    this.s.setState.run(state, ino);
  }

  /** Forget an inode entirely (no names, no handles left). */
  deleteInode(ino: number): void {
    this.onAttrsChanged(ino);
    this.tx(() => {
      this.s.deleteInode.run(ino);
      this.s.deleteXattrsOf.run(ino);
      this.s.deleteStatsOf.run(ino);
    });
  }

  /** Inodes with no name left (unlinked while open when the daemon stopped). */
  orphans(): number[] {
    return this.s.orphans.all() as number[];
  }

  /** How many files are on local tiers. */
  filesWithDataCount(): number {
    return this.s.filesOnLocalCount.get() as number;
  }

  /** Where every file on a local tier keeps its bytes (reconcile): the columns it needs only, as plain values. */
  filesWithData(): Pick<Inode, 'ino' | 'tier' | 'volume' | 'dataPath' | 'state'>[] {
    return this.s.filesOnLocal.all() as Pick<Inode, 'ino' | 'tier' | 'volume' | 'dataPath' | 'state'>[];
  }

  /** Files on object tiers. */
  filesWithLayout(): Inode[] {
    return (this.s.filesWithLayout.all() as unknown[][]).map(toInode);
  }

  byDataPath(dataPath: string): Inode | undefined {
    const r = this.s.byDataPath.get(dataPath) as unknown[] | undefined;
    return r && toInode(r);
  }

  /**
   * Layouts (JSON) of files on `tier` whose objects a new connection to one of its stores
   * must find: the `n` copies written there last (a store copied while the mount ran
   * lacks those first) and `n` others at random.
   */
  layoutsToCheck(tier: string, n: number): string[] {
    // Numbers first, the layouts (a large file's is long) of those alone. Copies known
    // lost (missing) would refuse any connection.
    const inos = this.db
      .prepare(
        `SELECT ino FROM (SELECT ino FROM inodes WHERE tier = @tier AND layout IS NOT NULL AND nlink > 0 AND state = 'ok' ORDER BY tier_since_ms DESC LIMIT @n)
         UNION SELECT ino FROM (SELECT ino FROM inodes WHERE tier = @tier AND layout IS NOT NULL AND nlink > 0 AND state = 'ok' ORDER BY random() LIMIT @n)`,
      )
      .pluck()
      .all({ tier, n }) as number[];
    return inos.flatMap((ino) => this.getInode(ino)?.layout ?? []);
  }

  usageByTier(): Map<string, { files: number; bytes: number }> {
    const rows = this.s.usageByTier.all() as { tier: string; files: number; bytes: number }[];
    return new Map(rows.map((r) => [r.tier, { files: r.files, bytes: r.bytes }]));
  }

  inodeCount(): number {
    return this.s.inodeCount.get() as number;
  }

  /** Every (parent, name) of ino: a file with hard links has several. */
  namesOf(ino: number): { parent: number; name: string }[] {
    return this.s.namesOf.all(ino) as { parent: number; name: string }[];
  }

  /** Pin (or unpin) a file or directory; the classifier looks again at it and at everything below. */
  setPin(ino: number, tier: string | null): void {
    this.tx(() => {
      this.s.setPin.run(tier, ino);
      this.s.markSubtreeDirty.run(ino);
    });
  }

  /**
   * The pin that applies to ino: its own, else the nearest pinned directory above it.
   * A file with hard links in several directories is pinned if any of them is.
   */
  effectivePin(ino: number): { tier: string; from: number } | undefined {
    const own = this.getInode(ino)?.pin;
    if (own) return { tier: own, from: ino };
    for (const { parent } of this.namesOf(ino)) {
      // Directories have one name each: walk straight up.
      for (let cur: number | undefined = parent; cur !== undefined; cur = cur === ROOT_INO ? undefined : this.nameOf(cur)?.parent) {
        const pin = this.getInode(cur)?.pin;
        if (pin) return { tier: pin, from: cur };
      }
    }
    return undefined;
  }

  // ── moves: journal, location switch, deferred deletion ─────────────────────

  journalIntent(m: Pick<MoveRecord, 'ino' | 'path' | 'fromTier' | 'toTier' | 'generation' | 'source' | 'target' | 'requestedBy'>): number {
    return Number(this.s.journalIntent.run({ ...m, startedMs: this.now() }).lastInsertRowid);
  }

  journalState(id: number, state: MoveState, detail: { bytes?: number; verified?: boolean; error?: string; target?: string } = {}): void {
    this.s.journalState.run({
      id,
      state,
      bytes: detail.bytes ?? 0,
      verified: detail.verified ? 1 : 0,
      error: detail.error ?? null,
      target: detail.target ?? null,
      finishedMs: state === 'intent' ? null : this.now(),
    });
  }

  getMove(id: number): MoveRecord | undefined {
    const r = this.s.getMove.get(id) as (MoveRecord & { verified: unknown }) | undefined;
    return r && toMove(r);
  }

  unfinishedMoves(): MoveRecord[] {
    return (this.s.unfinishedMoves.all() as (MoveRecord & { verified: unknown })[]).map(toMove);
  }

  recentMoves(limit = 100): MoveRecord[] {
    return (this.s.recentMoves.all(limit) as (MoveRecord & { verified: unknown })[]).map(toMove);
  }

  /** Remember the hash of a file's bytes at generation (ignored if the file changed since). */
  recordHash(ino: number, generation: number, sha256: string): void {
    this.s.recordHash.run(sha256, ino, generation);
  }

  /** Point a file at its new copy. */
  setLocation(ino: number, loc: DataLocation): void {
    this.s.setLocation.run({ ino, ...loc, nowMs: this.now() });
  }

  /** Deletes an inode no name leads to any more; a cold one's objects go to the garbage list. */
  dropInode(ino: number): void {
    this.tx(() => {
      const i = this.getInode(ino);
      if (i?.layout && i.tier) this.addGarbage(ino, i.tier, JSON.stringify({ layout: JSON.parse(i.layout) }));
      this.deleteInode(ino);
    });
  }

  addGarbage(ino: number, tier: string, location: string): void {
    this.s.addGarbage.run(ino, tier, location, Date.now());
  }

  garbage(): GarbageRecord[] {
    return this.s.listGarbage.all() as GarbageRecord[];
  }

  removeGarbage(id: number): void {
    this.s.removeGarbage.run(id);
  }

  // ── classification and the move queue ──────────────────────────────────────

  /** Files in ino order after `afterIno`, a page at a time (so callers may write between pages). */
  classificationPage(afterIno: number, limit: number): ClassificationRow[] {
    return this.s.classifyPage.all(afterIno, limit) as ClassificationRow[];
  }

  classificationRow(ino: number): ClassificationRow | undefined {
    return this.s.classifyOne.get(ino) as ClassificationRow | undefined;
  }

  /** Files marked since the last call (their heat or bytes changed), and the marks cleared. */
  takeDirty(): number[] {
    return this.tx(() => {
      const inos = this.s.dirty.all() as number[];
      this.s.clearDirty.run();
      return inos;
    });
  }

  /** Files last used (opened, or if never opened, arrived) in [fromMs, toMs): idle thresholds they may have crossed. */
  lastUsedBetween(fromMs: number, toMs: number): number[] {
    return this.s.idleCrossed.all({ from: fromMs, to: toMs }) as number[];
  }

  /** Files that arrived on their tier in [fromMs, toMs) (their minimum residency may have ended), with their heat at nowMs. */
  arrivedBetween(fromMs: number, toMs: number, nowMs: number, halfLifeMs: number): { ino: number; tier: string; size: number; heat: number }[] {
    return this.s.arrivedBetween.all({ from: fromMs, to: toMs, now: nowMs, halfLifeMs }) as { ino: number; tier: string; size: number; heat: number }[];
  }

  /**
   * Files whose heat fell below `threshold` in [fromMs, toMs), heat halving every
   * halfLifeMs. Heat only rises with use (which marks the file anyway), so between uses
   * it crosses each threshold once: at cool_ms − halfLife × log2(threshold).
   */
  cooledBetween(threshold: number, fromMs: number, toMs: number, halfLifeMs: number): number[] {
    this.coolFor(halfLifeMs);
    const shift = halfLifeMs * Math.log2(threshold);
    return this.s.cooledBetween.all({ from: fromMs + shift, to: toMs + shift }) as number[];
  }

  /** cool_ms as of halfLifeMs: computed again for every file when the half-life changed (a configuration apply). */
  private coolFor(halfLifeMs: number): void {
    this.coolHalfLifeMs ??= Number(this.s.getMeta.get('cool_half_life_ms') ?? NaN);
    if (this.coolHalfLifeMs === halfLifeMs) return;
    this.tx(() => {
      this.s.recomputeCool.run({ halfLifeMs });
      this.s.setMeta.run('cool_half_life_ms', String(halfLifeMs));
    });
    this.coolHalfLifeMs = halfLifeMs;
  }

  changedBetween(fromMs: number, toMs: number): number[] {
    return this.s.crossedAge.all(BigInt(Math.floor(fromMs)) * 1_000_000n, BigInt(Math.floor(toMs)) * 1_000_000n) as number[];
  }

  pinnedInodes(): { ino: number; pin: string }[] {
    return this.s.pinned.all() as { ino: number; pin: string }[];
  }

  saveDecision(ino: number, d: Omit<StoredDecision, 'timeMs'>, timeMs = Date.now()): void {
    this.s.saveDecision.run({ ino, timeMs, ...d });
  }

  decision(ino: number): StoredDecision | undefined {
    return this.s.getDecision.get(ino) as StoredDecision | undefined;
  }

  /**
   * The `limit` coldest files of a tier: decayed heat, then idle time (longest first),
   * then size (largest first). Heat in the rows is decayed to nowMs.
   */
  coldest(tier: string, nowMs: number, halfLifeMs: number, limit: number): ClassificationRow[] {
    this.coolFor(halfLifeMs);
    return this.s.coldest.all({ tier, now: nowMs, halfLifeMs, limit }) as ClassificationRow[];
  }

  /** Every move queued or running, with the size and current tier of its file (capacity planning). */
  pendingMoves(nowMs: number, halfLifeMs: number): PendingMove[] {
    const rows = this.s.pendingMoves.all({ now: nowMs, halfLifeMs }) as (Omit<PendingMove, 'running'> & { running: number | boolean })[];
    // in place: a pass reads the whole queue, tens of thousands of rows when much is to move
    for (const m of rows) m.running = m.running !== 0;
    return rows as PendingMove[];
  }

  /** The classifier should look at this file again at its next pass. */
  markDirty(ino: number): void {
    this.s.markDirty.run(ino);
  }

  /**
   * A directory was renamed: every path below it changed. Kept in memory, not marked per
   * file (a tree of a million files would hold up the rename): the classifier's next pass
   * is a full one when path rules could see the difference (a restart's first pass is full anyway).
   */
  noteDirectoryRenamed(): void {
    this.directoryRenamed = true;
  }

  /** Whether a directory was renamed since the last call. */
  takeDirectoryRenamed(): boolean {
    const renamed = this.directoryRenamed;
    this.directoryRenamed = false;
    return renamed;
  }

  /** Importance class (user.tierfs.class); the classifier looks at the file again. */
  setClass(ino: number, cls: string | null): void {
    this.tx(() => {
      this.s.setClass.run(cls, ino);
      this.s.markDirty.run(ino);
    });
  }

  /** Queue a move; an entry of the same file is replaced only by one at least as urgent (lower priority number). */
  /** Queue a move: its entry's id, or undefined when a move asked at a higher priority stays queued instead. */
  enqueueMove(e: { ino: number; toTier: string; priority: number; requestedBy: string; reason: string }): number | undefined {
    return (this.s.enqueue.get({ ...e, nowMs: this.now() }) as { id: number } | undefined)?.id;
  }

  /**
   * The moves due by nowMs, in the order they run (priority, then age), read in pages
   * that double as the caller goes on: a mover with one free slot reads a few rows, not
   * the whole queue (it asks at every move's end). The caller may write to the catalog
   * between entries (no statement stays open).
   */
  *runnableMoves(nowMs: number): Generator<QueueEntry> {
    let after = { priority: -1, id: 0 }; // priorities are 0 and up
    for (let limit = 4; ; limit = Math.min(limit * 2, 1024)) {
      const page = this.s.runnable.all({ ...after, nowMs, limit }) as QueueEntry[];
      yield* page;
      if (page.length < limit) return;
      after = page[page.length - 1]!;
    }
  }

  queuedMoveOf(ino: number): QueueEntry | undefined {
    return this.s.queuedOf.get(ino) as QueueEntry | undefined;
  }

  /**
   * Remove a queue entry that ran, unless it was replaced meanwhile (another request for
   * the same file rewrote the row): returns false then, and the new request stays.
   */
  dequeueIf(e: Pick<QueueEntry, 'id' | 'toTier' | 'priority'>): boolean {
    return this.s.queueRemoveIf.run(e.id, e.toTier, e.priority).changes > 0;
  }

  queuedMoves(limit = 100): QueueEntry[] {
    return this.s.queued.all(limit) as QueueEntry[];
  }

  queueLength(): number {
    return this.s.queueLength.get() as number;
  }

  dequeue(id: number): void {
    this.s.queueRemove.run(id);
  }

  /**
   * Drop an automatic pending move of ino that a rule asked for (its file no longer needs
   * it). Watermark moves stay: capacity planning keeps or drops those (dequeueIf).
   */
  dropAutomaticMove(ino: number): void {
    this.s.queueRemoveAuto.run(ino);
  }

  deferMove(id: number, notBeforeMs: number, error: string): void {
    this.s.queueDefer.run(notBeforeMs, error, id);
  }

  /**
   * A queued move of ino that was put off may run now (its file closed); true when there
   * was one. Whatever put it off, one try more is harmless; deciding by its last error's
   * wording would tie this to every message that says "open".
   */
  moveDueNow(ino: number): boolean {
    return this.s.queueDueNow.run(ino).changes > 0;
  }

  // ── extended attributes ────────────────────────────────────────────────────

  getXattr(ino: number, name: string): Buffer | undefined {
    return this.s.getXattr.get(ino, name) as Buffer | undefined;
  }

  hasXattrs(ino: number): boolean {
    return this.s.hasXattrs.get(ino) === 1;
  }

  setXattr(ino: number, name: string, value: Buffer): void {
    this.s.setXattr.run(ino, name, value);
  }

  listXattrs(ino: number): string[] {
    return this.s.listXattrs.all(ino) as string[];
  }

  removeXattr(ino: number, name: string): boolean {
    return this.s.removeXattr.run(ino, name).changes > 0;
  }

  // ── problems found in the tiers ────────────────────────────────────────────

  reportConflict(path: string, kind: string, detail: string): void {
    this.s.addConflict.run(Date.now(), path, kind, detail);
  }

  clearConflict(path: string, kind: string): void {
    this.s.clearConflict.run(path, kind);
  }

  conflicts(): { timeMs: number; path: string; kind: string; detail: string }[] {
    return this.s.listConflicts.all() as { timeMs: number; path: string; kind: string; detail: string }[];
  }

  // ── access recording ───────────────────────────────────────────────────────

  /**
   * Write one batch of access events in one transaction; keep the log under maxLogRows.
   * Heat decays with halfLifeMs; every file touched is marked for the classifier.
   */
  recordAccessBatch(events: AccessEvent[], maxLogRows: number, halfLifeMs = 7 * 86_400_000): void {
    if (events.length === 0) return;
    const fold = new AccessFold(halfLifeMs);
    for (const e of events) fold.add(e.ino, e.timeMs, e.op, e.length, e.count);
    this.tx(() => {
      this.upsertAccesses(fold, halfLifeMs);
      if (maxLogRows > 0) for (const e of events) this.s.logAccess.run(e.timeMs, e.ino, e.path, e.op, e.offset, e.length, e.size);
      this.s.trimAccessLog.run(maxLogRows);
    });
  }

  /** Accesses folded per file (one upsert each), and their files marked for the classifier. */
  recordFileAccesses(fold: AccessFold, halfLifeMs: number): void {
    this.tx(() => this.upsertAccesses(fold, halfLifeMs));
  }

  private upsertAccesses(fold: AccessFold, halfLifeMs: number): void {
    this.coolFor(halfLifeMs);
    for (const a of fold.files()) {
      this.s.markDirty.run(a.ino);
      const h = halfLifeMs;
      this.s.addAccess.run(a.ino, a.opens, a.reads, a.readBytes, a.writes, a.writeBytes, a.firstMs, a.timeMs, a.heat, a.timeMs, a.timeMs, h, a.heat, h, h, h);
    }
  }

  accessStats(ino: number): AccessStats | undefined {
    return this.s.getAccess.get(ino) as AccessStats | undefined;
  }

  /** The access log from sinceMs on: a page of the rows after row `afterId` (0: the first page), up to row `lastId`. */
  tracePage(sinceMs: number, afterId: number, lastId: number, limit: number): (TraceRow & { id: number })[] {
    return this.s.tracePage.all(afterId, lastId, sinceMs, limit) as (TraceRow & { id: number })[];
  }

  /** The id of the access log's last row (0: none): where a trace read in pages ends. */
  lastAccessId(): number {
    return this.s.lastAccessId.get() as number;
  }
}
