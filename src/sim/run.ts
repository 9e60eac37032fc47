// One pass over a trace feeds every simulation at once (the policy under each sweep
// variant, the baselines, the bound): the trace is read once, whatever its size.
import { BaselineSimulation } from './baselines.js';
import { PolicySimulation, type Simulation } from './engine.js';
import { OfflineBound } from './offline-bound.js';
import type { PolicyResult } from './results.js';
import type { SimSetup } from './setup.js';
import type { Variant } from './sweep.js';
import type { SimEvent } from './traces/types.js';

export const BASELINES = ['lru', 'lfu', 'idle-age'] as const;

export interface VariantResult {
  label: string;
  params: Record<string, string>;
  /** the hot tier's capacity in this variant, bytes (0: unlimited) */
  hotCapacity: number;
  results: PolicyResult[];
}

export interface RunOptions {
  baselines: boolean;
  bound: boolean;
  misplacementWindowMs: number;
  passIntervalMs?: number;
  pins?: Map<string, string>;
  cost?: SimSetup['cost'];
  catalog?: SimSetup['catalog'];
}

export function simulationsFor(v: Variant, o: RunOptions): Simulation[] {
  const setup: SimSetup = { config: v.config, tiers: v.tiers, misplacementWindowMs: o.misplacementWindowMs, passIntervalMs: o.passIntervalMs, pins: o.pins, cost: o.cost, catalog: o.catalog };
  const sims: Simulation[] = [new PolicySimulation(setup)];
  if (o.baselines) for (const b of BASELINES) sims.push(new BaselineSimulation(b, setup));
  if (o.bound) sims.push(new OfflineBound(v.tiers));
  return sims;
}

export async function runVariants(events: AsyncIterable<SimEvent> | Iterable<SimEvent>, variants: Variant[], o: RunOptions): Promise<VariantResult[]> {
  const sims = variants.map((v) => simulationsFor(v, o));
  const all = sims.flat();
  for await (const e of events) for (const s of all) s.event(e);
  return variants.map((v, i) => ({ label: v.label, params: v.params, hotCapacity: v.tiers[0]!.capacityBytes, results: sims[i]!.map((s) => s.finish()) }));
}

/** The variant whose policy served the most bytes from the first tier (ties: fewer bytes moved). */
export function best(results: VariantResult[]): VariantResult {
  const score = (r: VariantResult) => r.results[0]!.tiers[0]!.byteHitRatio;
  const moved = (r: VariantResult) => r.results[0]!.promotions.bytes + r.results[0]!.demotions.bytes;
  return [...results].sort((a, b) => score(b) - score(a) || moved(a) - moved(b))[0]!;
}
