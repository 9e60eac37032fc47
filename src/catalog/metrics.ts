// The catalog's statements for the metrics module: the points of the metrics history
// (migration 7) and the totals that metrics read from the catalog. Kept apart from
// catalog.ts because none of it is on the mount's path; it takes the catalog's database.
import type Database from 'better-sqlite3';

export interface Point {
  series: string;
  /** JSON of the labels, keys sorted; '{}' for none */
  labels: string;
  stepMs: number;
  timeMs: number;
  value: number;
}

/** The finer points of one coarser period, summed, averaged, and their least and greatest. */
export interface PeriodAggregate {
  series: string;
  labels: string;
  timeMs: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
}

export class MetricsHistoryStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      add: db.prepare(
        `INSERT INTO metric_points (series, labels, step_ms, time_ms, value) VALUES (@series, @labels, @stepMs, @timeMs, @value)
         ON CONFLICT (series, step_ms, time_ms, labels) DO UPDATE SET value = excluded.value`,
      ),
      accumulate: db.prepare(
        `INSERT INTO metric_points (series, labels, step_ms, time_ms, value) VALUES (@series, @labels, @stepMs, @timeMs, @value)
         ON CONFLICT (series, step_ms, time_ms, labels) DO UPDATE SET value = value + excluded.value`,
      ),
      latest: db.prepare('SELECT max(time_ms) FROM metric_points WHERE step_ms = ?').pluck(),
      earliest: db.prepare('SELECT min(time_ms) FROM metric_points WHERE step_ms = ?').pluck(),
      aggregate: db.prepare(
        `SELECT series, labels, time_ms - time_ms % @coarse AS timeMs, -- % is integer arithmetic, whatever the binding
                sum(value) AS sum, avg(value) AS avg, min(value) AS min, max(value) AS max
         FROM metric_points WHERE step_ms = @fine AND time_ms >= @from AND time_ms < @to
         GROUP BY series, labels, timeMs`,
      ),
      expire: db.prepare('DELETE FROM metric_points WHERE step_ms = ? AND time_ms < ?'),
      points: db.prepare(
        `SELECT labels, time_ms AS timeMs, value FROM metric_points
         WHERE series = ? AND step_ms = ? AND time_ms >= ? AND time_ms < ? ORDER BY time_ms, labels`,
      ),
      count: db.prepare('SELECT step_ms AS stepMs, count(*) AS n FROM metric_points GROUP BY step_ms'),
    };
  }

  /** Writes points in one transaction; `accumulate` adds to a point already there (counters), else replaces it. */
  add(points: Point[], accumulate: (p: Point) => boolean): void {
    this.db.transaction(() => {
      for (const p of points) (accumulate(p) ? this.s.accumulate : this.s.add).run(p);
    })();
  }

  /** The start of the latest point of a step, if any. */
  latestTime(stepMs: number): number | undefined {
    return (this.s.latest.get(stepMs) as number | null) ?? undefined;
  }

  earliestTime(stepMs: number): number | undefined {
    return (this.s.earliest.get(stepMs) as number | null) ?? undefined;
  }

  /** The points of step `fine` in [from, to), grouped into periods of `coarse`. */
  aggregate(fine: number, coarse: number, fromMs: number, toMs: number): PeriodAggregate[] {
    return this.s.aggregate.all({ fine, coarse, from: fromMs, to: toMs }) as PeriodAggregate[];
  }

  /** Deletes the points of a step that start before `beforeMs`; returns how many. */
  expire(stepMs: number, beforeMs: number): number {
    return this.s.expire.run(stepMs, beforeMs).changes;
  }

  points(series: string, stepMs: number, fromMs: number, toMs: number): { labels: string; timeMs: number; value: number }[] {
    return this.s.points.all(series, stepMs, fromMs, toMs) as { labels: string; timeMs: number; value: number }[];
  }

  /** Points kept, by step (for status and tests). */
  counts(): Map<number, number> {
    return new Map((this.s.count.all() as { stepMs: number; n: number }[]).map((r) => [r.stepMs, r.n]));
  }
}

/** Sums over the cells of an object tier's layouts: what its objects hold besides their headers. */
export interface CellTotals {
  /** payload bytes of every cell */
  payloadBytes: number;
  cells: number;
  /** the length of each cell's file id, summed (cell headers carry it) */
  fileIdBytes: number;
}

export class CatalogTotals {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      queue: db.prepare(
        `SELECT count(*) AS length, coalesce(sum(i.size), 0) AS bytes
         FROM move_queue q LEFT JOIN inodes i ON i.ino = q.ino`,
      ),
      garbageCount: db.prepare('SELECT count(*) FROM garbage WHERE tier = ?').pluck(),
      // In SQLite's JSON functions, so that no layout crosses into JavaScript.
      cells: db.prepare(
        `SELECT coalesce(sum(json_extract(c.value, '$.length')), 0) AS payloadBytes,
                count(c.value) AS cells,
                coalesce(sum(length(json_extract(src.layout, '$.fileId'))), 0) AS fileIdBytes
         FROM (SELECT layout FROM inodes WHERE tier = @tier AND layout IS NOT NULL
               UNION ALL
               SELECT json_extract(location, '$.layout') FROM garbage
               WHERE tier = @tier AND json_extract(location, '$.layout') IS NOT NULL) AS src,
              json_each(src.layout, '$.stripes') AS s,
              json_each(s.value, '$.cells') AS c`,
      ),
    };
  }

  /** Moves waiting, and the bytes of their files. */
  queue(): { length: number; bytes: number } {
    return this.s.queue.get() as { length: number; bytes: number };
  }

  /** Old copies on a tier that wait for deletion. */
  garbageCount(tier: string): number {
    return this.s.garbageCount.get(tier) as number;
  }

  /** Cells of the files on an object tier and of its old copies not deleted yet. */
  cells(tier: string): CellTotals {
    return this.s.cells.get({ tier }) as CellTotals;
  }
}
