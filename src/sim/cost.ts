// What a simulated placement would have cost, with the configuration's price model
// (src/cost): storage of each tier over the trace (an object tier's bytes times (k+m)/k,
// spread evenly over its backends), reads from object tiers (one GET per data cell: k per
// read, retrieval and egress per byte), and files demoted into object tiers (k+m PUTs
// each, at the first object tier's price). Figures in USD over the trace's span; the
// daemon's own report (tierfs report cost) counts the real requests instead.
import type { Config } from '../config/schema.js';
import { egressUsd, requestsUsd, retrievalUsd, storageUsd } from '../cost/model.js';
import { priceTiers } from '../cost/pricing.js';
import type { CostHook } from './results.js';

const MONTH_MS = 30 * 24 * 3_600_000;

/** A CostHook for cfg's prices, or undefined when it names none (then cost stays null). */
export function simulatedCost(cfg: Pick<Config, 'tiers' | 'cost' | 'cache'>): CostHook | undefined {
  if (Object.keys(cfg.cost.tiers).length === 0) return undefined;
  const priced = new Map(priceTiers(cfg).map((t) => [t.tier, t]));
  const firstObject = [...priced.values()].find((t) => t.kind === 'object');
  return (r) => {
    let usd = 0;
    for (const t of r.tiers) {
      const p = priced.get(t.tier);
      if (!p) continue;
      const byteMs = t.byteHours * 3_600_000;
      if (p.kind === 'local') {
        usd += storageUsd(byteMs, p.backends[0]!.price, MONTH_MS);
        continue;
      }
      const { k, m } = p.scheme!;
      const share = 1 / p.backends.length;
      for (const { price } of p.backends) {
        usd += storageUsd((byteMs * (k + m)) / k * share, price, MONTH_MS);
        usd += requestsUsd({ reads: t.reads * k * share, writes: 0 }, price);
        usd += retrievalUsd(t.readBytes * share, price) + egressUsd(t.readBytes * share, price);
      }
    }
    if (firstObject) {
      const { k, m } = firstObject.scheme!;
      const share = 1 / firstObject.backends.length;
      for (const { price } of firstObject.backends) usd += requestsUsd({ reads: 0, writes: r.demotions.files * (k + m) * share }, price);
    }
    return usd;
  };
}
