// The catalog as the policy and the simulated mover use it, held in JavaScript maps: the
// answers of the SQLite catalog's queries (same rows, same order), without a statement
// per file. A simulation of ten million accesses records and classifies millions of
// file-hours; at the SQLite catalog's 10–15 µs per row that alone took minutes.
//
// What each method answers is the SQL's, order included (an incremental pass classifies
// files in the order the catalog gives them, and that order decides which of two files
// gets the last room): test/sim/memory-catalog.test.ts replays workloads through both
// catalogs and requires the same placement, moves and decisions. A change to a query in
// src/catalog must be made here too; that test says so when it is not.
import { ROOT_INO, type AccessFold, type Catalog, type ClassificationRow, type Inode, type NewInode, type PendingMove, type QueueEntry, type StoredDecision } from '../catalog/catalog.js';
import type { PolicyCatalog } from '../policy/classifier.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/**
 * A file or directory as the policy's queries read it: its inode's columns they name and
 * its access_stats row folded in (`opened`: it has one). One class, every field set in
 * the constructor, and nothing else (the counters of opens and bytes, the timestamps no
 * query reads): a pass reads tens of thousands of these at random, and a small object of
 * one shape is a cache line or two where a large one was six.
 */
class Node {
  mode: number;
  uid: number;
  nlink: number;
  size: number;
  mtimeNs: bigint;
  /** mtime in whole ms (the catalog's mtime_ns / 1000000) */
  mtimeMs: number;
  tier: string | null;
  dataPath: string | null;
  pin: string | null = null;
  readonly children: number[] | null;
  opened = false;
  lastMs = 0;
  heat = 0;
  heatMs = 0;
  /** when heat decays to 1 (the catalog's migration 13); NaN: NULL, never opened */
  coolMs = NaN;
  /** in the catalog's dirty table */
  dirty = false;

  constructor(
    readonly ino: number,
    i: NewInode,
    readonly parent: number,
    readonly name: string,
    public tierSinceMs: number,
  ) {
    this.mode = i.mode;
    this.uid = i.uid;
    this.nlink = i.nlink;
    this.size = i.size;
    this.mtimeNs = i.mtimeNs;
    this.mtimeMs = Number(i.mtimeNs / 1_000_000n);
    this.tier = i.tier;
    this.dataPath = i.dataPath;
    this.children = (i.mode & S_IFMT) === S_IFDIR ? [] : null;
  }

  /** As getInode gives it: the columns kept, the others as a simulation creates files. */
  inode(): Inode {
    const { ino, mode, uid, nlink, size, mtimeNs, tier, dataPath, pin } = this;
    const t = mtimeNs;
    return { ino, mode, uid, gid: 0, nlink, rdev: 0, size, atimeNs: t, mtimeNs, ctimeNs: t, generation: 0, tier, volume: null, dataPath, target: null, state: 'ok', layout: null, pin, sha256: null, blocks: null };
  }
}

/** The rows the classifier reads of a regular file on a tier with a name (CLASSIFY_SELECT). */
const classifiable = (n: Node) => n.tier !== null && n.nlink > 0 && (n.mode & S_IFMT) === S_IFREG;

const decayed = (n: Node, nowMs: number, halfLifeMs: number) => (n.opened ? n.heat * 2 ** (-Math.max(0, nowMs - n.heatMs) / halfLifeMs) : 0);

/** cool_ms as SQL computes it: log2 of zero is NULL (NaN here). */
const coolOf = (heatMs: number, heat: number, halfLifeMs: number) => (heat > 0 ? heatMs + halfLifeMs * Math.log2(heat) : NaN);

const byIno = (a: Node, b: Node) => a.ino - b.ino;

const BUCKET_MS = 3_600_000;

/** A bucket's entries: a file, and the stamp it had when filed there (parallel arrays). */
interface Bucket {
  inos: number[];
  stamps: number[];
}

