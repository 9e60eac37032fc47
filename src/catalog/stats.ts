// Read-only queries for placement statistics (tierfs status): finished moves from the
// journal and the uses of files after them. Kept apart from catalog.ts because none of
// it is on the mount's path; it takes the catalog's database (catalog.db).
import type Database from 'better-sqlite3';

/** A move that switched a file's tier (committed, or done: its old copy is gone too). */
export interface FinishedMove {
  ino: number;
  fromTier: string;
  toTier: string;
  requestedBy: string;
  /** when the move last changed state (committed or done) */
  finishedMs: number;
}

export class PlacementStats {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      finishedSince: db.prepare(
        `SELECT ino, from_tier AS fromTier, to_tier AS toTier, requested_by AS requestedBy, finished_ms AS finishedMs
         FROM moves WHERE state IN ('committed', 'done') AND finished_ms >= ? ORDER BY id`,
      ),
      lastUse: db.prepare('SELECT last_ms FROM access_stats WHERE ino = ?').pluck(),
      // The raw log has no index but its rowid, which grows with time: read it backwards
      // and stop at the first row older than asked (one sequential read of the tail).
      usesSince: db.prepare(`SELECT ino, time_ms AS timeMs FROM access_log WHERE op IN ('open', 'read') ORDER BY id DESC`),
    };
  }

  finishedMovesSince(sinceMs: number): FinishedMove[] {
    return this.s.finishedSince.all(sinceMs) as FinishedMove[];
  }

  /** The last time the file was opened, read or written, if ever. */
  lastUse(ino: number): number | undefined {
    return this.s.lastUse.get(ino) as number | undefined;
  }

  /** Opens and reads in the access log at or after sinceMs, of the given files only, by file. */
  usesSince(sinceMs: number, of: Set<number>): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (const r of this.s.usesSince.iterate() as IterableIterator<{ ino: number; timeMs: number }>) {
      if (r.timeMs < sinceMs) break;
      if (!of.has(r.ino)) continue;
      const list = out.get(r.ino) ?? [];
      list.push(r.timeMs);
      out.set(r.ino, list);
    }
    return out;
  }
}
