// The daemon's own policy in simulated time. The catalog answers as the real one does,
// on the simulation's clock: held in memory by default (memory-catalog.ts, kept equal to
// the SQLite catalog by a test), or the real one on an in-memory database (setup.catalog
// 'sqlite': slower, for checking the first); the classifier is the real one
// (rules, heat, residency, hysteresis, classes, pins, watermarks, capacity planning),
// and the moves it queues run as the background mover would run them — its concurrency,
// bandwidth, schedule windows and pause under load — taking the time their bytes take.
// Nothing of the policy is written twice: a change to src/policy changes this too.
import { AccessFold, Catalog, ROOT_INO, type QueueEntry } from '../catalog/catalog.js';
import { MemoryCatalog, type SimCatalog } from './memory-catalog.js';
import { Classifier, type ClassifierTiers } from '../policy/classifier.js';
import { admit } from '../policy/admission.js';
import { inWindow } from '../mover/windows.js';
import type { Config } from '../config/schema.js';
import type { SimEvent } from './traces/types.js';
import { Tally, type PolicyResult } from './results.js';
import { withCapacities, type SimSetup, type SimTier } from './setup.js';

/** What every simulated policy takes: the trace's events in order, then its result. */
export interface Simulation {
  readonly name: string;
  event(e: SimEvent): void;
  finish(): PolicyResult;
}

/** A local tier without a capacity in a simulation: as good as unlimited. */
const UNLIMITED = 2 ** 50;

interface FileState {
  ino: number;
  path: string;
  tier: string;
  size: number;
}

interface RunningMove {
  entry: QueueEntry;
  journalId: number;
  file: FileState;
  from: string;
  endMs: number;
}

const ns = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n;

/** A trace's path as a path below the mount root ('/a/b/' → 'a/b'); most need no change. */
export const normalPath = (p: string) => (p.length > 0 && p.charCodeAt(0) !== 47 && p.charCodeAt(p.length - 1) !== 47 ? p : p.replace(/^\/+/, '').replace(/\/+$/, '') || 'index');

export class PolicySimulation implements Simulation {
  readonly name: string;
  private now = 0;
  readonly catalog: SimCatalog;
  private readonly classifier: Classifier;
  private readonly config: Config;
  private readonly tally: Tally;
  private readonly files = new Map<string, FileState>();
  private readonly byIno = new Map<number, FileState>();
  private readonly dirs = new Map<string, number>([['', ROOT_INO]]);
  /** bytes per tier, as the catalog's triggers count them (admission reads it per new file) */
  private readonly used = new Map<string, number>();
  /** the accesses since the last pass, folded per file as the daemon's recorder batches them */
  private readonly accesses: AccessFold;
  private started = false;
  private nextPassMs = 0;
  private lastFullMs = -Infinity;
  private readonly passMs: number;
  private running: RunningMove[] = [];
  private readonly tiers: SimTier[];
  private readonly objectTiers: Set<string>;
  private opsSecond = 0;
  private opsThisSecond = 0;
  private opsLastSecond = 0;
  private spill = 0;
  passes = 0;

  constructor(private readonly setup: SimSetup, name = 'tierfs') {
    this.name = name;
    this.tiers = setup.tiers;
    this.objectTiers = new Set(this.tiers.filter((t) => t.kind === 'object').map((t) => t.name));
    this.config = withCapacities(setup.config, setup.tiers);
    this.passMs = setup.passIntervalMs ?? this.config.policy.interval;
    this.accesses = new AccessFold(this.config.policy.halfLife);
    const now = () => this.now;
    this.catalog = setup.catalog === 'sqlite' ? new Catalog(':memory:', { now }) : new MemoryCatalog(now);
    this.tally = new Tally(
      this.tiers.map((t) => t.name),
      this.tiers.map((t) => t.latency),
      setup.misplacementWindowMs,
    );
    const byName = new Map(this.tiers.map((t) => [t.name, t]));
    const tiers: ClassifierTiers = {
      has: (name) => byName.has(name),
      get: (name) => {
        const t = byName.get(name)!;
        if (t.kind === 'object') return { kind: 'object' };
        const cap = t.capacityBytes || UNLIMITED;
        const usage = (bytes: number) => {
          const free = Math.max(0, cap - bytes);
          return { capacityBytes: cap, usedBytes: bytes, freeBytes: free, fitBytes: free };
        };
        return { kind: 'local', local: { usage, volumeUsage: () => [] } };
      },
    };
    this.classifier = new Classifier({ catalog: this.catalog, tiers, tierConfigs: this.config.tiers, policy: this.config.policy, openHold: () => null });
  }