/**
 * Files by a time key in hour-wide buckets: an incremental pass asks which files' key
 * fell in the last pass interval (an index range in SQL); this looks at the files of an
 * hour or two instead of every file.
 *
 * A file whose key moves to another bucket is filed there anew and its old entry is left
 * behind, stale (its stamp no longer the file's): recording an hour of accesses moves
 * thousands of files, and taking each out of its old bucket cost a visit to that bucket
 * and to the file swapped into its place. Stale entries are dropped from a bucket when a
 * range reads it, and from all of them once they outnumber the files filed, so the index
 * holds at most about two entries per file. Keys and stamps are kept by ino in arrays of
 * their own: checking an entry reads eight bytes of a dense array, not a file's record.
 */
class TimeIndex {
  /** by ino: the key filed under (NaN: none) and the stamp of its live entry */
  private keys = new Float64Array(1024).fill(NaN);
  private stamps = new Int32Array(1024);
  private readonly buckets = new Map<number, Bucket>();
  /** the bucket filed into last (an hour of accesses files most of them into one) */
  private lastKey = NaN;
  private last: Bucket | undefined;
  private filedFiles = 0;
  private stale = 0;

  constructor(
    private readonly key: (n: Node) => number,
    private readonly node: (ino: number) => Node,
  ) {}

  /** After n changed: filed under its key now (NaN: under none). */
  update(n: Node): void {
    const ino = n.ino;
    if (ino >= this.keys.length) this.grow(ino);
    const was = this.keys[ino]!;
    const now = this.key(n);
    if (was === now || (was !== was && now !== now)) return; // unchanged, or NaN both
    this.keys[ino] = now;
    const to = Math.floor(now / BUCKET_MS);
    if (to === Math.floor(was / BUCKET_MS)) return; // same bucket: its entry still holds
    const stamp = (this.stamps[ino] = (this.stamps[ino]! + 1) | 0); // as stored (wraps, never lost)
    if (was === was) (this.stale++, this.filedFiles--);
    if (now !== now) return;
    this.filedFiles++;
    let b = to === this.lastKey ? this.last : this.buckets.get(to);
    if (!b) this.buckets.set(to, (b = { inos: [], stamps: [] }));
    this.lastKey = to;
    this.last = b;
    b.inos.push(ino);
    b.stamps.push(stamp);
    if (this.stale > this.filedFiles + 1024) this.compactAll();
  }

  private grow(ino: number): void {
    const size = Math.max(2 * this.keys.length, ino + 1);
    const keys = new Float64Array(size).fill(NaN);
    const stamps = new Int32Array(size);
    keys.set(this.keys);
    stamps.set(this.stamps);
    [this.keys, this.stamps] = [keys, stamps];
  }

  /** The files whose key is in [from, to), in no order. */
  range(from: number, to: number): Node[] {
    const out: Node[] = [];
    const [first, last] = [Math.floor(from / BUCKET_MS), Math.floor(to / BUCKET_MS)];
    if (!(last >= first)) return out;
    const visit = (b: Bucket | undefined) => {
      if (!b) return;
      this.compact(b);
      for (const ino of b.inos) if (this.keys[ino]! >= from && this.keys[ino]! < to) out.push(this.node(ino));
    };
    // a window wider than the buckets there are (the first pass's reaches back to 0): every bucket
    if (last - first > this.buckets.size) for (const [i, b] of this.buckets) (i >= first && i <= last ? visit(b) : undefined);
    else for (let i = first; i <= last; i++) visit(this.buckets.get(i));
    return out;
  }

  /** Drop a bucket's stale entries, in place. */
  private compact(b: Bucket): void {
    let kept = 0;
    for (let i = 0; i < b.inos.length; i++) {
      const ino = b.inos[i]!;
      if (this.stamps[ino] !== b.stamps[i]) continue;
      b.inos[kept] = ino;
      b.stamps[kept++] = b.stamps[i]!;
    }
    this.stale -= b.inos.length - kept;
    b.inos.length = b.stamps.length = kept;
  }

  private compactAll(): void {
    for (const [i, b] of this.buckets) {
      this.compact(b);
      if (b.inos.length === 0) this.buckets.delete(i);
    }
    this.lastKey = NaN;
    this.last = undefined;
  }
}

