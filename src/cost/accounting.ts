// Cost accounting: the facts of one calendar month as the daemon recorded them (bytes
// stored per tier from the metrics history, requests and bytes per backend and operation
// from the object-store counters in the history, copies removed from object tiers from
// the catalog), then priced by pure functions. Gathering reads; pricing only computes,
// so the same facts can be priced under another configuration (a what-if).
import type Database from 'better-sqlite3';
import { CostQueries, type BackendObjects, type DirUsage, type ObjectRemoval } from '../catalog/cost.js';
import { MetricsHistoryStore } from '../catalog/metrics.js';
import { DAY_MS, HOUR_MS, MINUTE_MS, MetricsHistory, type HistoryPoints } from '../metrics/history.js';
import {
  addCharges, earlyDeletionUsd, egressUsd, integrate, monitoringUsd, noCharges, objectSizeUsd, requestClass, requestsUsd, retrievalUsd,
  scaleCharges, storageUsd, type Charges,
} from './model.js';
import { GB } from './prices.js';
import type { PricedTier } from './pricing.js';

/** A calendar month (UTC): [fromMs, toMs). */
export interface Month {
  month: string;
  fromMs: number;
  toMs: number;
}

export function monthOf(spec: string | undefined, nowMs: number): Month {
  let y: number;
  let m: number;
  if (spec === undefined) {
    const d = new Date(nowMs);
    [y, m] = [d.getUTCFullYear(), d.getUTCMonth()];
  } else {
    const got = /^(\d{4})-(\d{2})$/.exec(spec);
    if (!got || Number(got[2]) < 1 || Number(got[2]) > 12) throw new Error(`not a month (YYYY-MM): ${spec}`);
    [y, m] = [Number(got[1]), Number(got[2]) - 1];
  }
  const fromMs = Date.UTC(y, m, 1);
  const toMs = Date.UTC(y, m + 1, 1);
  return { month: new Date(fromMs).toISOString().slice(0, 7), fromMs, toMs };
}

export function previousMonth(m: Month): Month {
  return monthOf(new Date(m.fromMs - 1).toISOString().slice(0, 7), 0);
}

/** What one backend of a tier did in the period. */
export interface BackendActivity {
  /** requests and body bytes by operation */
  ops: Record<string, { requests: number; bytes: number }>;
  /** the objects held now, with the padding up to this backend's minimum billable size */
  objectsNow: BackendObjects;
}

export interface TierFacts {
  tier: string;
  /** stored bytes × ms over [fromMs, min(nowMs, toMs)): object tiers' cells (parity included), local tiers' used bytes */
  storedByteMs: number;
  /** the last recorded stored bytes */
  storedBytesNow: number;
  /** bytes and count of the files on the tier now (the catalog's) */
  fileBytesNow: number;
  filesNow: number;
  backends: Record<string, BackendActivity>;
}

export interface CostFacts {
  period: Month & { nowMs: number };
  tiers: TierFacts[];
  removals: ObjectRemoval[];
  dirs: DirUsage[];
  /** the oldest point of the history, if any */
  historySinceMs: number | undefined;
}

/** Reads the history and the catalog; `db` is the catalog's database. */
export class CostSource {
  private readonly history: MetricsHistory;
  private readonly store: MetricsHistoryStore;
  readonly queries: CostQueries;

  constructor(
    readonly db: Database.Database,
    readonly nowMs: number,
  ) {
    this.store = new MetricsHistoryStore(db);
    this.history = new MetricsHistory(this.store, { read: () => Promise.reject(new Error('reading only')) }, { now: () => nowMs });
    this.queries = new CostQueries(db);
  }

  /**
   * Points of a series since `sinceMs` at the finest step kept for each stretch (days, then
   * hours, then the minutes not rolled up yet), not bucketed: a value counts from the
   * minute it was sampled, not from the start of its hour.
   */
  series(name: string, sinceMs: number): HistoryPoints[] {
    const groups = new Map<string, [number, number][]>();
    let cursor = sinceMs;
    for (const step of [DAY_MS, HOUR_MS, MINUTE_MS]) {
      const got = this.store.points(name, step, step === DAY_MS ? Math.floor(cursor / DAY_MS) * DAY_MS : cursor, this.nowMs + 1);
      for (const p of got) {
        const values = groups.get(p.labels) ?? [];
        groups.set(p.labels, values);
        values.push([p.timeMs, p.value]);
      }
      if (got.length > 0) cursor = Math.max(cursor, got[got.length - 1]!.timeMs + step);
    }
    return [...groups].map(([labels, values]) => ({ labels: JSON.parse(labels) as HistoryPoints['labels'], values: values.sort((a, b) => a[0] - b[0]) }));
  }

