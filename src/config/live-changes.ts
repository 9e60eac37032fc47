// Which configuration changes a mounted tierfs takes without a remount, and why the
// others are refused. Live: the policy (rules, heat half-life, residency, hysteresis,
// intervals), the mover (bandwidth, concurrency, windows, ...), access recording,
// tier watermarks and how an object tier checks its writes, the backend probe interval,
// how many versions are kept, the recall caches' sizes, the alerts (rules, webhooks,
// interval, history kept) and the prices (cost);
// new tiers after the last one, and a backend's connection (endpoint, credentials, bucket,
// timeouts, …) once the daemon has checked the new one (liveTierChanges says which). The
// rest — removing or reordering tiers, a tier's layout, the number of a tier's backends,
// mount options, turning a cache or alerting on or off, the catalog's backups, the
// metrics listener — is read once at mount; a change there is refused with what to do instead.
import type { Config, ObjectTierConfig, TierConfig } from './schema.js';
import { diffValues } from './diff.js';

/** Keys (dotted, as diffValues names them) that apply live: a key matches when it starts with one. */
const LIVE = [
  /^policy(\.|\[|$)/,
  /^mover(\.|\[|$)/,
  /^recording(\.|$)/,
  /^tiers\[\d+\]\.watermarks(\.|$)/,
  /^tiers\[\d+\]\.verifyWrites$/,
  /^metrics\.probeInterval$/,
  /^catalog\.configVersions$/,
  /^cache\.(memory|disk)$/,
  /^alerts\.(rules|webhooks|interval|keepHistory)(\.|\[|$)/,
  /^cost(\.|$)/,
  // A backend's connection, once the daemon has checked the new one (src/tiers/live-tiers.ts);
  // not its name, which labels its metrics (refusedChanges says so).
  /^tiers\[\d+\]\.backends\[[^\]]*\]\.(?!name$)/,
];

/** Whether a key of the reference (docs.ts: `tiers[kind=local].watermarks.high`) changes live. */
export function changesLive(docKey: string): boolean {
  const key = docKey.replace(/^tiers\[[^\]]*\]/, 'tiers[0]').replace(/\[\]/g, '[0]');
  return LIVE.some((re) => re.test(key));
}

/** The tier changes that apply live but need the daemon to open or check something first. */
export interface LiveTierChanges {
  /** tiers after the running ones, to open */
  added: TierConfig[];
  /** backends of running object tiers whose connection changed, to check and swap */
  backends: { tier: ObjectTierConfig; index: number }[];
}

const BACKEND_KEY = /^tiers\[(\d+)\]\.backends\[(\d+)\]\.(.+)$/;

/** Running tiers are a prefix of next's, each of the same name and kind. */
function appendsTiers(running: Config, next: Config): boolean {
  return running.tiers.length <= next.tiers.length && running.tiers.every((t, i) => next.tiers[i]!.name === t.name && next.tiers[i]!.kind === t.kind);
}

/** What refusedChanges lets through that the daemon must act on (call it once that list is empty). */
export function liveTierChanges(running: Config, next: Config): LiveTierChanges {
  const backends = new Map<string, { tier: ObjectTierConfig; index: number }>();
  for (const c of diffValues(running.tiers, next.tiers, ['tiers'])) {
    const m = BACKEND_KEY.exec(c.key);
    const tier = m && next.tiers[Number(m[1])];
    if (tier?.kind === 'object' && Number(m![1]) < running.tiers.length) backends.set(`${m![1]}/${m![2]}`, { tier, index: Number(m![2]) });
  }
  return { added: next.tiers.slice(running.tiers.length), backends: [...backends.values()] };
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
  const appended = appendsTiers(running, next);
  const tiersAlike = appended || shape(running.tiers) === shape(next.tiers);
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
    for (const t of next.tiers.filter((x) => !old.has(x.name))) reasons.push(`adding tier ${t.name} anywhere but after the last tier needs a remount: ${remount}`);
    if (reasons.length === 0) reasons.push(`the order or kind of the tiers cannot change while mounted: ${remount}`);
  }
  for (const c of diffValues(running, next)) {
    // A cache that is off was never opened (nor read-ahead planned for it): on or off needs a remount.
    if (/^cache\.(memory|disk)$/.test(c.key) && (c.from === 0) !== (c.to === 0)) {
      reasons.push(`${c.key}: turning a recall cache ${c.to === 0 ? 'off' : 'on'} needs a remount (a new size applies live): ${remount}`);
      continue;
    }
    if (LIVE.some((re) => re.test(c.key))) continue;
    if (c.key.startsWith('tiers')) {
      if (!tiersAlike) continue; // said above, per tier
      const i = Number(/^tiers\[(\d+)\]/.exec(c.key)?.[1]);
      if (i >= running.tiers.length) continue; // a new tier: the daemon opens it
      const t = running.tiers[i]!;
      // Stripes name their backends by place: a backend can be reconnected (LIVE), not renamed, added or removed.
      if (BACKEND_KEY.exec(c.key)?.[3] === 'name') {
        reasons.push(`${c.key}: a backend's name labels its metrics and history: ${remount}`);
        continue;
      }
      if (/^tiers\[\d+\]\.backends\[\d+\]$/.test(c.key)) {
        reasons.push(`tiers[${i}].backends: tier ${t.name}'s stripes are placed over its backends by their place in the list: adding or removing one needs a remount (and a re-encode while it holds files: drain it first)`);
        continue;
      }
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