  /** The tier a file is on now (tests compare it with a mount's). */
  tierOf(path: string): string | undefined {
    return this.files.get(normalPath(path))?.tier;
  }

  placement(): Map<string, string> {
    return new Map([...this.files].map(([p, f]) => [p, f.tier]));
  }

  event(e: SimEvent): void {
    if (!this.started) {
      this.started = true;
      this.now = e.timeMs;
      this.nextPassMs = e.timeMs + this.passMs;
    }
    this.advanceTo(e.timeMs);
    this.countOp();
    const path = normalPath(e.path);
    let f = this.files.get(path);
    if (!f) f = this.create(path, e.size);
    else if (e.size !== f.size && (e.op === 'write' || e.size > f.size)) this.resize(f, e.size, e.op === 'write');
    else if (e.op === 'write') this.catalog.updateData(f.ino, f.size, ns(this.now), ns(this.now), true);
    if (e.op === 'read') {
      this.tally.read(this.now, path, f.tier, e.bytes);
      if (this.objectTiers.has(f.tier)) this.copyUp(f);
    }
    this.accesses.add(f.ino, this.now, e.opens || e.op === 'open' ? 'open' : e.op, e.bytes, 1);
  }

  /** Let simulated time run on to timeMs with no more accesses (passes and moves go on). */
  runUntil(timeMs: number): void {
    if (this.started) this.advanceTo(timeMs);
  }

  finish(): PolicyResult {
    this.flush();
    return this.tally.result(this.name, this.setup.cost, {
      unfinishedMoves: this.catalog.queueLength(),
      note: `${this.passes} classification passes every ${this.passMs / 1000}s${this.spill ? `; ${this.spill} new files found every local tier full` : ''}`,
    });
  }

  private countOp(): void {
    const s = Math.floor(this.now / 1000);
    if (s !== this.opsSecond) {
      this.opsLastSecond = s === this.opsSecond + 1 ? this.opsThisSecond : 0;
      this.opsSecond = s;
      this.opsThisSecond = 0;
    }
    this.opsThisSecond++;
  }

  private flush(): void {
    if (this.accesses.size === 0) return;
    this.catalog.recordFileAccesses(this.accesses, this.config.policy.halfLife);
    this.accesses.clear();
  }

  /** Passes and move completions up to time t, in order. */
  private advanceTo(t: number): void {
    for (;;) {
      let done = Infinity; // the next move to end (per event: no array made)
      for (const m of this.running) done = Math.min(done, m.endMs);
      const next = Math.min(this.nextPassMs, done);
      if (next > t) break;
      this.now = Math.max(this.now, next);
      if (done <= this.nextPassMs) {
        this.complete(this.running.find((m) => m.endMs === done)!);
        this.moverTick();
      } else {
        this.pass();
        this.nextPassMs += this.passMs;
      }
    }
    this.now = Math.max(this.now, t);
  }

  private pass(): void {
    this.flush();
    const full = this.now - this.lastFullMs >= this.config.policy.fullPassInterval;
    this.classifier.pass(full, this.now);
    if (full) this.lastFullMs = this.now;
    this.passes++;
    this.moverTick();
  }

  private ensureDir(path: string): number {
    const known = this.dirs.get(path);
    if (known !== undefined) return known;
    const cut = path.lastIndexOf('/');
    const parent = this.ensureDir(cut < 0 ? '' : path.slice(0, cut));
    const t = ns(this.now);
    const ino = this.catalog.createInode(
      { mode: 0o040755, uid: 0, gid: 0, nlink: 2, rdev: 0, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: null, volume: null, dataPath: null, target: null },
      parent,
      path.slice(cut + 1),
    );
    this.dirs.set(path, ino);
    const pin = this.setup.pins?.get(path);
    if (pin) this.catalog.setPin(ino, pin);
    return ino;
  }

