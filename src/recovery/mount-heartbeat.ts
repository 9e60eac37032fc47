// One filesystem, one mount at a time. A mounted daemon keeps a small object on every
// backend of its object tiers, .tierfs/mounts/<fsid>/<id>, saying who holds the filesystem (host,
// data directory, mountpoint, pid) and when it last said so (every minute). A mount that
// would open the same filesystem from elsewhere finds it fresh and stops: a second machine
// given the same tierfs.yaml, a copied data directory, or a new data directory whose
// missing catalog would otherwise be rebuilt from the tiers (catalog.recovery: auto) and
// then garbage-collect the first mount's copies as its own. A clean unmount removes the
// object; one a crash left goes stale after STALE_MS, and the same host and data
// directory (the crashed daemon mounting again) is never refused.
// Advisory — object stores have no locks — but it turns a silent loss into a refusal.
// Outside <fsid>/: what is there is the filesystem's data, and a heartbeat is not (nor is it
// listed with it: a rebuild, an audit or a count of a filesystem's objects never sees one).
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { ObjectStore } from '../objectstore/index.js';

export const HEARTBEAT_INTERVAL_MS = 60_000;
export const STALE_MS = 3 * HEARTBEAT_INTERVAL_MS;

/** Who holds a filesystem, as its heartbeat object says. */
export interface MountHolder {
  host: string;
  dataDir: string;
  mountpoint: string;
  pid: number;
  startedAt: string;
  seenAt: string;
}

/** What tells one mount from another: the machine and the data directory. */
export type MountIdentity = Pick<MountHolder, 'host' | 'dataDir'>;

export function thisHost(dataDir: string): MountIdentity {
  return { host: hostname(), dataDir };
}

const prefixOf = (fsid: string) => `.tierfs/mounts/${fsid}/`;

const same = (a: MountIdentity, b: MountIdentity) => a.host === b.host && a.dataDir === b.dataDir;

export class MountHeartbeat {
  private readonly key: string;
  private readonly startedAt: string;

  /** stores: every backend of the object tiers as they are now (a live change may replace or add some) */
  constructor(
    private readonly stores: () => readonly ObjectStore[],
    fsid: string,
    private readonly me: Omit<MountHolder, 'startedAt' | 'seenAt'>,
    private readonly now: () => number = Date.now,
  ) {
    this.key = prefixOf(fsid) + createHash('sha256').update(`${me.host}\0${me.dataDir}`).digest('hex').slice(0, 16);
    this.startedAt = new Date(now()).toISOString();
  }

  /** Says "still here" on every backend; fails only when no backend took it. */
  async beat(): Promise<void> {
    const body = Buffer.from(JSON.stringify({ ...this.me, startedAt: this.startedAt, seenAt: new Date(this.now()).toISOString() }));
    const results = await Promise.allSettled(this.stores().map((s) => s.put(this.key, body, { contentType: 'application/json' })));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length === results.length && failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
  }

  /** At a clean unmount: the filesystem is free for another mount at once. */
  async end(): Promise<void> {
    await Promise.allSettled(this.stores().map((s) => s.delete(this.key)));
  }
}

/** The mounts other than `me` whose heartbeat for fsid is fresh, on any of the stores. */
export async function otherLiveMounts(stores: readonly ObjectStore[], fsid: string, me: MountIdentity, nowMs = Date.now()): Promise<MountHolder[]> {
  const found = new Map<string, MountHolder>();
  for (const store of stores) {
    let keys: string[];
    try {
      keys = [];
      for await (const e of store.list(prefixOf(fsid))) keys.push(e.key);
    } catch {
      continue; // a backend that does not answer holds no say; the others may
    }
    for (const key of keys) {
      try {
        const h = JSON.parse((await store.get(key)).data.toString('utf8')) as MountHolder;
        const seen = Date.parse(h.seenAt);
        if (same(h, me) || !(nowMs - seen < STALE_MS)) continue;
        const prev = found.get(key);
        if (!prev || Date.parse(prev.seenAt) < seen) found.set(key, h);
      } catch {
        // gone meanwhile (an unmount), or not ours to read: no holder
      }
    }
  }
  return [...found.values()];
}

/** The refusal: who holds it, and what to do. */
export function heldElsewhere(fsid: string, holders: MountHolder[], nowMs = Date.now()): string {
  const who = holders
    .map((h) => `  ${h.host}: mounted at ${h.mountpoint} (data directory ${h.dataDir}, pid ${h.pid}), last seen ${Math.round((nowMs - Date.parse(h.seenAt)) / 1000)} s ago`)
    .join('\n');
  return (
    `filesystem ${fsid} on these object tiers is mounted elsewhere right now:\n${who}\n` +
    `Two mounts of one filesystem would each delete the other's copies. Unmount it there first (its heartbeat goes at once), ` +
    `or, if that mount is gone for good, mount again once its heartbeat is ${STALE_MS / 60_000} minutes old. ` +
    `A new, separate filesystem needs buckets (or backends) of its own.`
  );
}
