// The price class of each tier and backend of a configuration: cost.tiers.<tier>, a
// backend's own entry over it, the preset under both; a tier not named costs nothing.
import type { Config } from '../config/schema.js';
import { backendLabels } from '../tiers/object/object-tier.js';
import { describePrice, resolvePrice, type PriceClass, type PriceSpec, type ResolvedPrice } from './prices.js';

export interface PricedBackend {
  /** its name in metrics */
  backend: string;
  price: ResolvedPrice;
}

export interface PricedTier {
  tier: string;
  kind: 'local' | 'object';
  /** object tiers: one per backend, in the order of the layout's backend indexes; local tiers: one, "volumes" */
  backends: PricedBackend[];
  /** object tiers: (k+m)/k, what a byte of file costs in stored bytes when striped */
  scheme?: { k: number; m: number };
  /** the recall cache of an object tier, memory + disk bytes */
  cacheBytes?: number;
}

const specOf = (c: Partial<PriceClass> & { class?: PriceSpec['class'] }): PriceSpec => {
  const { backends: _b, ...rest } = c as typeof c & { backends?: unknown };
  return { ...rest, class: rest.class ?? 'local' } as PriceSpec;
};

export function priceTiers(cfg: Pick<Config, 'tiers' | 'cost' | 'cache'>): PricedTier[] {
  return cfg.tiers.map((t): PricedTier => {
    const c = cfg.cost.tiers[t.name];
    const tierSpec: PriceSpec = c ? specOf(c) : { class: 'local' };
    if (t.kind === 'local') return { tier: t.name, kind: 'local', backends: [{ backend: 'volumes', price: resolvePrice(tierSpec) }] };
    const labels = backendLabels(t.backends);
    return {
      tier: t.name,
      kind: 'object',
      scheme: t.scheme,
      cacheBytes: cfg.cache.memory + cfg.cache.disk,
      backends: labels.map((backend) => {
        const own = c?.backends[backend];
        // A backend's entry overrides the tier's keys; its own class, if given, replaces the tier's preset.
        const spec: PriceSpec = own ? { ...tierSpec, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) } as PriceSpec : tierSpec;
        return { backend, price: resolvePrice(spec) };
      }),
    };
  });
}

/** Lines for `tierfs config validate`: the numbers each tier is priced at. */
export function describePricing(tiers: PricedTier[]): string[] {
  return tiers.flatMap((t) =>
    t.kind === 'local' || t.backends.every((b) => describePrice(b.price) === describePrice(t.backends[0]!.price))
      ? [`${t.tier}: ${describePrice(t.backends[0]!.price)}`]
      : t.backends.map((b) => `${t.tier}/${b.backend}: ${describePrice(b.price)}`),
  );
}
