// What the tiers hold of a filesystem, whatever the catalog in dataDir says: the ids
// found in object keys (every key a copy writes starts with its filesystem's id; every
// manifest and cell names it again inside), the catalog backups beside them, and
// whether the local tiers' volumes hold anything. A mount that finds no usable
// catalog asks this before it would start a new, empty filesystem.
import { readdirSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { createObjectStore } from '../objectstore/index.js';
import { TEMP_DIR } from '../tiers/local/copy.js';
import { BackupStore, backupStoreOf, parseBackupKey, type BackupEntry } from './backup-store.js';

const FSID_PREFIX = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\//i;

export interface FilesystemTraces {
  fsid: string;
  manifests: number;
  /** cells and other objects under the id */
  objects: number;
  /** catalog backups, newest first, each with the store that holds it */
  backups: { entry: BackupEntry; store: BackupStore }[];
}

export interface TierTraces {
  filesystems: FilesystemTraces[];
  /** local volumes with entries, and how many at their root */
  localVolumes: { tier: string; volume: string; entries: number }[];
  /** stores that could not be listed: what they hold is unknown */
  unreadable: string[];
}

export function hasTraces(t: TierTraces): boolean {
  return t.filesystems.length > 0 || t.localVolumes.length > 0;
}

/** One line per filesystem found, for logs and refusals. */
export function describeTraces(t: TierTraces): string[] {
  return [
    ...t.filesystems.map((f) => `filesystem ${f.fsid}: ${f.manifests} manifests, ${f.objects} other objects, ${f.backups.length} catalog backups`),
    ...t.localVolumes.map((v) => `tier ${v.tier}: ${v.entries} entries in ${v.volume}`),
  ];
}

/**
 * List every backend of every object tier (whole: stores have no delimiter listing, and
 * this runs only when the catalog is lost), the configured backup store when it is a
 * directory, and the roots of the local volumes.
 */
export async function traceTiers(cfg: Config): Promise<TierTraces> {
  const byFsid = new Map<string, FilesystemTraces>();
  const unreadable: string[] = [];
  const of = (fsid: string) => {
    const key = fsid.toLowerCase();
    let f = byFsid.get(key);
    if (!f) byFsid.set(key, (f = { fsid: key, manifests: 0, objects: 0, backups: [] }));
    return f;
  };
  const stores: BackupStore[] = [];
  for (const t of cfg.tiers) {
    if (t.kind !== 'object') continue;
    for (const b of t.backends) stores.push(new BackupStore(createObjectStore(b), `tier ${t.name} (backend ${b.name ?? b.type})`));
  }
  const configured = backupStoreOf(cfg);
  if (configured.where.startsWith('directory ')) stores.push(configured);

  for (const store of stores) {
    try {
      for await (const e of store.store.list('')) {
        const backup = parseBackupKey(e.key);
        if (backup) {
          of(backup.fsid).backups.push({ entry: { key: e.key, fsid: backup.fsid, time: backup.time.toISOString(), size: e.size, where: store.where }, store });
          continue;
        }
        const m = FSID_PREFIX.exec(e.key);
        if (!m) continue;
        if (e.key.endsWith('/manifest')) of(m[1]!).manifests++;
        else of(m[1]!).objects++;
      }
    } catch (err) {
      unreadable.push(`${store.where}: ${(err as Error).message}`);
    }
  }
  for (const f of byFsid.values()) f.backups.sort((a, b) => (a.entry.time < b.entry.time ? 1 : a.entry.time > b.entry.time ? -1 : 0));

  const localVolumes: TierTraces['localVolumes'] = [];
  for (const t of cfg.tiers) {
    if (t.kind !== 'local') continue;
    for (const v of t.volumes) {
      let entries = 0;
      try {
        entries = readdirSync(v.path).filter((n) => n !== TEMP_DIR).length;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') unreadable.push(`tier ${t.name} volume ${v.path}: ${(err as Error).message}`);
      }
      if (entries > 0) localVolumes.push({ tier: t.name, volume: v.path, entries });
    }
  }
  return { filesystems: [...byFsid.values()], localVolumes, unreadable };
}
