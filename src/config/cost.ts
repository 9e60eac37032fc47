// The cost section of tierfs.yaml: a price class per tier (and, where a tier's backends
// are priced differently, per backend). Each class starts from a preset of list prices
// (src/cost/prices.ts) and may override any of its numbers.
import { z } from 'zod';
import { bytes } from './fields.js';
import { PRESET_NAMES } from '../cost/prices.js';

const money = (what: string) => z.number().min(0).optional().describe(what);

const presetName = z.enum(PRESET_NAMES);

const priceFields = {
  storagePerGBMonth: money('US$ per GB (2^30 bytes) stored for a month; for a local tier, a disk’s price ÷ its months of life'),
  writesPer1000: money('US$ per 1,000 requests that write or list (PUT, POST, LIST, restore)'),
  readsPer1000: money('US$ per 1,000 requests that read (GET, HEAD)'),
  retrievalPerGB: money('US$ per GB read back (retrieval fee)'),
  egressPerGB: money('US$ per GB read back out of the provider’s network (0 in the presets: set it when the mount is outside it)'),
  minStorageDays: z.number().min(0).optional().describe('minimum storage duration: an object deleted or moved out sooner is charged storage for the rest of it'),
  minBillableBytes: bytes().optional().describe('an object smaller than this is billed as this big'),
  objectOverheadBytes: bytes().optional().describe('bytes billed on top of each object'),
  monitoringPer1000Objects: money('US$ per 1,000 objects per month (Intelligent-Tiering monitoring)'),
};

const backendPrice = z.strictObject({ class: presetName.optional().describe('a preset for this backend; default: the tier’s'), ...priceFields });

const tierPrice = z.strictObject({
  class: presetName.default('local').describe('a preset of list prices (tierfs config validate prints its numbers); the keys beside it override it'),
  ...priceFields,
  backends: z
    .record(z.string(), backendPrice)
    .default({})
    .describe('a different class for some of the tier’s backends, by backend name (as in metrics: the name, else the type)'),
});

export const costSchema = z
  .strictObject({
    tiers: z.record(z.string(), tierPrice).default({}).describe('price class per tier name; a tier not named here costs nothing (class local)'),
  })
  .prefault({})
  .describe('what the tiers cost, for tierfs report cost and advice');

export type CostConfig = z.output<typeof costSchema>;
export type TierPriceConfig = CostConfig['tiers'][string];

/** Problems with the cost section that need the rest of the configuration (tier names). */
export function costProblems(cost: CostConfig, tierNames: readonly string[]): { path: (string | number)[]; message: string }[] {
  return Object.keys(cost.tiers)
    .filter((t) => !tierNames.includes(t))
    .map((t) => ({ path: ['cost', 'tiers', t], message: `no tier named "${t}" (tiers: ${tierNames.join(', ')})` }));
}
