// tierfs tier drain NAME: every file on a tier moved off it through the mover (manual
// moves: first in the queue, verified, crash-safe), so the tier can then be removed from
// the configuration. Refused while something would send files back: a rule naming the
// tier, or a pin to it — the drain says which.
import type { Catalog } from '../catalog/catalog.js';
import type { PolicyConfig } from '../config/policy.js';
import type { TierConfig } from '../config/schema.js';
import { FsError } from '../errors.js';
import type { BackgroundMover } from '../mover/background.js';
import type { TierSet } from '../tiers/tier-set.js';
import type { Routes } from './server.js';

export interface DrainDeps {
  catalog: Catalog;
  tiers: TierSet;
  tierConfigs: TierConfig[];
  policy: PolicyConfig;
  background: BackgroundMover;
}

export interface DrainAnswer {
  tier: string;
  to: string;
  queued: number;
  bytes: number;
  /** with wait: moves that did not happen, and why */
  failed: { path: string; error: string }[];
  /** files on the tier once the moves have run (with wait), else before */
  left: number;
}

const PAGE = 5000;

/** The default destination: the next tier down, or the one above for the last tier. */
function nextTier(configs: TierConfig[], name: string): string | undefined {
  const i = configs.findIndex((t) => t.name === name);
  return configs[i + 1]?.name ?? configs[i - 1]?.name;
}

export async function drainTier(d: DrainDeps, name: string, toArg: string | undefined, wait: boolean): Promise<DrainAnswer> {
  d.tiers.get(name); // unknown tier: EINVAL, naming the tiers
  const to = toArg ?? nextTier(d.tierConfigs, name);
  if (to === undefined || to === name) throw new FsError('EINVAL', `tier ${name} is the only tier: there is nowhere to drain it to`);
  d.tiers.get(to);
  const rules = d.policy.rules.filter((r) => r.target === name).map((r) => r.name);
  if (rules.length > 0) {
    throw new FsError('EBUSY', `rule${rules.length > 1 ? 's' : ''} ${rules.join(', ')} send${rules.length > 1 ? '' : 's'} files to ${name}: they would come back. Point ${rules.length > 1 ? 'them' : 'it'} elsewhere first (tierfs config apply / set)`);
  }
  const pins = d.catalog.pinnedInodes().filter((p) => p.pin === name);
  if (pins.length > 0) {
    const paths = pins.slice(0, 3).map((p) => `/${d.catalog.pathOf(p.ino) ?? `inode ${p.ino}`}`);
    throw new FsError('EBUSY', `${pins.length} pin${pins.length > 1 ? 's' : ''} to ${name} (${paths.join(', ')}${pins.length > 3 ? ', …' : ''}) would keep files there: unpin first (tierfs unpin PATH)`);
  }
  const files: { ino: number; path: string; size: number }[] = [];
  for (let after = 0, page; (page = d.catalog.classificationPage(after, PAGE)).length > 0; after = page.at(-1)!.ino) {
    for (const r of page) if (r.tier === name) files.push({ ino: r.ino, path: r.path, size: r.size });
  }
  for (const f of files) d.catalog.enqueueMove({ ino: f.ino, toTier: to, priority: 0, requestedBy: 'drain', reason: `tier ${name} is drained` });
  const answer = { tier: name, to, queued: files.length, bytes: files.reduce((a, f) => a + f.size, 0), failed: [] as DrainAnswer['failed'] };
  if (!wait) {
    d.background.kick();
    return { ...answer, left: d.catalog.usageByTier().get(name)?.files ?? 0 };
  }
  const outcomes = await Promise.all(files.map(async (f) => ({ f, r: await d.background.waitFor(f.ino) })));
  for (const { f, r } of outcomes) if (r.state === 'aborted' || r.error) answer.failed.push({ path: f.path, error: r.error ?? r.reason ?? r.state });
  return { ...answer, left: d.catalog.usageByTier().get(name)?.files ?? 0 };
}

export function drainRoutes(d: DrainDeps): Routes {
  return {
    'POST /v1/tier/drain': (_url, body) => drainTier(d, String(body.tier ?? ''), typeof body.to === 'string' ? body.to : undefined, body.wait !== false),
  };
}
