// The three reports — cost, capacity, advice — as the JSON that `tierfs report … --json`
// prints and the admin API serves (GET /api/report/…): one builder each, from the
// catalog's database, a configuration and a time. Units are in the key names (Usd,
// Bytes, Ms, Days); every report names itself and says what it could not conclude.
import type Database from 'better-sqlite3';
import type { Config } from '../config/schema.js';
import { ADVICE_WINDOW_DAYS, advise, type Advice, type AdviceFacts, type AdviceReport } from './advice.js';
import {
  byTier, CostSource, gatherFacts, monthOf, previousMonth, priceFacts, totalOf, type CostFacts, type CostRow, type Month,
} from './accounting.js';
import { forecastCapacity, FORECAST_WINDOW_DAYS, MIN_FORECAST_DAYS, theilSen, type DaysTo, type ForecastStatus } from './forecast.js';
import { DAY_MS, type Charges } from './model.js';
import { GB, type ResolvedPrice } from './prices.js';
import { priceTiers, type PricedTier } from './pricing.js';

export type CostBy = 'tier' | 'backend' | 'dir';

export interface ReportContext {
  db: Database.Database;
  config: Pick<Config, 'tiers' | 'cost' | 'cache' | 'policy'>;
  nowMs: number;
}

export interface DirCostRow {
  dir: string;
  files: number;
  bytes: number;
  /** storage of what the directory holds now, for a whole month at today's prices (per-directory history is not kept) */
  storageUsdPerMonth: number;
}

export interface CostReport {
  report: 'cost';
  currency: 'USD';
  month: string;
  by: CostBy;
  period: { fromMs: number; toMs: number; nowMs: number; from: string; to: string; now: string; elapsedFraction: number };
  monthToDate: Charges;
  projectedMonth: Charges;
  /** bytes of files held now, and the projected month's total over them */
  fileBytesNow: number;
  effectiveUsdPerGBMonth: number | null;
  rows: (CostRow & { effectiveUsdPerGBMonth?: number | null })[] | DirCostRow[];
  topDirs: DirCostRow[];
  lastMonths: { month: string; totalUsd: number }[];
  prices: ({ tier: string; backend: string } & ResolvedPrice)[];
  notes: string[];
  /** with --config: the same facts priced under another configuration; baseline is the running one */
  whatIf?: { configFile: string; baselineMonthToDate: Charges; baselineProjectedMonth: Charges; projectedDifferenceUsd: number };
}

function dirRows(facts: CostFacts, tiers: PricedTier[]): DirCostRow[] {
  // What a byte of file costs a month on each tier: an object tier stores (k+m)/k bytes for it, spread over its backends.
  const perFileByte = new Map(
    tiers.map((t) => {
      const ratio = t.scheme ? (t.scheme.k + t.scheme.m) / t.scheme.k : 1;
      const price = t.backends.reduce((s, b) => s + b.price.storagePerGBMonth, 0) / t.backends.length;
      return [t.tier, (ratio * price) / GB];
    }),
  );
  const out = new Map<string, DirCostRow>();
  for (const d of facts.dirs) {
    const name = d.dir === '' ? '/' : `/${d.dir}`;
    const row = out.get(name) ?? { dir: name, files: 0, bytes: 0, storageUsdPerMonth: 0 };
    row.files += d.files;
    row.bytes += d.bytes;
    row.storageUsdPerMonth += d.bytes * (perFileByte.get(d.tier) ?? 0);
    out.set(name, row);
  }
  return [...out.values()].sort((a, b) => b.storageUsdPerMonth - a.storageUsdPerMonth || b.bytes - a.bytes);
}

function monthCost(src: CostSource, month: Month, tiers: PricedTier[]) {
  const facts = gatherFacts(src, month, tiers);
  const rows = priceFacts(facts, tiers);
  return { facts, rows, monthToDate: totalOf(rows, 'monthToDate'), projectedMonth: totalOf(rows, 'projectedMonth') };
}

