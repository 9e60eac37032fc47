// tierfs report cost|capacity|advice: through the running daemon (which brings the
// history up to now first), or, with --from-config, straight from the catalog of a
// filesystem that is not mounted. --json prints what GET /api/report/… serves.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { adminJson, socketPathOf } from '../admin/client.js';
import { costOptions } from '../admin/report-routes.js';
import { Catalog } from '../catalog/catalog.js';
import { catalogPathOf } from '../catalog/health.js';
import { loadConfig } from '../config/load.js';
import type { CostRow } from '../cost/accounting.js';
import type { DaysTo } from '../cost/forecast.js';
import type { Charges } from '../cost/model.js';
import { adviceReport, capacityReport, costReport, type AdviceAnswer, type CapacityReport, type CostReport, type DirCostRow, type ReportContext } from '../cost/report.js';
import { pickMount } from './info-cmd.js';
import { tierfsMounts } from './mounts.js';
import { CliError, formatBytes, printJson, table } from './output.js';

interface Where {
  fromConfig?: string;
}

/** Through the daemon of the mount, or from the catalog of --from-config's filesystem. */
async function ask<T>(mountpoint: string | undefined, where: Where, path: string, offline: (ctx: ReportContext) => T, body?: unknown): Promise<T> {
  if (where.fromConfig) {
    const { config } = loadConfig(where.fromConfig);
    if (tierfsMounts().some((m) => resolve(m.dataDir) === resolve(config.dataDir))) {
      throw new CliError(`the filesystem of ${where.fromConfig} is mounted: ask its daemon (leave out --from-config)`);
    }
    const catalog = new Catalog(catalogPathOf(config.dataDir));
    try {
      return offline({ db: catalog.db, config, nowMs: Date.now() });
    } finally {
      catalog.close();
    }
  }
  if (!mountpoint && tierfsMounts().length === 0) throw new CliError('no tierfs is mounted; to read an unmounted one’s catalog, name its configuration with --from-config');
  const m = pickMount(mountpoint);
  return body === undefined ? adminJson<T>(socketPathOf(m.dataDir), 'GET', path) : adminJson<T>(socketPathOf(m.dataDir), 'POST', path, body);
}

const usd = (n: number) => (n === 0 ? '0' : Math.abs(n) < 0.01 ? n.toPrecision(2) : n.toFixed(2));
const days = (d: number | null) => (d === null ? 'never' : d < 1 ? '<1' : d >= 3650 ? '>10 years' : Math.round(d).toString());
const span = (d: DaysTo | null) => (d === null ? '–' : `${days(d.estimate)} (${days(d.earliest)}–${days(d.latest)})`);

function chargeCells(c: Charges): string[] {
  return [c.storageUsd, c.writeRequestsUsd + c.readRequestsUsd, c.retrievalUsd + c.egressUsd, c.earlyDeletionUsd, c.objectSizeUsd + c.monitoringUsd, c.totalUsd].map(usd);
}

function printCost(r: CostReport): void {
  const head = r.whatIf ? `what-if under ${r.whatIf.configFile}: ` : '';
  process.stdout.write(`${head}cost of ${r.month} (US$; ${Math.round(r.period.elapsedFraction * 1000) / 10}% of the month recorded, to ${r.period.now})\n\n`);
  if (r.by === 'dir') {
    const rows = (r.rows as DirCostRow[]).map((d) => [d.dir, d.files, formatBytes(d.bytes), usd(d.storageUsdPerMonth)]);
    process.stdout.write(`${table(['directory', 'files', 'bytes', 'storage $/month now'], rows)}\n`);
  } else {
    const rows = (r.rows as CostRow[]).map((x) => [x.backend ? `${x.tier}/${x.backend}` : x.tier, x.priceClass, formatBytes(x.storedBytesNow), ...chargeCells(x.monthToDate), usd(x.projectedMonth.totalUsd)]);
    process.stdout.write(`${table([r.by, 'class', 'stored', 'storage', 'requests', 'retrieval', 'early del.', 'per object', 'to date', 'month (proj.)'], rows)}\n`);
  }
  process.stdout.write(`\nmonth to date $${usd(r.monthToDate.totalUsd)}, projected $${usd(r.projectedMonth.totalUsd)}`);
  if (r.effectiveUsdPerGBMonth !== null) process.stdout.write(`; $${usd(r.effectiveUsdPerGBMonth)} per GB of files per month`);
  process.stdout.write('\n');
  if (r.whatIf) process.stdout.write(`against the running configuration: projected $${usd(r.whatIf.baselineProjectedMonth.totalUsd)} (${r.whatIf.projectedDifferenceUsd >= 0 ? '+' : ''}${usd(r.whatIf.projectedDifferenceUsd)})\n`);
  if (r.lastMonths.length > 0) process.stdout.write(`earlier: ${r.lastMonths.map((m) => `${m.month} $${usd(m.totalUsd)}`).join(', ')}\n`);
  if (r.by !== 'dir' && r.topDirs.length > 0) process.stdout.write(`top directories (storage per month now): ${r.topDirs.slice(0, 5).map((d) => `${d.dir} $${usd(d.storageUsdPerMonth)}`).join(', ')}\n`);
  for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
}

