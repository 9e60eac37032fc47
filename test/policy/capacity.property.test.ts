// Capacity pressure as a property, over random workloads: file sizes, heats, tier
// capacities, watermarks, hysteresis, residency, pins, a promotion rule and a rule that
// sends large files to the object tier, many seeds.
// Files are admitted as the mount admits them, then the real classifier (real catalog)
// and a simulated mover — which starts a few queued moves, lets the classifier run while
// they are in flight, then commits them, checking room as the move protocol does — run
// until nothing more moves. Then:
//  - every tier is at or below its high watermark when the files fit;
//  - no tier was drained by pressure below its low watermark by more than one file;
//  - no file that left a tier under pressure is hotter (beyond the hysteresis band) than
//    one of the same standing left on it, and no file a rule wants higher sits below an
//    unpinned file clearly colder than it, unless it could not fit there;
//  - object tiers never held more than their capacity, nor more than their high watermark
//    through a move the policy chose.
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Catalog, ROOT_INO, type QueueEntry } from '../../src/catalog/catalog.js';
import { configSchema, type Config, type LocalTierConfig, type ObjectTierConfig } from '../../src/config/schema.js';
import { admit } from '../../src/policy/admission.js';
import { Classifier } from '../../src/policy/classifier.js';
import { heatAt } from '../../src/policy/heat.js';
import { decide } from '../../src/policy/rules.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { openObjectTier } from '../../src/tiers/object/index.js';
import { TierSet, type AnyTier } from '../../src/tiers/tier-set.js';
import { tempDir } from '../helpers/tmp.js';

const S_IFREG = 0o100000;