export function costReport(ctx: ReportContext, opts: { month?: string; by?: CostBy; whatIf?: { config: ReportContext['config']; file: string } } = {}): CostReport {
  const by = opts.by ?? 'tier';
  const src = new CostSource(ctx.db, ctx.nowMs);
  const month = monthOf(opts.month, ctx.nowMs);
  const baseTiers = priceTiers(ctx.config);
  const tiers = opts.whatIf ? priceTiers(opts.whatIf.config) : baseTiers;
  const { facts, rows, monthToDate, projectedMonth } = monthCost(src, month, tiers);
  const fileBytesNow = facts.tiers.reduce((s, t) => s + t.fileBytesNow, 0);
  const effective = (usd: number, bytes: number) => (bytes > 0 ? usd / (bytes / GB) : null);
  const tierRows = byTier(rows).map((r) => ({ ...r, effectiveUsdPerGBMonth: effective(r.projectedMonth.totalUsd, facts.tiers.find((t) => t.tier === r.tier)?.fileBytesNow ?? 0) }));
  const dirs = dirRows(facts, tiers);

  const lastMonths: CostReport['lastMonths'] = [];
  let m = month;
  for (let i = 0; i < 3; i++) {
    m = previousMonth(m);
    if (facts.historySinceMs === undefined || facts.historySinceMs >= m.toMs) break;
    lastMonths.push({ month: m.month, totalUsd: monthCost(src, m, tiers).monthToDate.totalUsd });
  }

  const until = Math.min(ctx.nowMs, month.toMs);
  const notes: string[] = [];
  if (facts.historySinceMs === undefined) notes.push('no metrics history recorded yet (metrics.history.enabled): storage and requests are 0');
  else if (facts.historySinceMs > month.fromMs) notes.push(`the history begins ${new Date(facts.historySinceMs).toISOString()}: nothing before is counted`);
  if (ctx.nowMs < month.fromMs) notes.push('the month has not begun');
  for (const t of tiers) if (t.kind === 'object' && t.backends.every((b) => b.price.class === 'local' && b.price.overridden.length === 0)) notes.push(`tier ${t.tier} has no price class (cost.tiers.${t.tier}.class): priced at 0`);
  notes.push('per-object charges (minimum billable size, overhead, monitoring) are for the objects held now; directories are priced by what they hold now');

  const base = opts.whatIf ? monthCost(src, month, baseTiers) : undefined;
  return {
    report: 'cost',
    currency: 'USD',
    month: month.month,
    by,
    period: {
      fromMs: month.fromMs, toMs: month.toMs, nowMs: ctx.nowMs,
      from: new Date(month.fromMs).toISOString(), to: new Date(month.toMs).toISOString(), now: new Date(ctx.nowMs).toISOString(),
      elapsedFraction: Math.max(0, until - month.fromMs) / (month.toMs - month.fromMs),
    },
    monthToDate,
    projectedMonth,
    fileBytesNow,
    effectiveUsdPerGBMonth: effective(projectedMonth.totalUsd, fileBytesNow),
    rows: by === 'tier' ? tierRows : by === 'backend' ? rows : dirs,
    topDirs: dirs.slice(0, 10),
    lastMonths,
    prices: tiers.flatMap((t) => t.backends.map((b) => ({ tier: t.tier, backend: b.backend, ...b.price }))),
    notes,
    ...(opts.whatIf && base
      ? {
          whatIf: {
            configFile: opts.whatIf.file,
            baselineMonthToDate: base.monthToDate,
            baselineProjectedMonth: base.projectedMonth,
            projectedDifferenceUsd: projectedMonth.totalUsd - base.projectedMonth.totalUsd,
          },
        }
      : {}),
  };
}

// ── capacity ─────────────────────────────────────────────────────────────────

export interface CapacityTier {
  tier: string;
  kind: 'local' | 'object';
  /** 0: unbounded (an object tier without a configured capacity) */
  capacityBytes: number;
  highWatermarkRatio: number;
  highWatermarkBytes: number;
  usedBytesNow: number;
  filesNow: number;
  historyDays: number;
  growthBytesPerDay: number | null;
  growthBytesPerDayP10: number | null;
  growthBytesPerDayP90: number | null;
  growthBytesPerWeek: number | null;
  growthFilesPerDay: number | null;
  status: ForecastStatus;
  daysToHighWatermark: DaysTo | null;
  daysToFull: DaysTo | null;
  daily: { date: string; timeMs: number; usedBytes: number; files: number | null }[];
}

