// Where catalog backups live: an object store (by default the first backend of the
// first object tier), or a directory served by the filesystem object store, so one
// code path writes, lists, reads and prunes them. Keys sit beside the filesystem's
// data, under its id:
//
//   <fsid>/_catalog/<UTC time, 20261130T120501123Z>.sqlite.gz
//
// "_catalog" can never be a copy's fileId (those start with a letter or digit), so
// listing manifests and removing a copy's objects never meet a backup.
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { backendConfigSchema, type BackendConfig } from '../config/backends.js';
import { createObjectStore, type ObjectStore } from '../objectstore/index.js';
import { timeStamp } from '../catalog/health.js';

const DIR = '_catalog';
const SUFFIX = '.sqlite.gz';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/;

export interface BackupEntry {
  key: string;
  fsid: string;
  /** when the copy was taken */
  time: string;
  /** compressed bytes */
  size: number;
  /** the store that holds it, for people: "tier cold (backend a)", "directory /srv/backups" */
  where: string;
}

export function backupPrefix(fsid: string): string {
  return `${fsid}/${DIR}/`;
}

export function backupKey(fsid: string, date: Date): string {
  return `${backupPrefix(fsid)}${timeStamp(date)}${SUFFIX}`;
}

/** The fsid and time of a backup key, or undefined for any other key. */
export function parseBackupKey(key: string): { fsid: string; time: Date } | undefined {
  const parts = key.split('/');
  if (parts.length !== 3 || parts[1] !== DIR || !UUID.test(parts[0]!) || !parts[2]!.endsWith(SUFFIX)) return undefined;
  const m = STAMP.exec(parts[2]!.slice(0, -SUFFIX.length));
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  const time = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
  return Number.isNaN(time.getTime()) ? undefined : { fsid: parts[0]!.toLowerCase(), time };
}

export class BackupStore {
  constructor(
    readonly store: ObjectStore,
    readonly where: string,
  ) {}

  /** Backups of fsid, newest first. */
  async list(fsid: string): Promise<BackupEntry[]> {
    const out: BackupEntry[] = [];
    for await (const e of this.store.list(backupPrefix(fsid))) {
      const parsed = parseBackupKey(e.key);
      if (parsed) out.push({ key: e.key, fsid: parsed.fsid, time: parsed.time.toISOString(), size: e.size, where: this.where });
    }
    return out.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  }

  async put(fsid: string, date: Date, body: Readable): Promise<BackupEntry> {
    const key = backupKey(fsid, date);
    const r = await this.store.put(key, body, { contentType: 'application/gzip' });
    return { key, fsid, time: date.toISOString(), size: r.size, where: this.where };
  }

  async open(key: string): Promise<Readable> {
    return (await this.store.getStream(key)).stream;
  }

  /** Delete all but the newest `keep` backups of fsid; returns the keys deleted. */
  async prune(fsid: string, keep: number): Promise<string[]> {
    const old = (await this.list(fsid)).slice(keep).map((b) => b.key);
    for (const key of old) await this.store.delete(key);
    return old;
  }
}

/** The store the configuration sends backups to, or undefined when backups are off. */
export function configuredBackupStore(cfg: Config): BackupStore | undefined {
  const b = cfg.catalog.backup;
  if (!b.enabled) return undefined;
  return backupStoreOf(cfg);
}

/** Where the configuration puts backups (whether or not they are enabled). */
export function backupStoreOf(cfg: Config): BackupStore {
  const b = cfg.catalog.backup;
  const objectTiers = cfg.tiers.filter((t) => t.kind === 'object');
  const tier = b.dir === undefined ? (b.tier === undefined ? objectTiers[0] : objectTiers.find((t) => t.name === b.tier)) : undefined;
  if (tier) {
    const backend = tier.backends[0]!;
    return new BackupStore(createObjectStore(backend), `tier ${tier.name} (backend ${backend.name ?? backend.type})`);
  }
  const dir = b.dir ?? join(cfg.dataDir, 'backups');
  return new BackupStore(createObjectStore(dirBackend(dir)), `directory ${dir}`);
}

/** The filesystem object store over a directory, with the schema's defaults. */
export function dirBackend(root: string): BackendConfig {
  return backendConfigSchema.parse({ type: 'fs', name: 'backups', root });
}
