// Tiers and backends that change while mounted (tierfs config apply): a new tier after
// the slowest one is opened, a backend's new connection is made, and each is checked
// before anything switches — every store of a new object tier takes a test object, and a
// reconnected backend must also show one of the objects its tier holds. commit() then
// switches all of them at once; discard() closes what was opened for a change that does
// not go ahead (refused, a dry run, a config file that could not be written).
import type { LiveTierChanges } from '../config/live-changes.js';
import type { ObjectTierConfig, TierConfig } from '../config/schema.js';
import type { ObjectStore } from '../objectstore/types.js';
import { checkBackend, objectsOnBackend } from './object/backend-check.js';
import { backendLabels } from './object/object-tier.js';
import type { ObjectLayout } from './object/types.js';
import type { AnyTier, TierSet } from './tier-set.js';

export interface StagedTiers {
  /** why the change cannot go ahead; empty when it can */
  problems: string[];
  /** the new tiers into the set, the new connections into their tiers */
  commit(): void;
  /** close what was opened */
  discard(): Promise<void>;
}

export interface LiveTierDeps {
  tiers: TierSet;
  fsid: string;
  /** opens a tier as the mount does, but changing nothing on its volumes (until commit) */
  open(tier: TierConfig): Promise<AnyTier>;
  /** the store of backend `index` of a tier, as the mount makes it */
  store(tier: ObjectTierConfig, index: number): ObjectStore;
  /** layouts (JSON) of files on a tier whose objects a new connection must find (Catalog.layoutsToCheck) */
  layoutsToCheck(tier: string): string[];
  /** for each check of a store */
  timeoutMs: number;
}

export async function stageTierChanges(changes: LiveTierChanges, d: LiveTierDeps): Promise<StagedTiers> {
  const problems: string[] = [];
  const opened: AnyTier[] = [];
  for (const t of changes.added) {
    try {
      const tier = await d.open(t);
      opened.push(tier);
      if (tier.kind === 'object') problems.push(...(await tier.object.checkStores(d.timeoutMs)).map((p) => `new tier ${t.name}: ${p}`));
    } catch (err) {
      problems.push(`new tier ${t.name} cannot be opened: ${(err as Error).message}`);
    }
  }
  const swaps: { tier: string; index: number; store: ObjectStore }[] = [];
  for (const { tier, index } of changes.backends) {
    const what = `tiers.${tier.name}.backends[${index}] (${backendLabels(tier.backends)[index]})`;
    try {
      const store = d.store(tier, index);
      const held = d.layoutsToCheck(tier.name).flatMap((l) => objectsOnBackend(JSON.parse(l) as ObjectLayout, index));
      const problem = await checkBackend(store, d.fsid, held, d.timeoutMs);
      if (problem === null) swaps.push({ tier: tier.name, index, store });
      else problems.push(`${what}: the new connection was not taken: ${problem}`);
    } catch (err) {
      problems.push(`${what}: the new connection cannot be made: ${(err as Error).message}`);
    }
  }
  const discard = async () => {
    await Promise.all(opened.map((t) => (t.kind === 'object' ? t.object.close() : undefined)));
  };
  return {
    problems,
    discard,
    commit() {
      // Only a change that is taken touches a new tier's volumes: one refused (another of
      // its tiers or backends failed its check) leaves the directories as they were.
      for (const t of opened) {
        if (t.kind === 'local') t.local.makeVolumesPrivate();
        d.tiers.add(t);
      }
      for (const s of swaps) d.tiers.object(s.tier).replaceStore(s.index, s.store);
    },
  };
}