/** The catalog subset a simulation drives: the policy's, and what the simulated mover and file creation write. */
export type SimCatalog = PolicyCatalog &
  Pick<Catalog, 'createInode' | 'updateData' | 'setLocation' | 'setPin' | 'recordFileAccesses' | 'runnableMoves' | 'journalIntent' | 'journalState' | 'queueLength'>;

export class MemoryCatalog implements SimCatalog {
  /** every inode in ino order, inode i at i - 1 (inos are given in turn, and a simulation deletes nothing) */
  private readonly ordered: Node[] = [];
  private nextIno = ROOT_INO + 1;
  /** files marked since the last takeDirty (each once: Node.dirty) */
  private dirty: Node[] = [];
  private readonly pinned = new Set<Node>();
  /** classifiable files by tier (capacity planning's coldest reads one tier) */
  private readonly onTier = new Map<string, Set<Node>>();
  // the windows an incremental pass asks about, as the catalog's indexes answer them
  private readonly node = (ino: number) => this.at(ino)!;
  private readonly byLastUse = new TimeIndex((n) => (n.opened ? n.lastMs : n.tier !== null ? n.tierSinceMs : NaN), this.node);
  private readonly byCool = new TimeIndex((n) => (n.tier !== null ? n.coolMs : NaN), this.node);
  private readonly byMtime = new TimeIndex((n) => (n.tier !== null ? n.mtimeMs : NaN), this.node);
  private readonly byArrival = new TimeIndex((n) => (n.tier !== null ? n.tierSinceMs : NaN), this.node);
  private readonly usage = new Map<string, { files: number; bytes: number }>();
  private readonly decisions = new Map<number, StoredDecision>();
  /** the move queue by ino (one entry per file, as the table's UNIQUE ino) */
  private readonly queue = new Map<number, QueueEntry>();
  private readonly queuedById = new Map<number, QueueEntry>();
  /** the largest id in the queue (0: empty): the next entry's id is one above it, as SQLite gives */
  private maxQueuedId = 0;
  /** journaled moves still at 'intent', by id, and how many per ino */
  private readonly intents = new Map<number, number>();
  private readonly intentsOf = new Map<number, number>();
  private nextMoveId = 1;
  private coolHalfLifeMs = NaN;

  constructor(private readonly now: () => number) {
    const root = new Node(ROOT_INO, { mode: S_IFDIR | 0o755, uid: 0, gid: 0, nlink: 2, rdev: 0, size: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, tier: null, volume: null, dataPath: null, target: null }, 0, '', now());
    this.ordered.push(root);
  }

  private at(ino: number): Node | undefined {
    return this.ordered[ino - ROOT_INO];
  }

  tx<T>(fn: () => T): T {
    return fn();
  }

  // ── files ─────────────────────────────────────────────────────────────────

  createInode(inode: NewInode, parent = ROOT_INO, name = ''): number {
    const n = new Node(this.nextIno++, inode, parent, name, this.now());
    this.ordered.push(n);
    this.at(parent)?.children?.push(n.ino);
    this.count(n, 1);
    this.reindex(n);
    return n.ino;
  }

  /** What the catalog's triggers and indexes keep: before a change to n (-1), then after it (+1). */
  private count(n: Node, sign: 1 | -1): void {
    if (n.tier === null) return;
    if (classifiable(n)) {
      let set = this.onTier.get(n.tier);
      if (!set) this.onTier.set(n.tier, (set = new Set()));
      if (sign > 0) set.add(n);
      else set.delete(n);
    }
    if (n.nlink <= 0) return;
    let u = this.usage.get(n.tier);
    if (!u) this.usage.set(n.tier, (u = { files: 0, bytes: 0 }));
    u.files += sign;
    u.bytes += sign * n.size;
  }

  private reindex(n: Node): void {
    this.byLastUse.update(n);
    this.byCool.update(n);
    this.byMtime.update(n);
    this.byArrival.update(n);
  }