export interface CapacityReport {
  report: 'capacity';
  nowMs: number;
  now: string;
  method: string;
  windowDays: number;
  minHistoryDays: number;
  tiers: CapacityTier[];
}

export function capacityReport(ctx: ReportContext): CapacityReport {
  const src = new CostSource(ctx.db, ctx.nowMs);
  const since = ctx.nowMs - 730 * DAY_MS;
  const used = src.daily('tierfs_tier_used_bytes', since);
  const files = src.daily('tierfs_tier_files', since);
  const capacity = src.daily('tierfs_tier_capacity_bytes', ctx.nowMs - 2 * DAY_MS);
  const usage = new Map((ctx.db.prepare('SELECT tier, files, bytes FROM tier_usage').all() as { tier: string; files: number; bytes: number }[]).map((r) => [r.tier, r]));
  const tiers = ctx.config.tiers.map((t): CapacityTier => {
    const of = (points: typeof used) => points.find((p) => p.labels.tier === t.name)?.values ?? [];
    const daily = of(used);
    const dailyFiles = new Map(of(files));
    const capacityBytes = t.capacity ?? of(capacity).at(-1)?.[1] ?? 0;
    const usedNow = daily.at(-1)?.[1] ?? usage.get(t.name)?.bytes ?? 0;
    const f = forecastCapacity(daily, { capacityBytes, highWatermark: t.watermarks.high, usedNow });
    const fileTrend = theilSen(of(files).slice(-FORECAST_WINDOW_DAYS));
    return {
      tier: t.name,
      kind: t.kind,
      capacityBytes,
      highWatermarkRatio: t.watermarks.high,
      highWatermarkBytes: Math.round(capacityBytes * t.watermarks.high),
      usedBytesNow: usedNow,
      filesNow: usage.get(t.name)?.files ?? 0,
      historyDays: daily.length,
      growthBytesPerDay: f.trend?.perDay ?? null,
      growthBytesPerDayP10: f.trend?.perDayP10 ?? null,
      growthBytesPerDayP90: f.trend?.perDayP90 ?? null,
      growthBytesPerWeek: f.trend ? f.trend.perDay * 7 : null,
      growthFilesPerDay: f.trend && fileTrend ? fileTrend.perDay : null,
      status: f.status,
      daysToHighWatermark: f.daysToHighWatermark,
      daysToFull: f.daysToFull,
      daily: daily.map(([timeMs, v]) => ({ date: new Date(timeMs).toISOString().slice(0, 10), timeMs, usedBytes: v, files: dailyFiles.get(timeMs) ?? null })),
    };
  });
  return {
    report: 'capacity',
    nowMs: ctx.nowMs,
    now: new Date(ctx.nowMs).toISOString(),
    method: `Theil–Sen slope of daily used bytes over the last ${FORECAST_WINDOW_DAYS} days, interval from the 10th–90th percentile of the pairwise slopes; "not filling" when the 10th is ≤ 0`,
    windowDays: FORECAST_WINDOW_DAYS,
    minHistoryDays: MIN_FORECAST_DAYS,
    tiers,
  };
}

// ── advice ───────────────────────────────────────────────────────────────────

export interface AdviceAnswer extends AdviceReport {
  report: 'advice';
  nowMs: number;
  now: string;
  currency: 'USD';
  totalEstSavingsUsdPerMonth: number;
  advice: Advice[];
}

/** Sums a history series' values per tier over [sinceMs, now), for one op (or all). */
function perTier(src: CostSource, series: string, sinceMs: number, op?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of src.series(series, sinceMs)) {
    if (!p.labels.tier || (op !== undefined && p.labels.op !== op)) continue;
    const v = p.values.filter(([t]) => t >= sinceMs).reduce((s, [, x]) => s + x, 0);
    out.set(p.labels.tier, (out.get(p.labels.tier) ?? 0) + v);
  }
  return out;
}