  /** A file first seen: created now on the tier new files go to (vfs place()). */
  private create(path: string, size: number): FileState {
    const cut = path.lastIndexOf('/');
    const parent = this.ensureDir(cut < 0 ? '' : path.slice(0, cut));
    const locals = this.tiers.filter((t) => t.kind === 'local');
    const at = admit(
      locals.map((t) => {
        const cap = t.capacityBytes || UNLIMITED;
        const used = this.used.get(t.name) ?? 0;
        return { capacityBytes: cap, usedBytes: used, freeBytes: cap - used, high: t.high };
      }),
      size,
    );
    if (!at) this.spill++; // the daemon would say ENOSPC; the file goes to the last local tier
    const tier = locals[at?.index ?? locals.length - 1]!.name;
    const t = ns(this.now);
    const ino = this.catalog.createInode(
      { mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size, atimeNs: t, mtimeNs: t, ctimeNs: t, tier, volume: null, dataPath: path, target: null },
      parent,
      path.slice(cut + 1),
    );
    const f = { ino, path, tier, size };
    this.files.set(path, f);
    this.byIno.set(ino, f);
    this.used.set(tier, (this.used.get(tier) ?? 0) + size);
    this.tally.grow(this.now, tier, size, true);
    const pin = this.setup.pins?.get(path);
    if (pin) this.catalog.setPin(ino, pin);
    return f;
  }

  private resize(f: FileState, size: number, written: boolean): void {
    const t = ns(this.now);
    this.catalog.updateData(f.ino, size, written ? t : this.catalog.getInode(f.ino)!.mtimeNs, t, written);
    this.used.set(f.tier, (this.used.get(f.tier) ?? 0) + size - f.size);
    this.tally.grow(this.now, f.tier, size - f.size, false);
    f.size = size;
  }

  private relocate(f: FileState, to: string): void {
    this.catalog.setLocation(f.ino, { tier: to, volume: null, layout: null });
    this.used.set(f.tier, (this.used.get(f.tier) ?? 0) - f.size);
    this.used.set(to, (this.used.get(to) ?? 0) + f.size);
    this.tally.moved(this.now, f.path, f.tier, to, f.size);
    f.tier = to;
  }

  /** A cold file opened is brought back to a local tier at once (the daemon's copy-up), unthrottled. */
  private copyUp(f: FileState): void {
    const locals = this.tiers.filter((t) => t.kind === 'local');
    const at = admit(
      locals.map((t) => {
        const cap = t.capacityBytes || UNLIMITED;
        const used = this.used.get(t.name) ?? 0;
        return { capacityBytes: cap, usedBytes: used, freeBytes: cap - used, high: t.high };
      }),
      f.size,
    );
    if (at) this.relocate(f, locals[at.index]!.name);
  }

  // ── the background mover, in simulated time ──────────────────────────────────

  private moverTick(): void {
    const m = this.config.mover;
    if (!m.enabled) return;
    const busy = m.busyOpsPerSecond > 0 && this.opsLastSecond > m.busyOpsPerSecond;
    if (busy) return;
    const inFlight = new Set(this.running.map((r) => r.file.ino));
    for (const e of this.catalog.runnableMoves(this.now)) {
      if (this.running.length >= m.concurrency) break;
      if (inFlight.has(e.ino)) continue;
      if (!inWindow(m.windows, e.toTier, new Date(this.now))) continue;
      const f = this.byIno.get(e.ino);
      if (!f || f.tier === e.toTier) {
        this.catalog.dequeueIf(e);
        continue;
      }
      const journalId = this.catalog.journalIntent({ ino: f.ino, path: f.path, fromTier: f.tier, toTier: e.toTier, generation: 0, source: '', target: null, requestedBy: e.requestedBy });
      this.running.push({ entry: e, journalId, file: f, from: f.tier, endMs: this.now + this.moveMs(f.size, f.tier, e.toTier) });
      inFlight.add(f.ino);
    }
  }

  /** How long a move takes: its share of the mover's bandwidth, or the slower tier's speed. */
  private moveMs(size: number, from: string, to: string): number {
    const m = this.config.mover;
    const speed = (name: string) => this.tiers.find((t) => t.name === name)!.latency.bytesPerSecond;
    const share = m.bandwidth > 0 ? m.bandwidth / m.concurrency : Infinity;
    const rate = Math.min(share, speed(from), speed(to));
    const first = Math.max(...[from, to].map((n) => this.tiers.find((t) => t.name === n)!.latency.firstByteMs));
    return first + (size / rate) * 1000;
  }

  private complete(m: RunningMove): void {
    this.running = this.running.filter((r) => r !== m);
    if (m.file.tier !== m.from || !this.byIno.has(m.file.ino)) {
      this.catalog.journalState(m.journalId, 'aborted', { error: 'the file moved meanwhile' });
    } else {
      this.relocate(m.file, m.entry.toTier);
      this.catalog.journalState(m.journalId, 'done', { bytes: m.file.size, verified: true });
    }
    this.catalog.dequeueIf(m.entry);
  }
}
