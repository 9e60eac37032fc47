// Sweeps: the same trace under every combination of a few parameter values. A key is a
// policy figure (halfLife, minResidency, hysteresis, interval), a mover figure
// (mover.bandwidth, mover.concurrency), a tier's capacity or watermark (hot.capacity,
// hot.high, hot.low) or a rule's condition (rule.busy.heatAbove).
import type { Config } from '../config/schema.js';
import { parseBytes, parseDuration, parseRatio } from '../config/units.js';
import { simTiers, type SimTier } from './setup.js';
import type { TierLatency } from './results.js';

export interface SweepAxis {
  key: string;
  values: string[];
}

export interface Variant {
  /** key=value per axis, in the order given ('' for no sweep) */
  label: string;
  params: Record<string, string>;
  config: Config;
  tiers: SimTier[];
}

const DURATIONS = new Set(['halfLife', 'minResidency', 'interval', 'fullPassInterval', 'ageAbove', 'ageBelow', 'idleAbove', 'idleBelow']);
const SIZES = new Set(['capacity', 'bandwidth', 'sizeAbove', 'sizeBelow']);
const RATIOS = new Set(['hysteresis', 'high', 'low']);

function value(field: string, v: string): number {
  if (DURATIONS.has(field)) return parseDuration(v);
  if (SIZES.has(field)) return parseBytes(v);
  if (RATIOS.has(field)) return parseRatio(v);
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${field}: not a number: ${v}`);
  return n;
}

export function parseSweep(spec: string): SweepAxis {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--sweep ${spec}: want key=v1,v2,...`);
  const values = spec.slice(eq + 1).split(',').filter(Boolean);
  if (values.length === 0) throw new Error(`--sweep ${spec}: no values`);
  return { key: spec.slice(0, eq), values };
}

/** The config and capacities with one key set. */
export function applyParam(config: Config, capacities: Map<string, number>, key: string, v: string): Config {
  const parts = key.split('.');
  const policy = { ...config.policy };
  if (parts.length === 1 && ['halfLife', 'minResidency', 'hysteresis', 'interval', 'fullPassInterval'].includes(key)) {
    return { ...config, policy: { ...policy, [key]: value(key, v) } };
  }
  if (parts[0] === 'mover' && parts.length === 2 && ['bandwidth', 'concurrency', 'busyOpsPerSecond'].includes(parts[1]!)) {
    return { ...config, mover: { ...config.mover, [parts[1]!]: value(parts[1]!, v) } };
  }
  if (parts[0] === 'rule' && parts.length === 3) {
    const [, name, field] = parts as [string, string, string];
    if (!config.policy.rules.some((r) => r.name === name)) throw new Error(`--sweep ${key}: no rule named ${name}`);
    const rules = config.policy.rules.map((r) => (r.name === name ? { ...r, match: { ...r.match, [field]: value(field, v) } } : r));
    return { ...config, policy: { ...policy, rules } };
  }
  const tier = config.tiers.find((t) => t.name === parts[0]);
  if (tier && parts.length === 2) {
    if (parts[1] === 'capacity') {
      capacities.set(tier.name, value('capacity', v));
      return config;
    }
    if (parts[1] === 'high' || parts[1] === 'low') {
      const tiers = config.tiers.map((t) => (t === tier ? { ...t, watermarks: { ...t.watermarks, [parts[1]!]: value(parts[1]!, v) } } : t));
      return { ...config, tiers: tiers as Config['tiers'] };
    }
  }
  throw new Error(`--sweep ${key}: not a key a sweep knows (halfLife, minResidency, hysteresis, interval, mover.bandwidth, mover.concurrency, TIER.capacity, TIER.high, TIER.low, rule.NAME.CONDITION)`);
}

/** Every combination of the axes' values (one variant, unchanged, without axes). */
export function variants(config: Config, capacities: Map<string, number>, latencies: Map<string, TierLatency>, axes: SweepAxis[]): Variant[] {
  let combos: Record<string, string>[] = [{}];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => ({ ...c, [a.key]: v })));
  return combos.map((params) => {
    const caps = new Map(capacities);
    let cfg = config;
    for (const [k, v] of Object.entries(params)) cfg = applyParam(cfg, caps, k, v);
    return {
      label: Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' '),
      params,
      config: cfg,
      tiers: simTiers(cfg, caps, latencies),
    };
  });
}