export function gatherAdviceFacts(ctx: ReportContext): AdviceFacts {
  const src = new CostSource(ctx.db, ctx.nowMs);
  const q = src.queries;
  const tiers = priceTiers(ctx.config);
  const month = ctx.nowMs - 30 * DAY_MS;
  const week = ctx.nowMs - 7 * DAY_MS;
  const traffic = (since: number) => ({
    getBytes: perTier(src, 'tierfs_objectstore_bytes_total', since, 'get'),
    getRequests: perTier(src, 'tierfs_objectstore_requests_total', since, 'get'),
    mountReadBytes: perTier(src, 'tierfs_read_bytes_total', since),
  });
  const t30 = traffic(month);
  const t7 = traffic(week);
  const reads30 = q.objectTierReads(month);
  const reads7 = q.objectTierReads(week);
  const objectTiers = tiers.filter((t) => t.kind === 'object');
  return {
    nowMs: ctx.nowMs,
    recordingSinceMs: q.firstAccessMs(),
    historySinceMs: q.firstHistoryMs(),
    tiers,
    idleOnFastest: tiers[0] ? q.idle(tiers[0].tier, ctx.nowMs - ADVICE_WINDOW_DAYS['idle-on-fastest-tier'] * DAY_MS) : { files: 0, bytes: 0 },
    objectReads: reads30,
    objectTierTraffic: Object.fromEntries(
      objectTiers.map((t) => [t.tier, { getBytes: t30.getBytes.get(t.tier) ?? 0, getRequests: t30.getRequests.get(t.tier) ?? 0, mountReadBytes: t30.mountReadBytes.get(t.tier) ?? 0 }]),
    ),
    recallWeek: Object.fromEntries(
      objectTiers.map((t) => {
        const mine = reads7.filter((r) => r.tier === t.tier);
        return [t.tier, {
          getBytes: t7.getBytes.get(t.tier) ?? 0,
          getRequests: t7.getRequests.get(t.tier) ?? 0,
          workingSetBytes: mine.reduce((s, r) => s + Math.min(r.size, r.readBytes), 0),
          files: mine.length,
        }];
      }),
    ),
    smallObjects: Object.fromEntries(
      objectTiers.map((t) => [
        t.tier,
        Object.fromEntries(
          t.backends.flatMap((b, i) => {
            if (b.price.minBillableBytes <= 0) return [];
            const o = q.objects(t.tier, i, b.price.minBillableBytes);
            return o.belowMin > 0 ? [[b.backend, { objects: o.belowMin, paddingBytes: o.paddingBytes }]] : [];
          }),
        ),
      ]),
    ),
    costlyObjects: Object.fromEntries(
      objectTiers.map((t) => {
        const p = t.backends[0]!.price;
        return [t.tier, q.costlyObjects(t.tier, { minBytes: p.minBillableBytes, overheadBytes: p.objectOverheadBytes, usdPerWrite: p.writesPer1000 / 1000, usdPerByteMonth: p.storagePerGBMonth / GB })];
      }),
    ),
    removals: q.removals(month, ctx.nowMs + 1),
    minResidencyMs: ctx.config.policy.minResidency,
    tierUsage: Object.fromEntries((ctx.db.prepare('SELECT tier, files, bytes FROM tier_usage').all() as { tier: string; files: number; bytes: number }[]).map((r) => [r.tier, { files: r.files, bytes: r.bytes }])),
  };
}

export function adviceReport(ctx: ReportContext): AdviceAnswer {
  const r = advise(gatherAdviceFacts(ctx));
  return {
    report: 'advice',
    nowMs: ctx.nowMs,
    now: new Date(ctx.nowMs).toISOString(),
    currency: 'USD',
    totalEstSavingsUsdPerMonth: r.advice.reduce((s, a) => s + a.estSavingsUsdPerMonth, 0),
    ...r,
  };
}
