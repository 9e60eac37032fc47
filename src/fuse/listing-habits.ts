// Which listings carry their entries' attributes (mount.readdirplus), and for
// `adaptive`, learning it per caller.
//
// Attributes in a listing (READDIRPLUS) spare a walk that stats what it lists (du, ls -l,
// rsync, grep -r) a lookup per entry; a walk that reads names alone (find, os.walk, a
// build's globbing) pays for them instead: the daemon reads and packs them, and the
// kernel makes an inode of each (at 200,000 files a find took 2.6× as long with them as
// without, a du 7× as long without them as with). The kernel names the calling thread of
// every request, so the daemon watches what each caller does with what it lists:
//   - a caller's first directory is listed with attributes (an `ls -l` of one directory
//     is as fast as with `always`);
//   - from its second directory on, without, until it has looked up STATS_SEEN entries
//     it was given without attributes that are not directories (every walk looks up the
//     directories it goes into, whatever it does with files); from then on its listings
//     carry attributes.
// The price: a caller that stats what it lists looks up one directory's entries (the
// second it lists) before it is known. A caller not heard from for IDLE_MS is forgotten:
// thread ids are reused.
import type { Ino } from './types.js';

export type ReaddirplusMode = 'adaptive' | 'always' | 'auto' | 'off';

/** Lookups of files listed without attributes after which a caller is taken to stat what it lists. */
export const STATS_SEEN = 8;
export const IDLE_MS = 10_000;
/** Callers remembered at most; past it, those idle longest are forgotten first. */
const MAX_CALLERS = 4096;
/** The directories last listed to a caller without attributes, in which its lookups count. */
const RECENT_DIRS = 4;

interface Caller {
  firstDir: Ino;
  stats: boolean;
  lookups: number;
  recentDirs: Ino[];
  seenMs: number;
}

export class ListingHabits {
  /** Pages of listings answered with attributes and without (plain readdir pages among them). */
  readonly pages = { with: 0, without: 0 };
  /** Callers found to stat what they list (adaptive). */
  callersThatStat = 0;
  /** By thread id, least recently heard from first. */
  private readonly callers = new Map<number, Caller>();

  constructor(
    readonly mode: ReaddirplusMode,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a page of dir listed by thread pid carries attributes (plus: the kernel asked for them). */
  attributes(pid: number, dir: Ino, plus: boolean): boolean {
    const given = plus && (this.mode !== 'adaptive' || pid === 0 || this.learned(pid, dir));
    if (given) this.pages.with++;
    else this.pages.without++;
    return given;
  }

  /** Thread pid looked up a name in parent and found an inode (a directory or not). */
  lookedUp(pid: number, parent: Ino, isDir: boolean): void {
    if (isDir) return;
    const c = this.callers.get(pid);
    if (!c || c.stats || !c.recentDirs.includes(parent)) return;
    if (++c.lookups < STATS_SEEN) return;
    c.stats = true;
    c.recentDirs = [];
    this.callersThatStat++;
  }

  private learned(pid: number, dir: Ino): boolean {
    const now = this.now();
    let c = this.callers.get(pid);
    if (c && now - c.seenMs > IDLE_MS) c = undefined;
    this.callers.delete(pid);
    if (!c) {
      this.forgetIdle(now);
      c = { firstDir: dir, stats: false, lookups: 0, recentDirs: [], seenMs: now };
    }
    c.seenMs = now;
    this.callers.set(pid, c);
    if (c.stats || dir === c.firstDir) return true;
    if (!c.recentDirs.includes(dir)) {
      c.recentDirs.push(dir);
      if (c.recentDirs.length > RECENT_DIRS) c.recentDirs.shift();
    }
    return false;
  }

  private forgetIdle(now: number): void {
    for (const [pid, c] of this.callers) {
      if (now - c.seenMs <= IDLE_MS && this.callers.size < MAX_CALLERS) break;
      this.callers.delete(pid);
    }
  }
}
