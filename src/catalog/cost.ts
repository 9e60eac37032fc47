// The catalog's statements for cost reports and advice (src/cost): copies removed from
// object tiers (migration 11), what the objects of a tier weigh, bytes per directory,
// idle and re-read files. Reads only, apart from pruning old removals; none of it is on
// the mount's path.
import type Database from 'better-sqlite3';

export interface ObjectRemoval {
  timeMs: number;
  ino: number;
  tier: string;
  cause: 'deleted' | 'moved';
  writtenMs: number;
  size: number;
  objects: number;
  /** payload bytes per backend index */
  backendBytes: Record<string, number>;
}

/** The objects one backend of a tier holds for the files there now. */
export interface BackendObjects {
  objects: number;
  bytes: number;
  /** objects below `minBytes`, and what they lack of it, summed */
  belowMin: number;
  paddingBytes: number;
}

/** Files on a tier whose objects cost more than their bytes say. */
export interface CostlyObjects {
  /** with an object below the minimum billable size, or request-heavy */
  files: number;
  bytes: number;
  /** whose objects cost more to write than to keep a month */
  heavyFiles: number;
  heavyBytes: number;
  heavyObjects: number;
}

export interface DirUsage {
  /** the first component of the path ('' for files in the root) */
  dir: string;
  tier: string;
  files: number;
  bytes: number;
}

export interface FileReads {
  ino: number;
  tier: string;
  size: number;
  reads: number;
  readBytes: number;
  /** when the file arrived on its tier */
  sinceMs: number;
}

export class CostQueries {
  private readonly s;

  constructor(db: Database.Database) {
    const cells = `json_each(i.layout, '$.stripes') AS s, json_each(s.value, '$.cells') AS c`;
    const len = `json_extract(c.value, '$.length')`;
    this.s = {
      removals: db.prepare(
        `SELECT time_ms AS timeMs, ino, tier, cause, written_ms AS writtenMs, size, objects, backend_bytes AS backendBytes
         FROM object_removals WHERE time_ms >= ? AND time_ms < ? ORDER BY time_ms`,
      ),
      pruneRemovals: db.prepare('DELETE FROM object_removals WHERE time_ms < ?'),
      objects: db.prepare(
        `SELECT count(*) AS objects, coalesce(sum(${len}), 0) AS bytes,
                coalesce(sum(${len} < @min), 0) AS belowMin,
                coalesce(sum(CASE WHEN ${len} < @min THEN @min - ${len} ELSE 0 END), 0) AS paddingBytes
         FROM inodes i, ${cells}
         WHERE i.tier = @tier AND i.layout IS NOT NULL AND i.nlink > 0 AND json_extract(c.value, '$.backend') = @backend`,
      ),
      // Files with an object below the minimum billable size, or whose objects cost more to write than
      // to keep for a month (objects × $/write > billable GB × $/GB-month): both, and the second apart.
      costlyObjects: db.prepare(
        `SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes,
                coalesce(sum(heavy), 0) AS heavyFiles, coalesce(sum(heavy * size), 0) AS heavyBytes, coalesce(sum(heavy * objs), 0) AS heavyObjects FROM (
           SELECT i.size, count(*) AS objs, min(${len}) < @min AS small,
                  count(*) * @usdPerWrite > sum(max(${len}, @min) + @overhead) * @usdPerByteMonth AS heavy
           FROM inodes i, ${cells} WHERE i.tier = @tier AND i.layout IS NOT NULL AND i.nlink > 0 GROUP BY i.ino)
         WHERE small OR heavy`,
      ),
      byDir: db.prepare(
        `SELECT CASE WHEN instr(data_path, '/') > 0 THEN substr(data_path, 1, instr(data_path, '/') - 1) ELSE '' END AS dir,
                tier, count(*) AS files, coalesce(sum(size), 0) AS bytes
         FROM inodes WHERE tier IS NOT NULL AND nlink > 0 AND data_path IS NOT NULL GROUP BY dir, tier`,
      ),
      idle: db.prepare(
        `SELECT count(*) AS files, coalesce(sum(i.size), 0) AS bytes FROM inodes i LEFT JOIN access_stats a ON a.ino = i.ino
         WHERE i.tier = @tier AND i.nlink > 0 AND coalesce(a.last_ms, i.tier_since_ms) < @before`,
      ),
      reads: db.prepare(
        `SELECT l.ino, i.tier, i.size, count(*) AS reads, coalesce(sum(l.length), 0) AS readBytes, i.tier_since_ms AS sinceMs
         FROM access_log l JOIN inodes i ON i.ino = l.ino
         WHERE l.op = 'read' AND l.time_ms >= @from AND l.time_ms >= i.tier_since_ms AND i.layout IS NOT NULL AND i.nlink > 0
         GROUP BY l.ino`,
      ),
      firstAccess: db.prepare('SELECT min(t) FROM (SELECT min(first_ms) AS t FROM access_stats UNION ALL SELECT min(time_ms) FROM access_log)').pluck(),
      firstPoint: db.prepare('SELECT min(time_ms) FROM metric_points').pluck(),
    };
  }

  removals(fromMs: number, toMs: number): ObjectRemoval[] {
    return (this.s.removals.all(fromMs, toMs) as (Omit<ObjectRemoval, 'backendBytes'> & { backendBytes: string })[]).map((r) => ({
      ...r,
      backendBytes: JSON.parse(r.backendBytes) as Record<string, number>,
    }));
  }

  /** Removals older than `beforeMs` go (the history's daily points last as long). */
  pruneRemovals(beforeMs: number): number {
    return this.s.pruneRemovals.run(beforeMs).changes;
  }

  objects(tier: string, backend: number, minBytes: number): BackendObjects {
    return this.s.objects.get({ tier, backend, min: minBytes }) as BackendObjects;
  }

  costlyObjects(tier: string, p: { minBytes: number; overheadBytes: number; usdPerWrite: number; usdPerByteMonth: number }): CostlyObjects {
    return this.s.costlyObjects.get({ tier, min: p.minBytes, overhead: p.overheadBytes, usdPerWrite: p.usdPerWrite, usdPerByteMonth: p.usdPerByteMonth }) as CostlyObjects;
  }

  byDir(): DirUsage[] {
    return this.s.byDir.all() as DirUsage[];
  }

  /** Files on a tier not used (opened, or if never, arrived) since `beforeMs`. */
  idle(tier: string, beforeMs: number): { files: number; bytes: number } {
    return this.s.idle.get({ tier, before: beforeMs }) as { files: number; bytes: number };
  }

  /** Reads since `fromMs` of files now on object tiers, while they were there. */
  objectTierReads(fromMs: number): FileReads[] {
    return this.s.reads.all({ from: fromMs }) as FileReads[];
  }

  /** When access recording first saw anything, if ever. */
  firstAccessMs(): number | undefined {
    return (this.s.firstAccess.get() as number | null) ?? undefined;
  }

  /** The oldest point of the metrics history, if any. */
  firstHistoryMs(): number | undefined {
    return (this.s.firstPoint.get() as number | null) ?? undefined;
  }
}