function printCapacity(r: CapacityReport): void {
  const rows = r.tiers.map((t) => [
    t.tier, formatBytes(t.usedBytesNow), t.capacityBytes > 0 ? formatBytes(t.capacityBytes) : 'unbounded',
    t.growthBytesPerDay === null ? '–' : `${t.growthBytesPerDay < 0 ? '-' : ''}${formatBytes(Math.abs(t.growthBytesPerDay))}`,
    t.status, span(t.daysToHighWatermark), span(t.daysToFull), t.historyDays,
  ]);
  process.stdout.write(`${table(['tier', 'used', 'capacity', 'growth/day', 'forecast', 'days to high watermark', 'days to full', 'days of history'], rows)}\n`);
  process.stdout.write(`\n${r.method}; at least ${r.minHistoryDays} days of history needed\n`);
}

function printAdvice(r: AdviceAnswer): void {
  if (r.advice.length === 0) process.stdout.write('no advice: nothing in the recorded data calls for a change\n');
  for (const a of r.advice) {
    process.stdout.write(`${a.kind} (${a.tier}): ${a.reason}\n  → ${a.action}${a.estSavingsUsdPerMonth > 0 ? ` (about $${usd(a.estSavingsUsdPerMonth)}/month)` : ''}\n`);
  }
  if (r.advice.length > 1) process.stdout.write(`\nin all about $${usd(r.totalEstSavingsUsdPerMonth)}/month\n`);
  for (const s of r.tooShort) process.stdout.write(`${s.kind}: history too short (${s.recordedDays} of the ${s.neededDays} days it needs)\n`);
}

export function registerReportCommands(program: Command): void {
  const report = program.command('report').description('what the tiers cost, where their use is heading, and what to change');
  const fromConfig = ['--from-config <file>', 'read the catalog of this configuration’s filesystem directly (when it is not mounted)'] as const;

  report
    .command('cost')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--month <YYYY-MM>', 'which month (default: this one)')
    .option('--by <what>', 'rows by tier, backend or dir', 'tier')
    .option('--config <file>', 'what-if: price the recorded month under this configuration’s cost section')
    .option(...fromConfig)
    .option('--json', 'print as JSON (as GET /api/report/cost)')
    .description('month to date and projected month, per tier, backend or directory: storage, requests, retrieval, early deletion')
    .action(async (mountpoint: string | undefined, opts: { month?: string; by?: string; config?: string; fromConfig?: string; json?: boolean }) => {
      let q: ReturnType<typeof costOptions>;
      try {
        q = costOptions(opts.month, opts.by);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const file = opts.config && resolve(opts.config);
      const whatIf = file ? { config: loadConfig(file).config, file } : undefined;
      const r = await ask<CostReport>(
        mountpoint, opts, `/v1/report/cost?${new URLSearchParams({ ...(q.month ? { month: q.month } : {}), by: q.by })}`,
        (ctx) => costReport(ctx, { ...q, whatIf }),
        file ? { ...q, configText: readFileSync(file, 'utf8'), configFile: file } : undefined,
      );
      if (opts.json) return printJson(r);
      printCost(r);
    });

  report
    .command('capacity')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option(...fromConfig)
    .option('--json', 'print as JSON (as GET /api/report/capacity)')
    .description('per tier: daily use, growth, and days until the high watermark and until full, with an interval')
    .action(async (mountpoint: string | undefined, opts: { fromConfig?: string; json?: boolean }) => {
      const r = await ask<CapacityReport>(mountpoint, opts, '/v1/report/capacity', capacityReport);
      if (opts.json) return printJson(r);
      printCapacity(r);
    });

  report
    .command('advice')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option(...fromConfig)
    .option('--json', 'print as JSON (as GET /api/report/advice)')
    .description('changes the recorded data call for, each with its reason, the files it concerns and what it would save')
    .action(async (mountpoint: string | undefined, opts: { fromConfig?: string; json?: boolean }) => {
      const r = await ask<AdviceAnswer>(mountpoint, opts, '/v1/report/advice', adviceReport);
      if (opts.json) return printJson(r);
      printAdvice(r);
    });
}
