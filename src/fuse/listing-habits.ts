// Which listings carry their entries' attributes (mount.readdirplus), and for
// `adaptive`, learning it per caller.
//
// Attributes in a listing (READDIRPLUS) spare a walk that stats what it lists (du, ls -l,
// rsync, grep -r) a lookup per entry; a walk that reads names alone (find, os.walk, a
// build's globbing) pays for them instead: the daemon reads and packs them, and the
// kernel makes an inode of each (at 200,000 files a find took 2.6× as long with them as
// without, a du 7× as long without them as with). The kernel names the calling thread of
// every request, so the daemon watches what becomes of what each caller — a process: one
// thread may list while others stat, as Node's and Go's file APIs do — lists:
//   - a caller's first directory is listed with attributes (an `ls -l` of one directory
//     is as fast as with `always`);
//   - from its second directory on, without, until STATS_SEEN entries it was given
//     without attributes, not directories (every walk goes into those), have been looked
//     up — by it (du) or by anyone (`find | xargs stat`); from then on its listings carry
//     attributes.
// The price: a walk that stats what it lists looks up one directory's entries (the second
// it lists) before it is known. A caller not heard from for IDLE_MS is forgotten: process
// and thread ids are reused.
import { readFileSync } from 'node:fs';
import type { Ino } from './types.js';

export type ReaddirplusMode = 'adaptive' | 'always' | 'auto' | 'off';

/** Lookups of files listed without attributes after which a caller is taken to stat what it lists. */
export const STATS_SEEN = 8;
export const IDLE_MS = 10_000;
/** Callers (and threads, and directories) remembered at most; past it, those idle longest are forgotten first. */
const MAX_REMEMBERED = 4096;

/** The process of a thread (its thread group), from /proc; the thread itself when that cannot be read. */
export function processOfThread(tid: number): number {
  try {
    const status = readFileSync(`/proc/${tid}/status`, 'latin1');
    const tgid = /^Tgid:\s*(\d+)/m.exec(status);
    return tgid ? Number(tgid[1]) : tid;
  } catch {
    return tid; // gone already, or in a namespace the daemon cannot see
  }
}

interface Caller {
  firstDir: Ino;
  stats: boolean;
  /** Lookups of files it was given without attributes. */
  lookups: number;
  seenMs: number;
}

export class ListingHabits {
  /** Pages of listings answered with attributes and without (plain readdir pages among them). */
  readonly pages = { with: 0, without: 0 };
  /** Callers found to stat what they list (adaptive). */
  callersThatStat = 0;
  /** By process id, least recently heard from first. */
  private readonly callers = new Map<number, Caller>();
  /** Processes by thread id, as last read, and when. */
  private readonly threads = new Map<number, { process: number; readMs: number }>();
  /** Directories listed without attributes lately, to whom and when: a lookup elsewhere costs nothing more. */
  private readonly listedWithout = new Map<Ino, { caller: number; atMs: number }>();

  constructor(
    readonly mode: ReaddirplusMode,
    private readonly now: () => number = Date.now,
    private readonly processOf: (tid: number) => number = processOfThread,
  ) {}

  /** Whether a page of dir listed by thread tid carries attributes (plus: the kernel asked for them). */
  attributes(tid: number, dir: Ino, plus: boolean): boolean {
    const given = plus && (this.mode !== 'adaptive' || tid === 0 || this.learned(tid, dir));
    if (given) this.pages.with++;
    else this.pages.without++;
    return given;
  }

  /** Someone looked up a name in parent and found an inode (a directory or not). */
  lookedUp(parent: Ino, isDir: boolean): void {
    if (isDir) return;
    const listed = this.listedWithout.get(parent);
    if (listed === undefined || this.now() - listed.atMs > IDLE_MS) return;
    const c = this.callers.get(listed.caller);
    if (!c || c.stats || ++c.lookups < STATS_SEEN) return;
    c.stats = true;
    this.callersThatStat++;
  }

  private learned(tid: number, dir: Ino): boolean {
    const now = this.now();
    const pid = this.process(tid, now);
    let c = this.callers.get(pid);
    if (c && now - c.seenMs > IDLE_MS) c = undefined;
    this.callers.delete(pid);
    if (!c) c = { firstDir: dir, stats: false, lookups: 0, seenMs: now };
    c.seenMs = now;
    remember(this.callers, pid, c, (old) => now - old.seenMs > IDLE_MS);
    if (c.stats || dir === c.firstDir) return true;
    this.listedWithout.delete(dir);
    remember(this.listedWithout, dir, { caller: pid, atMs: now }, (old) => now - old.atMs > IDLE_MS);
    return false;
  }

  private process(tid: number, now: number): number {
    const known = this.threads.get(tid);
    if (known && now - known.readMs <= IDLE_MS) return known.process;
    this.threads.delete(tid);
    const t = { process: this.processOf(tid), readMs: now };
    remember(this.threads, tid, t, (old) => now - old.readMs > IDLE_MS);
    return t.process;
  }
}

/**
 * Sets key in a map kept in the order its entries were set, after dropping from its
 * front those that are stale, and the oldest past MAX_REMEMBERED.
 */
function remember<K, V>(map: Map<K, V>, key: K, value: V, stale: (v: V) => boolean): void {
  for (const [k, v] of map) {
    if (!stale(v) && map.size < MAX_REMEMBERED) break;
    map.delete(k);
  }
  map.set(key, value);
}