  getInode(ino: number): Inode | undefined {
    return this.at(ino)?.inode();
  }

  pathOf(ino: number): string | undefined {
    const parts: string[] = [];
    for (let cur = this.at(ino); cur && cur.ino !== ROOT_INO; cur = this.at(cur.parent)) parts.unshift(cur.name);
    return this.at(ino) ? parts.join('/') : undefined;
  }

  updateData(ino: number, size: number, mtimeNs: bigint): void {
    const n = this.at(ino)!;
    this.count(n, -1);
    n.size = size;
    n.mtimeNs = mtimeNs;
    n.mtimeMs = Number(mtimeNs / 1_000_000n);
    this.count(n, 1);
    this.byMtime.update(n);
  }

  setLocation(ino: number, loc: { tier: string; volume: string | null; layout: string | null }): void {
    const n = this.at(ino)!;
    this.count(n, -1);
    n.tier = loc.tier;
    n.tierSinceMs = this.now();
    this.count(n, 1);
    this.reindex(n);
  }

  setPin(ino: number, tier: string | null): void {
    const n = this.at(ino);
    if (!n) return;
    n.pin = tier;
    if (tier === null) this.pinned.delete(n);
    else this.pinned.add(n);
    const mark = (m: Node) => {
      this.markDirty(m);
      for (const c of m.children ?? []) mark(this.at(c)!);
    };
    mark(n);
  }

  pinnedInodes(): { ino: number; pin: string }[] {
    const pinned = [...this.pinned];
    // the index on pin gives them by pin, then ino
    pinned.sort((a, b) => (a.pin! < b.pin! ? -1 : a.pin! > b.pin! ? 1 : a.ino - b.ino));
    return pinned.map((n) => ({ ino: n.ino, pin: n.pin! }));
  }

  usageByTier(): Map<string, { files: number; bytes: number }> {
    // in the order tiers were first used (tier_usage's rows)
    return new Map([...this.usage].map(([t, u]) => [t, { ...u }]));
  }

  takeDirectoryRenamed(): boolean {
    return false; // a simulation renames nothing
  }

  // ── accesses ──────────────────────────────────────────────────────────────

  /** The catalog's upsert of access_stats for each file (and its cool_ms trigger). */
  recordFileAccesses(fold: AccessFold, halfLifeMs: number): void {
    this.coolFor(halfLifeMs);
    for (const f of fold.files()) {
      const n = this.at(f.ino);
      if (!n) continue;
      this.markDirty(n);
      if (!n.opened) {
        n.opened = true;
        n.heat = f.heat;
        n.heatMs = f.timeMs;
        n.lastMs = f.timeMs;
      } else {
        // every right-hand side is the row before the update, as in SQL
        n.heat = n.heat * 2 ** (-Math.max(0, f.timeMs - n.heatMs) / halfLifeMs) + f.heat;
        n.heatMs = Math.max(n.heatMs, f.timeMs);
        n.lastMs = Math.max(n.lastMs, f.timeMs);
      }
      n.coolMs = coolOf(n.heatMs, n.heat, halfLifeMs);
      this.byLastUse.update(n);
      this.byCool.update(n);
    }
  }

  private markDirty(n: Node): void {
    if (n.dirty) return;
    n.dirty = true;
    this.dirty.push(n);
  }

  private coolFor(halfLifeMs: number): void {
    if (this.coolHalfLifeMs === halfLifeMs) return;
    for (const n of this.ordered) {
      if (!n.opened) continue;
      n.coolMs = coolOf(n.heatMs, n.heat, halfLifeMs);
      this.byCool.update(n);
    }
    this.coolHalfLifeMs = halfLifeMs;
  }

  takeDirty(): number[] {
    const inos = this.dirty.map((n) => ((n.dirty = false), n.ino)).sort((a, b) => a - b);
    this.dirty = [];
    return inos;
  }

  // ── what the classifier reads ─────────────────────────────────────────────

