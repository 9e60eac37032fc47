// Which configuration changes a mounted tierfs takes without a remount, and why the
// others are refused. Live: the policy (rules, heat half-life, residency, hysteresis,
// intervals), the mover (bandwidth, concurrency, windows, ...), access recording,
// tier watermarks, the backend probe interval and how many versions are kept. The rest — the tier set and each
// tier's layout, mount options, caches, the catalog's backups, the metrics listener —
// is read once at mount; a change there is refused with what to do instead.
import type { Config, TierConfig } from './schema.js';
import { diffValues } from './diff.js';

/** Keys (dotted, as diffValues names them) that apply live: a key matches when it starts with one. */
const LIVE = [/^policy(\.|\[|$)/, /^mover(\.|\[|$)/, /^recording(\.|$)/, /^tiers\[\d+\]\.watermarks(\.|$)/, /^metrics\.probeInterval$/, /^catalog\.configVersions$/, /^cost(\.|$)/];

/** Whether a key of the reference (docs.ts: `tiers[kind=local].watermarks.high`) changes live. */
export function changesLive(docKey: string): boolean {
  const key = docKey.replace(/^tiers\[[^\]]*\]/, 'tiers[0]').replace(/\[\]/g, '[0]');
  return LIVE.some((re) => re.test(key));
}

export interface TierHolding {
  files: number;
  bytes: number;
}

/**
 * The reasons `next` cannot replace `running` on a mounted tierfs; empty when it can.
 * holding(tier) is what the tier holds now (a tier that holds files cannot go away or
 * change its layout in place).
 */
export function refusedChanges(running: Config, next: Config, holding: (tier: string) => TierHolding, file: string): string[] {
  const remount = `change it in ${file} and remount`;
  const reasons: string[] = [];
  const shape = (tiers: TierConfig[]) => tiers.map((t) => `${t.name}:${t.kind}`).join(',');
  const tiersAlike = shape(running.tiers) === shape(next.tiers);
  if (!tiersAlike) {
    const names = new Set(next.tiers.map((t) => t.name));
    for (const t of running.tiers.filter((x) => !names.has(x.name))) {
      const h = holding(t.name);
      reasons.push(
        h.files > 0
          ? `tier ${t.name} holds ${h.files} files (${h.bytes} bytes): it cannot be removed while it does: drain it first (tierfs tier drain ${t.name}), then remove it and remount`
          : `removing tier ${t.name} needs a remount: ${remount}`,
      );
    }
    const old = new Set(running.tiers.map((t) => t.name));
    for (const t of next.tiers.filter((x) => !old.has(x.name))) reasons.push(`adding tier ${t.name} needs a remount: ${remount}`);
    if (reasons.length === 0) reasons.push(`the order or kind of the tiers cannot change while mounted: ${remount}`);
  }
  for (const c of diffValues(running, next)) {
    if (LIVE.some((re) => re.test(c.key))) continue;
    if (c.key.startsWith('tiers')) {
      if (!tiersAlike) continue; // said above, per tier
      const i = Number(/^tiers\[(\d+)\]/.exec(c.key)?.[1]);
      const t = running.tiers[i]!;
      const h = holding(t.name);
      if (/^tiers\[\d+\]\.scheme/.test(c.key) && h.files > 0) {
        reasons.push(
          `tiers[${i}].scheme: the k+m of tier ${t.name} cannot change while it holds ${h.files} files (their stripes are encoded k+m): ` +
            `that needs a re-encode: drain it (tierfs tier drain ${t.name}), change the scheme and remount, then let the policy bring files back`,
        );
        continue;
      }
      reasons.push(`${c.key} cannot change while mounted (tier ${t.name} is opened with it): ${remount}`);
      continue;
    }
    reasons.push(`${c.key} cannot change while mounted (it is read once at mount): ${remount}`);
  }
  // One line per reason: the same reason for several keys of one tier is said once.
  return [...new Set(reasons)];
}