  /** Daily points of a series since `sinceMs`. */
  daily(name: string, sinceMs: number): HistoryPoints[] {
    return this.history.query(name, { sinceMs, stepMs: DAY_MS }).points;
  }
}

/** The gauge of `tier` in a series' points. */
const ofTier = (points: HistoryPoints[], tier: string) => points.find((p) => p.labels.tier === tier)?.values ?? [];

export function gatherFacts(src: CostSource, month: Month, tiers: PricedTier[]): CostFacts {
  const nowMs = src.nowMs;
  const until = Math.min(nowMs, month.toMs);
  // A day before the month too: the value in force when it began.
  const since = month.fromMs - DAY_MS;
  const used = src.series('tierfs_tier_used_bytes', since);
  const stored = src.series('tierfs_tier_stored_bytes', since);
  const requests = src.series('tierfs_objectstore_requests_total', month.fromMs);
  const bytes = src.series('tierfs_objectstore_bytes_total', month.fromMs);
  const usage = new Map((src.db.prepare('SELECT tier, files, bytes FROM tier_usage').all() as { tier: string; files: number; bytes: number }[]).map((r) => [r.tier, r]));

  const facts: TierFacts[] = tiers.map((t) => {
    const values = ofTier(t.kind === 'object' ? stored : used, t.tier);
    const before = values.filter(([time]) => time < month.fromMs).at(-1)?.[1];
    const inMonth = values.filter(([time]) => time >= month.fromMs && time < until);
    const backends: Record<string, BackendActivity> = {};
    t.backends.forEach((b, index) => {
      const ops: BackendActivity['ops'] = {};
      const add = (points: HistoryPoints[], key: 'requests' | 'bytes') => {
        for (const p of points) {
          if (p.labels.tier !== t.tier || p.labels.backend !== b.backend || !p.labels.op) continue;
          const total = p.values.filter(([time]) => time >= month.fromMs && time < month.toMs).reduce((s, [, v]) => s + v, 0);
          const o = (ops[p.labels.op] ??= { requests: 0, bytes: 0 });
          o[key] += total;
        }
      };
      add(requests, 'requests');
      add(bytes, 'bytes');
      const objectsNow = t.kind === 'object' ? src.queries.objects(t.tier, index, b.price.minBillableBytes) : { objects: 0, bytes: 0, belowMin: 0, paddingBytes: 0 };
      backends[b.backend] = { ops, objectsNow };
    });
    const u = usage.get(t.tier);
    return {
      tier: t.tier,
      storedByteMs: integrate(inMonth, month.fromMs, until, before),
      storedBytesNow: values.at(-1)?.[1] ?? 0,
      fileBytesNow: u?.bytes ?? 0,
      filesNow: u?.files ?? 0,
      backends,
    };
  });
  return {
    period: { ...month, nowMs },
    tiers: facts,
    removals: src.queries.removals(month.fromMs, until),
    dirs: src.queries.byDir(),
    historySinceMs: src.queries.firstHistoryMs(),
  };
}

export interface CostRow {
  tier: string;
  /** the backend ("volumes" for a local tier); absent in rows by tier */
  backend?: string;
  priceClass: string;
  storedBytesNow: number;
  /** GB-months of storage charged so far this month */
  storedGBMonths: number;
  requests: { writes: number; reads: number; free: number };
  /** body bytes read back (retrieval) and written */
  readBytes: number;
  writtenBytes: number;
  earlyRemovals: number;
  monthToDate: Charges;
  projectedMonth: Charges;
}

