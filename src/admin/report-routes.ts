// The report routes: cost, capacity and advice as the JSON `tierfs report … --json`
// prints, for the CLI (admin socket) and the dashboard (GET /api/report/… on the HTTP
// listener). The daemon takes a history sample first, so a report counts everything up
// to the moment it is asked for.
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { adviceReport, capacityReport, costReport, type CostBy } from '../cost/report.js';
import { FsError } from '../errors.js';
import type { Routes } from './server.js';

export interface ReportDeps {
  db: Database.Database;
  /** the running configuration (it may change while mounted) */
  config: () => Config;
  now: () => number;
  /** brings the history up to now (the daemon's sampler) */
  sample?: () => Promise<unknown>;
}

const BY: readonly CostBy[] = ['tier', 'backend', 'dir'];

/** Checks the query of a cost report; errors are the caller's (400). */
export function costOptions(month: unknown, by: unknown): { month?: string; by: CostBy } {
  if (month !== undefined && month !== null && month !== '' && (typeof month !== 'string' || !/^\d{4}-(0[1-9]|1[0-2])$/.test(month))) {
    throw new FsError('EINVAL', `month: expected YYYY-MM, got ${String(month)}`);
  }
  if (by !== undefined && by !== null && by !== '' && !BY.includes(by as CostBy)) throw new FsError('EINVAL', `by: expected one of ${BY.join(', ')}, got ${String(by)}`);
  return { month: (month as string) || undefined, by: ((by as CostBy) || 'tier') };
}

export function reportRoutes(deps: ReportDeps): Routes {
  const ctx = async () => {
    await deps.sample?.();
    return { db: deps.db, config: deps.config(), nowMs: deps.now() };
  };
  return {
    'GET /v1/report/cost': async (url) => costReport(await ctx(), costOptions(url.searchParams.get('month'), url.searchParams.get('by'))),
    // A what-if: the same facts priced under another configuration, sent as its text.
    'POST /v1/report/cost': async (_url, body) => {
      const opts = costOptions(body.month, body.by);
      if (typeof body.configText !== 'string') return costReport(await ctx(), opts);
      const file = typeof body.configFile === 'string' ? body.configFile : 'what-if.yaml';
      let other: Config;
      try {
        other = parseConfig(body.configText, file, dirname(file));
      } catch (err) {
        throw new FsError('EINVAL', (err as Error).message);
      }
      return costReport(await ctx(), { ...opts, whatIf: { config: other, file } });
    },
    'GET /v1/report/capacity': async () => capacityReport(await ctx()),
    'GET /v1/report/advice': async () => adviceReport(await ctx()),
  };
}
