// The tiers a simulation runs on: the config's, with capacities and latencies given on
// the command line where the config has none (a local tier's size is its volume's, which
// a simulation cannot measure: without a capacity it is taken as unlimited).
import type { Config } from '../config/schema.js';
import { defaultLatency, type CostHook, type TierLatency } from './results.js';

export interface SimTier {
  name: string;
  kind: 'local' | 'object';
  /** 0: no limit */
  capacityBytes: number;
  high: number;
  low: number;
  latency: TierLatency;
}

export interface SimSetup {
  config: Config;
  tiers: SimTier[];
  /** a demotion read again within this time is a misplacement */
  misplacementWindowMs: number;
  /** classification passes this often in simulated time (default: policy.interval, as the daemon) */
  passIntervalMs?: number;
  /** files or directories pinned to a tier, by path (as `tierfs pin`) */
  pins?: Map<string, string>;
  cost?: CostHook;
  /** the catalog the policy runs on: in memory (default, fast) or SQLite in memory (the daemon's own, slow) */
  catalog?: 'memory' | 'sqlite';
}

export function simTiers(config: Config, capacities: Map<string, number> = new Map(), latencies: Map<string, TierLatency> = new Map()): SimTier[] {
  let localIndex = 0;
  for (const name of [...capacities.keys(), ...latencies.keys()]) {
    if (!config.tiers.some((t) => t.name === name)) throw new Error(`no tier named ${name} (tiers: ${config.tiers.map((t) => t.name).join(', ')})`);
  }
  return config.tiers.map((t) => ({
    name: t.name,
    kind: t.kind,
    capacityBytes: capacities.get(t.name) ?? t.capacity ?? 0,
    high: t.watermarks.high,
    low: t.watermarks.low,
    latency: latencies.get(t.name) ?? defaultLatency(t.kind, t.kind === 'local' ? localIndex++ : 0),
  }));
}

/** A config whose tiers carry the simulated capacities (the classifier reads them there). */
export function withCapacities(config: Config, tiers: SimTier[]): Config {
  return { ...config, tiers: config.tiers.map((t, i) => ({ ...t, capacity: tiers[i]!.capacityBytes || undefined })) as Config['tiers'] };
}

export const DEFAULT_MISPLACEMENT_WINDOW = 7 * 86_400_000;