  private row(n: Node): ClassificationRow {
    return {
      ino: n.ino,
      path: n.dataPath ?? '',
      size: n.size,
      uid: n.uid,
      tier: n.tier!,
      mtimeMs: n.mtimeMs,
      lastAccessMs: n.opened ? n.lastMs : n.tierSinceMs,
      heat: n.heat,
      heatMs: n.heatMs,
      tierSinceMs: n.tierSinceMs,
      class: null,
      pin: n.pin,
    };
  }

  classificationRow(ino: number): ClassificationRow | undefined {
    const n = this.at(ino);
    return n && classifiable(n) ? this.row(n) : undefined;
  }

  classificationPage(afterIno: number, limit: number): ClassificationRow[] {
    const out: ClassificationRow[] = [];
    // ordered[i].ino grows with i: the first ino above afterIno by bisection
    let [lo, hi] = [0, this.ordered.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ordered[mid]!.ino <= afterIno) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.ordered.length && out.length < limit; i++) {
      const n = this.ordered[i]!;
      if (classifiable(n)) out.push(this.row(n));
    }
    return out;
  }

  /** A tier's `limit` coldest files: cool_ms (never opened first), idle longest, largest, ino. */
  coldest(tier: string, nowMs: number, halfLifeMs: number, limit: number): ClassificationRow[] {
    this.coolFor(halfLifeMs);
    const lastAccess = (n: Node) => (n.opened ? n.lastMs : n.tierSinceMs);
    const order = (a: Node, b: Node) => {
      const [ca, cb] = [Number.isNaN(a.coolMs), Number.isNaN(b.coolMs)]; // NULL first
      if (ca !== cb) return ca ? -1 : 1;
      if (!ca && a.coolMs !== b.coolMs) return a.coolMs - b.coolMs;
      return lastAccess(a) - lastAccess(b) || b.size - a.size || a.ino - b.ino;
    };
    // the limit smallest in order, kept sorted: one pass over the tier's files
    const top: Node[] = [];
    for (const n of this.onTier.get(tier) ?? []) {
      if (top.length === limit && order(n, top[limit - 1]!) >= 0) continue;
      let [lo, hi] = [0, top.length];
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (order(top[mid]!, n) <= 0) lo = mid + 1;
        else hi = mid;
      }
      top.splice(lo, 0, n);
      if (top.length > limit) top.pop();
    }
    return top.map((n) => ({ ...this.row(n), heat: decayed(n, nowMs, halfLifeMs), heatMs: nowMs }));
  }

  cooledBetween(threshold: number, fromMs: number, toMs: number, halfLifeMs: number): number[] {
    this.coolFor(halfLifeMs);
    const shift = halfLifeMs * Math.log2(threshold);
    const [from, to] = [fromMs + shift, toMs + shift];
    const hits = this.byCool.range(from, to);
    // index (tier, cool_ms), tier by tier
    hits.sort((a, b) => (a.tier! < b.tier! ? -1 : a.tier! > b.tier! ? 1 : a.coolMs - b.coolMs || a.ino - b.ino));
    return hits.map((n) => n.ino);
  }

  lastUsedBetween(fromMs: number, toMs: number): number[] {
    // opened last in the window, or never opened and arrived then; the UNION gives them by ino
    return this.byLastUse
      .range(fromMs, toMs)
      .sort(byIno)
      .map((n) => n.ino);
  }

  changedBetween(fromMs: number, toMs: number): number[] {
    const [from, to] = [Math.floor(fromMs), Math.floor(toMs)];
    const hits = this.byMtime.range(from, to);
    return hits.sort((a, b) => a.mtimeMs - b.mtimeMs || byIno(a, b)).map((n) => n.ino);
  }

  arrivedBetween(fromMs: number, toMs: number, nowMs: number, halfLifeMs: number): { ino: number; tier: string; size: number; heat: number }[] {
    const hits = this.byArrival.range(fromMs, toMs);
    hits.sort((a, b) => a.tierSinceMs - b.tierSinceMs || byIno(a, b));
    return hits.map((n) => ({ ino: n.ino, tier: n.tier!, size: n.size, heat: decayed(n, nowMs, halfLifeMs) }));
  }

  saveDecision(ino: number, d: Omit<StoredDecision, 'timeMs'>, timeMs = this.now()): void {
    this.decisions.set(ino, { timeMs, target: d.target, rule: d.rule, reason: d.reason, inputs: d.inputs });
  }

  decision(ino: number): StoredDecision | undefined {
    return this.decisions.get(ino);
  }

  // ── the move queue and journal ────────────────────────────────────────────

  enqueueMove(e: { ino: number; toTier: string; priority: number; requestedBy: string; reason: string }): number | undefined {
    const q = this.queue.get(e.ino);
    if (q) {
      if (e.priority > q.priority) return undefined;
      Object.assign(q, { toTier: e.toTier, priority: e.priority, requestedBy: e.requestedBy, reason: e.reason, notBeforeMs: 0 });
      return q.id;
    }
    // INTEGER PRIMARY KEY: one above the largest id in the table
    const entry = { id: ++this.maxQueuedId, ...e, enqueuedMs: this.now(), notBeforeMs: 0, attempts: 0, lastError: null };
    this.queue.set(e.ino, entry);
    this.queuedById.set(entry.id, entry);
    return entry.id;
  }

  private unqueue(q: QueueEntry): void {
    this.queue.delete(q.ino);
    this.queuedById.delete(q.id);
    if (q.id !== this.maxQueuedId) return;
    this.maxQueuedId = 0; // the largest left (a loop: a queue may be too long to spread into arguments)
    for (const id of this.queuedById.keys()) if (id > this.maxQueuedId) this.maxQueuedId = id;
  }

  queuedMoveOf(ino: number): QueueEntry | undefined {
    const q = this.queue.get(ino);
    return q && { ...q };
  }

  queueLength(): number {
    return this.queue.size;
  }

  dequeueIf(e: Pick<QueueEntry, 'id' | 'toTier' | 'priority'>): boolean {
    const q = this.queuedById.get(e.id);
    if (!q || q.toTier !== e.toTier || q.priority !== e.priority) return false;
    this.unqueue(q);
    return true;
  }

  dropAutomaticMove(ino: number): void {
    const q = this.queue.get(ino);
    if (q && q.priority > 0 && !q.requestedBy.toLowerCase().startsWith('watermark:')) this.unqueue(q);
  }

  /** Moves due by nowMs by priority, then id (one removed while the caller goes on is not given). */
  *runnableMoves(nowMs: number): Generator<QueueEntry> {
    const due = [...this.queue.values()].filter((q) => q.notBeforeMs <= nowMs).sort((a, b) => a.priority - b.priority || a.id - b.id);
    for (const q of due) if (this.queuedById.get(q.id) === q) yield { ...q };
  }

  pendingMoves(nowMs: number, halfLifeMs: number): PendingMove[] {
    const out: PendingMove[] = [];
    for (const q of [...this.queue.values()].sort((a, b) => a.id - b.id)) {
      const n = this.at(q.ino);
      if (!n || n.tier === null || n.nlink <= 0 || n.tier === q.toTier) continue;
      out.push({ id: q.id, ino: q.ino, from: n.tier, to: q.toTier, size: n.size, heat: decayed(n, nowMs, halfLifeMs), priority: q.priority, requestedBy: q.requestedBy, running: (this.intentsOf.get(q.ino) ?? 0) > 0 });
    }
    return out;
  }

  journalIntent(m: { ino: number }): number {
    const id = this.nextMoveId++;
    this.intents.set(id, m.ino);
    this.intentsOf.set(m.ino, (this.intentsOf.get(m.ino) ?? 0) + 1);
    return id;
  }

  journalState(id: number, state: 'intent' | 'committed' | 'done' | 'aborted'): void {
    const ino = this.intents.get(id);
    if (ino === undefined || state === 'intent') return;
    this.intents.delete(id);
    this.intentsOf.set(ino, this.intentsOf.get(ino)! - 1);
  }
}