/** mulberry32: a small seeded generator, so a failing seed can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Workload {
  config: Config;
  files: { size: number; opens: number; pin: boolean }[];
}

function workload(seed: number): Workload {
  const r = random(seed);
  const between = (lo: number, hi: number) => lo + r() * (hi - lo);
  const n = 8 + Math.floor(r() * 40);
  const files = Array.from({ length: n }, () => ({
    size: 1000 * (1 + Math.floor(r() ** 2 * 30)),
    opens: r() < 0.3 ? 0 : Math.floor(r() ** 2 * 40),
    pin: r() < 0.1,
  }));
  const total = files.reduce((a, f) => a + f.size, 0);
  const marks = () => {
    const high = between(0.7, 0.95);
    return { high, low: between(0.35, high - 0.02) };
  };
  const threshold = r() < 0.3 ? 0 : between(0.5, 6);
  const raw = {
    dataDir: '/unused',
    tiers: [
      { name: 'hot', kind: 'local', volumes: ['/unused/hot'], capacity: Math.round(total * between(0.15, 0.6)), watermarks: marks() },
      { name: 'warm', kind: 'local', volumes: ['/unused/warm'], capacity: Math.round(total * between(0.2, 0.9)), watermarks: marks() },
      {
        name: 'cold',
        kind: 'object',
        backends: [{ type: 'memory' }],
        ...(r() < 0.5 ? {} : { capacity: Math.round(total * between(0.2, 1.2)) }),
        watermarks: marks(),
      },
    ],
    policy: {
      minResidency: r() < 0.25 ? '1h' : 0,
      hysteresis: between(0.05, 0.35),
      rules: [
        // a rule that sends large files to the object tier, whose capacity it must respect
        ...(r() < 0.3 ? [{ name: 'big', match: { sizeAbove: 1000 * Math.floor(between(10, 30)) }, target: 'cold' }] : []),
        ...(r() < 0.7 ? [{ name: 'busy', match: { heatAbove: threshold }, target: 'hot' }] : []),
      ],
    },
  };
  return { config: configSchema.parse(raw), files };
}

interface Executed {
  ino: number;
  from: string;
  to: string;
  requestedBy: string;
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function simulate(seed: number) {
  const w = workload(seed);
  const dir = tempDir('tierfs-capacity-');
  const cfg = w.config;
  cfg.tiers = cfg.tiers.map((t) => (t.kind === 'local' ? { ...t, volumes: [{ path: join(dir.path, t.name) }] } : t));
  const catalog = new Catalog(join(dir.path, 'catalog.db'));
  const opened: AnyTier[] = [];
  for (const t of cfg.tiers) {
    if (t.kind === 'local') opened.push({ kind: 'local', name: t.name, local: new LocalTier(t as LocalTierConfig) });
    else {
      const object = await openObjectTier(t as ObjectTierConfig, catalog.fsid, join(dir.path, 'cache'), { memoryCacheBytes: 0, diskCacheBytes: 0 });
      opened.push({ kind: 'object', name: t.name, object });
    }
  }
  const tiers = new TierSet(opened);
  cleanup = async () => {
    await Promise.all(tiers.objects.map((o) => o.close()));
    catalog.close();
    dir.remove();
  };
  const classifier = new Classifier({ catalog, tiers, tierConfigs: cfg.tiers, policy: cfg.policy, openHold: () => null });
  const order = cfg.tiers.map((t) => t.name);
  const capOf = (name: string) => cfg.tiers.find((t) => t.name === name)!.capacity ?? 0;
  const marksOf = (name: string) => cfg.tiers.find((t) => t.name === name)!.watermarks;
  const used = () => {
    const u = catalog.usageByTier();
    return new Map(order.map((n) => [n, u.get(n)?.bytes ?? 0]));
  };

  // Admission, as the mount places a new file.
  const inos: number[] = [];
  const now0 = Date.now();
  for (const [i, f] of w.files.entries()) {
    const u = used();
    const at = admit(tiers.locals.map((t) => ({ ...t.usage(u.get(t.name)!), high: t.config.watermarks.high })), f.size);
    if (!at) continue; // truly full: every local tier at its capacity
    const tier = tiers.locals[at.index]!;
    const t = BigInt(now0) * 1_000_000n;
    const ino = catalog.createInode(
      { mode: S_IFREG | 0o644, uid: 1000, gid: 1000, nlink: 1, rdev: 0, size: f.size, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: tier.name, volume: tier.volumes[0]!, dataPath: `f${i}`, target: null },
      ROOT_INO,
      `f${i}`,
    );
    inos.push(ino);
    if (f.opens > 0) catalog.recordAccessBatch([{ timeMs: now0, ino, path: `f${i}`, op: 'open', offset: 0, length: 0, size: f.size, count: f.opens }], 0, cfg.policy.halfLife);
    if (f.pin) catalog.setPin(ino, tier.name); // pinned where it is
  }

  // The mover: a few queued moves at a time, checked as the protocol checks them.
  const executed: Executed[] = [];
  const moves = new Map<number, number>();
  let peak = used();
  const start = (e: QueueEntry): (() => void) | undefined => {
    const i = catalog.getInode(e.ino);
    if (!i || i.tier === e.toTier) return void catalog.dequeue(e.id);
    const pin = catalog.effectivePin(e.ino);
    if (pin && pin.tier !== e.toTier) return void catalog.dequeue(e.id); // EPERM: dropped
    const target = tiers.get(e.toTier);
    if (target.kind === 'local' && !target.local.hasRoom(used().get(e.toTier)!, i.size)) {
      catalog.deferMove(e.id, Date.now() + 1, 'ENOSPC'); // retried later, as the mover does (the classifier drops it if the room never comes)
      return undefined;
    }
    const id = catalog.journalIntent({ ino: e.ino, path: i.dataPath!, fromTier: i.tier!, toTier: e.toTier, generation: i.generation, source: '{}', target: null, requestedBy: e.requestedBy });
    return () => {
      catalog.setLocation(e.ino, { tier: e.toTier, volume: target.kind === 'local' ? target.local.volumes[0]! : null, layout: null });
      catalog.journalState(id, 'done', { bytes: i.size, verified: true });
      catalog.dequeueIf(e);
      executed.push({ ino: e.ino, from: i.tier!, to: e.toTier, requestedBy: e.requestedBy });
      moves.set(e.ino, (moves.get(e.ino) ?? 0) + 1);
      const u = used();
      peak = new Map(order.map((n) => [n, Math.max(peak.get(n)!, u.get(n)!)]));
    };
  };
  const r = random(seed ^ 0x5eed);
  let settled = false;
  for (let round = 0; round < 400 && !settled; round++) {
    const idle = catalog.queueLength() === 0;
    // Settled: with nothing queued, a full pass (every file looked at) queues nothing.
    const report = classifier.pass(idle || round % 4 === 0, Date.now());
    const queue = [...catalog.runnableMoves(Date.now())];
    // DEBUG_SEED=N prints the tiers and the queue after each pass of seed N.
    if (process.env.DEBUG_SEED === String(seed)) {
      const u = used();
      console.log(round, JSON.stringify([...u]), catalog.queuedMoves(1000).map((e) => `f${e.ino}->${e.toTier}(${e.requestedBy},p${e.priority})`).join(' '), JSON.stringify([...classifier.pressure]));
    }
    if (queue.length === 0) {
      settled = idle && report.enqueued === 0;
      continue;
    }
    const finish = queue.slice(0, 1 + Math.floor(r() * 4)).flatMap((e) => start(e) ?? []);
    classifier.pass(false, Date.now()); // a pass while those moves run
    for (const done of finish) done();
  }

  const nowMs = Date.now();
  const files = inos.map((ino) => {
    const row = catalog.classificationRow(ino)!;
    const facts = { ...row, heat: heatAt(row.heat, row.heatMs, nowMs, cfg.policy.halfLife), pin: row.pin };
    return { ...facts, decision: decide(facts, cfg.policy, nowMs) };
  });
  const queue = catalog.queuedMoves(1000).map((e) => `f${e.ino}->${e.toTier}(${e.requestedBy}, ${e.attempts} tries${e.lastError ? `: ${e.lastError}` : ''})`);
  return { w, cfg, order, capOf, marksOf, used: used(), peak, files, executed, moves, settled, classifier, queue };
}

const SEEDS = Array.from({ length: Number(process.env.CAPACITY_SEEDS ?? 150) }, (_, i) => i + 1);

describe('capacity pressure over random workloads', () => {
  it.each(SEEDS)('seed %i settles with every property holding', async (seed) => {
    const s = await simulate(seed);
    const h = s.cfg.policy.hysteresis;
    const why = () => JSON.stringify({ seed, tiers: s.cfg.tiers.map((t) => ({ name: t.name, cap: t.capacity, wm: t.watermarks })), used: [...s.used], policy: s.cfg.policy });
    const story = () => s.executed.map((m) => `f${m.ino}:${m.from}->${m.to}(${m.requestedBy})`).join(' ');
    if (!s.settled) expect.fail(`did not settle: ${why()} ${story()}; queued: ${s.queue.join(' ')}; pressure: ${[...s.classifier.pressure].join(' ')}`);
    if (Math.max(...s.moves.values(), 0) > 5) expect.fail(`a file moved back and forth: ${why()} ${story()}`);
    const maxFile = Math.max(...s.files.map((f) => f.size));
    const idx = (t: string) => s.order.indexOf(t);

    // Capacities: never more than the capacity; object tiers never above high by a move.
    for (const t of s.order) {
      const cap = s.capOf(t);
      if (cap === 0) continue;
      expect(s.peak.get(t)!, `${t} held more than its capacity: ${why()}`).toBeLessThanOrEqual(cap);
      if (t === 'cold') expect(s.peak.get(t)!, `${t} filled past its high watermark: ${why()}`).toBeLessThanOrEqual(cap * s.marksOf(t).high + 1e-6);
    }

    // At or below high when the files fit: what is pinned on each tier leaves a file's
    // room below high, and all of it fits below the high watermarks with a file to spare per tier.
    const total = s.files.reduce((a, f) => a + f.size, 0);
    const slack = s.order.map((t) => (s.capOf(t) === 0 ? Infinity : s.capOf(t) * s.marksOf(t).high - maxFile));
    const pinnedOn = (t: string) => s.files.filter((f) => f.pin && f.tier === t).reduce((a, f) => a + f.size, 0);
    const fits = slack.reduce((a, b) => a + b, 0) >= total && s.order.every((t, i) => pinnedOn(t) <= slack[i]!);
    if (fits) {
      for (const t of s.order) {
        if (s.capOf(t) > 0) expect(s.used.get(t)!, `${t} above its high watermark though everything fits: ${why()}`).toBeLessThanOrEqual(s.capOf(t) * s.marksOf(t).high);
      }
    }

    // Not drained by pressure below low − one file (tiers that no rule move left; the
    // file may also be one that left to make room for a promotion).
    for (const t of s.order) {
      const out = s.executed.filter((m) => m.from === t);
      if (!out.some((m) => m.requestedBy === `watermark:${t}`) || out.some((m) => !m.requestedBy.startsWith('watermark:'))) continue;
      const largest = Math.max(...out.map((m) => s.files.find((f) => f.ino === m.ino)!.size));
      expect(s.used.get(t)!, `${t} drained below its low watermark by pressure: ${why()}`).toBeGreaterThanOrEqual(s.capOf(t) * s.marksOf(t).low - largest);
    }

    const byIno = new Map(s.files.map((f) => [f.ino, f]));
    /** Would a rule keep the file on `tier` (or want it faster), were it there? */
    const keeps = (f: (typeof s.files)[number], tier: string) => {
      const d = decide({ ...f, tier }, s.cfg.policy, Date.now());
      return d.target !== null && idx(d.target) <= idx(tier);
    };

    // Pressure took the coldest: a file that left a tier for good under relief is not
    // hotter, beyond the band, than one of the same standing (kept by a rule or not) still there.
    const arrived = (ino: number, tier: string) => s.executed.findLastIndex((e) => e.ino === ino && e.to === tier);
    for (const [at, m] of s.executed.entries()) {
      if (m.requestedBy !== `watermark:${m.from}`) continue;
      const x = byIno.get(m.ino)!;
      if (x.tier === m.from) continue;
      const there = s.files.filter((f) => f.tier === m.from && arrived(f.ino, m.from) < at); // on the tier when x left
      for (const y of there.filter((f) => !f.pin && keeps(f, m.from) === keeps(x, m.from))) {
        expect(x.heat, `${m.from} kept f${y.ino} (heat ${y.heat}) and demoted f${x.ino} (heat ${x.heat}): ${why()}`).toBeLessThanOrEqual(y.heat * (1 + h) + 1e-9);
      }
    }

    // A file a rule wants higher is not below a file clearly colder than it, unless it
    // cannot fit there: not even with every clearly colder file gone, with room for them below.
    if (s.cfg.policy.minResidency === 0) {
      for (const x of s.files.filter((f) => !f.pin && f.decision.target !== null && idx(f.decision.target) < idx(f.tier))) {
        for (const u of s.order.slice(idx(x.decision.target!), idx(x.tier))) {
          const colder = s.files.filter((y) => y.tier === u && !y.pin && y.heat * (1 + h) < x.heat);
          if (colder.length === 0) continue;
          const cap = s.capOf(u);
          const need = s.used.get(u)! + x.size - cap * s.marksOf(u).high;
          let freed = 0;
          const victims = [...colder].sort((a, b) => a.heat - b.heat).filter((y) => (freed >= need ? false : ((freed += y.size), true)));
          const roomBelow = s.order.slice(idx(u) + 1).reduce((a, t) => a + (s.capOf(t) === 0 ? Infinity : s.capOf(t) * s.marksOf(t).high - s.used.get(t)!), x.size);
          const fitsThere = freed >= need && roomBelow - victims.reduce((a, y) => a + y.size, 0) >= maxFile * s.order.length;
          expect(fitsThere, `f${x.ino} (heat ${x.heat}, on ${x.tier}) waits below ${colder.map((y) => `f${y.ino} (heat ${y.heat})`).join(', ')} on ${u}: ${why()}`).toBe(false);
        }
      }
    }
  });
});