/** Prices facts under `tiers`: one row per tier and backend. */
export function priceFacts(facts: CostFacts, tiers: PricedTier[]): CostRow[] {
  const { fromMs, toMs, nowMs } = facts.period;
  const monthMs = toMs - fromMs;
  const until = Math.min(nowMs, toMs);
  const elapsed = Math.max(0, until - fromMs) / monthMs;
  const rows: CostRow[] = [];
  for (const t of tiers) {
    const f = facts.tiers.find((x) => x.tier === t.tier);
    if (!f) continue;
    const payload = Object.values(f.backends).reduce((s, b) => s + b.objectsNow.bytes, 0);
    t.backends.forEach((b, index) => {
      const a = f.backends[b.backend] ?? { ops: {}, objectsNow: { objects: 0, bytes: 0, belowMin: 0, paddingBytes: 0 } };
      // A tier's stored bytes are recorded for the tier; its backends share them as they share its objects now.
      const share = t.backends.length === 1 ? 1 : payload > 0 ? a.objectsNow.bytes / payload : 1 / t.backends.length;
      const p = b.price;
      const req = { writes: 0, reads: 0, free: 0 };
      let readBytes = 0;
      let writtenBytes = 0;
      for (const [op, o] of Object.entries(a.ops)) {
        const cls = requestClass(op);
        req[cls === 'write' ? 'writes' : cls === 'read' ? 'reads' : 'free'] += o.requests;
        if (op === 'get') readBytes += o.bytes;
        if (op === 'put') writtenBytes += o.bytes;
      }
      const removals = facts.removals.filter((r) => r.tier === t.tier && (r.backendBytes[String(index)] ?? 0) > 0);
      const early = removals.reduce((s, r) => s + earlyDeletionUsd(r.backendBytes[String(index)]!, r.timeMs - r.writtenMs, p), 0);
      const storedByteMs = f.storedByteMs * share;
      const mtd = addCharges(noCharges(), {
        storageUsd: storageUsd(storedByteMs, p, monthMs),
        writeRequestsUsd: requestsUsd({ writes: req.writes, reads: 0 }, p),
        readRequestsUsd: requestsUsd({ writes: 0, reads: req.reads }, p),
        retrievalUsd: retrievalUsd(readBytes, p),
        egressUsd: egressUsd(readBytes, p),
        earlyDeletionUsd: early,
        objectSizeUsd: objectSizeUsd({ count: a.objectsNow.objects, paddingBytes: a.objectsNow.paddingBytes }, p, elapsed),
        monitoringUsd: monitoringUsd(a.objectsNow.objects, p, elapsed),
      });
      // The rest of the month: storage at today's bytes, activity at this month's pace, per-object fees whole.
      const rest = Math.max(0, toMs - until);
      const pace = elapsed > 0 ? 1 / elapsed : 0;
      const activity = scaleCharges({ ...noCharges(), ...pick(mtd, ['writeRequestsUsd', 'readRequestsUsd', 'retrievalUsd', 'egressUsd', 'earlyDeletionUsd']) }, pace);
      const projected = addCharges(activity, {
        storageUsd: mtd.storageUsd + storageUsd(f.storedBytesNow * share * rest, p, monthMs),
        objectSizeUsd: objectSizeUsd({ count: a.objectsNow.objects, paddingBytes: a.objectsNow.paddingBytes }, p, 1),
        monitoringUsd: monitoringUsd(a.objectsNow.objects, p, 1),
      });
      rows.push({
        tier: t.tier,
        backend: b.backend,
        priceClass: p.class,
        storedBytesNow: Math.round(f.storedBytesNow * share),
        storedGBMonths: storedByteMs / GB / monthMs,
        requests: req,
        readBytes,
        writtenBytes,
        earlyRemovals: removals.length,
        monthToDate: mtd,
        projectedMonth: projected,
      });
    });
  }
  return rows;
}

function pick(c: Charges, keys: (keyof Charges)[]): Partial<Charges> {
  return Object.fromEntries(keys.map((k) => [k, c[k]]));
}

/** Rows of one tier summed into one. */
export function byTier(rows: CostRow[]): CostRow[] {
  const out = new Map<string, CostRow>();
  for (const r of rows) {
    const t = out.get(r.tier);
    if (!t) {
      const { backend: _b, ...rest } = r;
      out.set(r.tier, { ...rest, requests: { ...r.requests } });
      continue;
    }
    if (t.priceClass !== r.priceClass) t.priceClass = 'mixed';
    t.storedBytesNow += r.storedBytesNow;
    t.storedGBMonths += r.storedGBMonths;
    t.requests.writes += r.requests.writes;
    t.requests.reads += r.requests.reads;
    t.requests.free += r.requests.free;
    t.readBytes += r.readBytes;
    t.writtenBytes += r.writtenBytes;
    t.earlyRemovals = Math.max(t.earlyRemovals, r.earlyRemovals); // one removal spans the tier's backends
    t.monthToDate = addCharges(t.monthToDate, r.monthToDate);
    t.projectedMonth = addCharges(t.projectedMonth, r.projectedMonth);
  }
  return [...out.values()];
}

export function totalOf(rows: CostRow[], key: 'monthToDate' | 'projectedMonth'): Charges {
  return rows.reduce((s, r) => addCharges(s, r[key]), noCharges());
}
