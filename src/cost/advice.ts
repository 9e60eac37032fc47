// Recommendations from recorded facts: each says what to change, why, which files and
// bytes it concerns, and what it would save per month at the configured prices. Pure:
// the facts are gathered elsewhere (report.ts). A kind whose window of history has not
// been recorded yet says so instead of guessing.
import type { CostlyObjects, FileReads, ObjectRemoval } from '../catalog/cost.js';
import { DAY_MS, earlyDeletionUsd } from './model.js';
import { GB, type ResolvedPrice } from './prices.js';
import { survivableBackendLosses } from '../tiers/object/layout.js';
import type { PricedTier } from './pricing.js';

export type AdviceKind = 'idle-on-fastest-tier' | 'reread-from-object-tier' | 'small-objects' | 'early-deletion' | 'recall-cache-too-small' | 'scheme-overhead';

/** How much recorded history each kind needs, in days. */
export const ADVICE_WINDOW_DAYS: Record<AdviceKind, number> = {
  'idle-on-fastest-tier': 30,
  'reread-from-object-tier': 30,
  'small-objects': 0,
  'early-deletion': 30,
  'recall-cache-too-small': 7,
  'scheme-overhead': 0,
};

export interface Advice {
  kind: AdviceKind;
  tier: string;
  /** what was seen, in numbers */
  reason: string;
  /** what to change */
  action: string;
  files: number;
  bytes: number;
  /** at the configured prices; 0 when the gain is room or latency rather than money */
  estSavingsUsdPerMonth: number;
}

export interface AdviceFacts {
  nowMs: number;
  /** when access recording and the metrics history began (undefined: never) */
  recordingSinceMs: number | undefined;
  historySinceMs: number | undefined;
  tiers: PricedTier[];
  /** files on the first tier not used for ADVICE_WINDOW_DAYS['idle-on-fastest-tier'] days */
  idleOnFastest: { files: number; bytes: number };
  /** reads, over the last 30 days, of files now on object tiers */
  objectReads: FileReads[];
  /** per object tier over the last 30 days: bytes got from its stores and bytes read through the mount from it */
  objectTierTraffic: Record<string, { getBytes: number; getRequests: number; mountReadBytes: number }>;
  /** per object tier over the last 7 days: the same, and the bytes of the distinct files read */
  recallWeek: Record<string, { getBytes: number; getRequests: number; workingSetBytes: number; files: number }>;
  /** per object tier and backend: objects below the backend's minimum billable size, and what they lack of it */
  smallObjects: Record<string, Record<string, { objects: number; paddingBytes: number }>>;
  /** per object tier: files with objects below the minimum billable size or costing more to write than to keep a month */
  costlyObjects: Record<string, CostlyObjects>;
  /** copies removed from object tiers over the last 30 days */
  removals: ObjectRemoval[];
  minResidencyMs: number;
  /** files and bytes of files on each tier now */
  tierUsage: Record<string, { files: number; bytes: number }>;
}

export interface AdviceReport {
  advice: Advice[];
  /** kinds not concluded on: too little history */
  tooShort: { kind: AdviceKind; recordedDays: number; neededDays: number }[];
}

const usd = (n: number) => `$${n < 0.01 ? n.toPrecision(2) : n.toFixed(2)}`;
const gib = (n: number) => `${(n / GB).toFixed(n < GB ? 3 : 1)} GiB`;

/** A tier's storage price per byte of file (object tiers store (k+m)/k bytes for each). */
function perFileGBMonth(t: PricedTier): number {
  const p = t.backends[0]!.price;
  return t.scheme ? (p.storagePerGBMonth * (t.scheme.k + t.scheme.m)) / t.scheme.k : p.storagePerGBMonth;
}

const firstPrice = (t: PricedTier): ResolvedPrice => t.backends[0]!.price;

export function advise(f: AdviceFacts): AdviceReport {
  const advice: Advice[] = [];
  const tooShort: AdviceReport['tooShort'] = [];
  const daysOf = (since: number | undefined) => (since === undefined ? 0 : Math.max(0, (f.nowMs - since) / DAY_MS));
  const enough = (kind: AdviceKind, since: number | undefined): boolean => {
    const recordedDays = daysOf(since);
    if (recordedDays >= ADVICE_WINDOW_DAYS[kind]) return true;
    tooShort.push({ kind, recordedDays: Math.floor(recordedDays * 10) / 10, neededDays: ADVICE_WINDOW_DAYS[kind] });
    return false;
  };
  const objectTiers = f.tiers.filter((t) => t.kind === 'object');
  const locals = f.tiers.filter((t) => t.kind === 'local');

  // Idle data on the fastest tier: room for what is used, and the price difference with the next tier.
  const fastest = f.tiers[0];
  const next = f.tiers[1];
  if (fastest && next && enough('idle-on-fastest-tier', f.recordingSinceMs) && f.idleOnFastest.files > 0) {
    const { files, bytes } = f.idleOnFastest;
    const saved = Math.max(0, (bytes / GB) * (perFileGBMonth(fastest) - perFileGBMonth(next)));
    advice.push({
      kind: 'idle-on-fastest-tier', tier: fastest.tier, files, bytes, estSavingsUsdPerMonth: saved,
      reason: `${files} files (${gib(bytes)}) on ${fastest.tier}, its fastest tier, were not opened for ${ADVICE_WINDOW_DAYS['idle-on-fastest-tier']} days`,
      action: `add a rule moving files with idleAbove: ${ADVICE_WINDOW_DAYS['idle-on-fastest-tier']}d to ${next.tier} (or lower ${fastest.tier}'s high watermark)`,
    });
  }

  // Files read often from an object tier: what the reads cost next to a local copy.
  const local = locals.at(-1);
  if (local && objectTiers.length > 0 && enough('reread-from-object-tier', f.recordingSinceMs)) {
    for (const t of objectTiers) {
      const p = firstPrice(t);
      const traffic = f.objectTierTraffic[t.tier];
      // The recall cache serves some reads: only the share the stores saw costs.
      const fetched = traffic && traffic.mountReadBytes > 0 ? Math.min(1, traffic.getBytes / traffic.mountReadBytes) : 1;
      const bytesPerRequest = traffic && traffic.getRequests > 0 ? traffic.getBytes / traffic.getRequests : 8 * 2 ** 20;
      const hot = f.objectReads
        .filter((r) => r.tier === t.tier && r.readBytes >= 2 * Math.max(1, r.size))
        .map((r) => {
          const got = r.readBytes * fetched;
          const recall = (got / GB) * (p.retrievalPerGB + p.egressPerGB) + (Math.ceil(got / bytesPerRequest) / 1000) * p.readsPer1000;
          const keepLocal = (r.size / GB) * perFileGBMonth(local) - (r.size / GB) * perFileGBMonth(t);
          return { r, saved: recall - keepLocal };
        })
        .filter((x) => x.saved > 0);
      if (hot.length === 0) continue;
      const bytes = hot.reduce((s, x) => s + x.r.size, 0);
      const read = hot.reduce((s, x) => s + x.r.readBytes, 0);
      advice.push({
        kind: 'reread-from-object-tier', tier: t.tier, files: hot.length, bytes, estSavingsUsdPerMonth: hot.reduce((s, x) => s + x.saved, 0),
        reason: `${hot.length} files (${gib(bytes)}) on ${t.tier} were read ${gib(read)} in 30 days, each at least twice its size: recalls cost more than a copy on ${local.tier}`,
        action: `pin them to ${local.tier} (tierfs pin), or add a rule with heatAbove that brings re-read files back`,
      });
    }
  }

  // Objects below the minimum billable size, and files whose writes cost more than a month of their storage.
  for (const t of objectTiers) {
    const small = Object.entries(f.smallObjects[t.tier] ?? {});
    const paddingUsd = small.reduce((s, [backend, o]) => s + (o.paddingBytes / GB) * (t.backends.find((b) => b.backend === backend)?.price.storagePerGBMonth ?? 0), 0);
    const objects = small.reduce((s, [, o]) => s + o.objects, 0);
    const costly = f.costlyObjects[t.tier] ?? { files: 0, bytes: 0, heavyFiles: 0, heavyBytes: 0, heavyObjects: 0 };
    if (objects === 0 && costly.heavyFiles === 0) continue;
    const min = Math.max(...t.backends.map((b) => b.price.minBillableBytes));
    const parts = [
      objects > 0 ? `${objects} objects are below the ${min / 1024} KiB billed at least (${gib(small.reduce((s, [, o]) => s + o.paddingBytes, 0))} billed but not stored)` : '',
      costly.heavyFiles > 0 ? `${costly.heavyFiles} files (${gib(costly.heavyBytes)}) cost more in write requests (${costly.heavyObjects} objects) than a month of their storage` : '',
    ].filter(Boolean);
    advice.push({
      kind: 'small-objects', tier: t.tier, files: costly.files, bytes: costly.bytes, estSavingsUsdPerMonth: paddingUsd,
      reason: `on ${t.tier}: ${parts.join('; ')}`,
      action: `raise ${t.tier}'s smallFileThreshold, or keep small files local (a rule with sizeBelow targeting ${local?.tier ?? 'a local tier'})`,
    });
  }

  // Copies moved out before their class's minimum duration: early-deletion charges paid.
  if (objectTiers.length > 0 && enough('early-deletion', f.historySinceMs)) {
    for (const t of objectTiers) {
      const p = firstPrice(t);
      if (p.minStorageDays <= 0) continue;
      const early = f.removals.filter((r) => r.tier === t.tier && r.cause === 'moved' && r.timeMs - r.writtenMs < p.minStorageDays * DAY_MS);
      if (early.length === 0) continue;
      const charged = early.reduce((s, r) => s + Object.entries(r.backendBytes).reduce((a, [i, b]) => a + earlyDeletionUsd(b, r.timeMs - r.writtenMs, t.backends[Number(i)]?.price ?? p), 0), 0);
      const bytes = early.reduce((s, r) => s + r.size, 0);
      const residencyDays = f.minResidencyMs / DAY_MS;
      advice.push({
        kind: 'early-deletion', tier: t.tier, files: early.length, bytes, estSavingsUsdPerMonth: charged,
        reason: `${early.length} copies (${gib(bytes)}) left ${t.tier} within ${p.minStorageDays} days of arriving in the last 30 days: ${usd(charged)} of early-deletion charges (${p.class})`,
        action:
          residencyDays < p.minStorageDays
            ? `raise policy.minResidency from ${residencyDays} to ${p.minStorageDays} days, or loosen the rules that bring files back from ${t.tier}`
            : `look at the rules and manual moves that take files out of ${t.tier} (tierfs moves)`,
      });
    }
  }

  // The recall cache: bytes fetched again and again because the working set does not fit.
  if (objectTiers.length > 0 && enough('recall-cache-too-small', f.historySinceMs)) {
    for (const t of objectTiers) {
      const w = f.recallWeek[t.tier];
      const cache = t.cacheBytes ?? 0;
      if (!w || w.workingSetBytes <= cache || w.getBytes < 1.5 * w.workingSetBytes) continue;
      const p = firstPrice(t);
      const again = w.getBytes - w.workingSetBytes;
      const againRequests = w.getBytes > 0 ? (w.getRequests * again) / w.getBytes : 0;
      const weekly = (again / GB) * (p.retrievalPerGB + p.egressPerGB) + (againRequests / 1000) * p.readsPer1000;
      advice.push({
        kind: 'recall-cache-too-small', tier: t.tier, files: w.files, bytes: w.workingSetBytes, estSavingsUsdPerMonth: (weekly * 30) / 7,
        reason: `in 7 days ${t.tier}'s stores sent ${gib(w.getBytes)} for ${gib(w.workingSetBytes)} of distinct files read: the recall cache (${gib(cache)}) is smaller than the re-read working set`,
        action: `raise cache.disk so memory + disk hold at least ${gib(w.workingSetBytes)}`,
      });
    }
  }
  // Parity against whole backends lost: none bought (a backend holds more than m cells of a
  // stripe), or more than the backends can use (fewer parity cells would survive as many losses).
  for (const t of objectTiers) {
    if (!t.scheme || t.scheme.m === 0) continue;
    const { k, m } = t.scheme;
    const backends = t.backends.length;
    const use = f.tierUsage[t.tier] ?? { files: 0, bytes: 0 };
    if (use.files === 0) continue;
    const survives = survivableBackendLosses(k, m, backends);
    const parityUsd = (m / k) * (use.bytes / GB) * (t.backends.reduce((s, b) => s + b.price.storagePerGBMonth, 0) / backends);
    if (survives === 0 && backends > 1) {
      advice.push({
        kind: 'scheme-overhead', tier: t.tier, files: use.files, bytes: use.bytes, estSavingsUsdPerMonth: 0,
        reason: `${t.tier} stores ${k}+${m} over ${backends} backends: one backend holds more than ${m} cells of a stripe, so the parity (${usd(parityUsd)}/month) survives lost cells but not one lost backend`,
        action: `use at least ${k + m} backends, or a scheme whose k+m cells put at most m on each of the ${backends}`,
      });
      continue;
    }
    let fewer = m;
    while (fewer > 1 && survivableBackendLosses(k, fewer - 1, backends) >= survives) fewer--;
    if (fewer < m) {
      advice.push({
        kind: 'scheme-overhead', tier: t.tier, files: use.files, bytes: use.bytes, estSavingsUsdPerMonth: (parityUsd * (m - fewer)) / m,
        reason: `${t.tier} stores ${k}+${m} over ${backends} backends and survives the loss of ${survives}; ${k}+${fewer} would survive as many`,
        action: `a new ${t.tier} tier with scheme { k: ${k}, m: ${fewer} } (a scheme is fixed per tier: drain the old one into it)`,
      });
    }
  }
  return { advice, tooShort };
}
