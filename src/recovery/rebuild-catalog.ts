// The one way back (issue 18, point 3): a catalog made again from what survives it.
//
//   1 the newest good backup of the filesystem (downloaded, decompressed, quick-checked,
//     its filesystem id checked), else an empty catalog with the id the tiers carry;
//   2 the moves that were running when the backup was taken are closed, not replayed;
//   3 the local tiers: files made after the backup imported, changed ones updated,
//     missing ones marked (vfs/reconcile.ts, as at every mount);
//   4 the manifests on the object tiers the catalog lacks: new files restored, files
//     whose copy has gone since pointed at the copy that replaced it (vfs/rebuild.ts).
// The report says, per kind, what came back and what did not; it is kept in the
// catalog (meta "lastRecovery") for `tierfs status`.
import { createWriteStream, existsSync, rmSync, renameSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Catalog } from '../catalog/catalog.js';
import { catalogPathOf, inspectCatalog, REBUILD_IN_PROGRESS } from '../catalog/health.js';
import type { Config } from '../config/schema.js';
import { moduleLogger } from '../log.js';
import { LocalTier } from '../tiers/local/local-tier.js';
import { defaultCacheDir, openObjectTier, type ObjectTier } from '../tiers/object/index.js';
import { fsck } from '../vfs/rebuild.js';
import { reconcile } from '../vfs/reconcile.js';
import type { BackupEntry } from './backup-store.js';
import { traceTiers, type FilesystemTraces, type TierTraces } from './traces.js';
import { heldElsewhere, otherLiveMounts, thisHost } from './mount-heartbeat.js';
import { createObjectStore } from '../objectstore/index.js';

const log = moduleLogger('recovery');

export const LAST_RECOVERY_META = 'lastRecovery';

/** Recovery cannot go on without a person's choice; the message says which. */
export class RecoveryError extends Error {
  readonly code = 'ERECOVERY';
}

export interface RecoveryReport {
  time: string;
  /** why the catalog was rebuilt: "catalog missing", "asked: fsck --rebuild", … */
  why: string;
  fsid: string;
  /** where the catalog that was there went (damaged or empty ones are kept aside) */
  catalogKeptAs: string | null;
  backup: { used: BackupEntry | null; skipped: string[] };
  manifests: { found: number; restored: string[]; relocated: string[]; skipped: string[] };
  local: { imported: number; updated: number; missing: number };
  /** files whose bytes were found on no tier: in the namespace, marked missing */
  lost: string[];
  /** what a rebuild from this starting point cannot bring back */
  notice: string;
}

export interface RebuildRequest {
  why: string;
  /** the filesystem to rebuild; default: the one the tiers hold (refused if several) */
  fsid?: string;
  /** 'newest': the newest good backup if any; a key: that backup or nothing; 'none': the tiers alone */
  backup: 'newest' | 'none' | { key: string };
  /** refuse (before any catalog is made) when no backup can be used */
  requireBackup?: boolean;
  /** the tiers as already listed */
  traces?: TierTraces;
  catalogKeptAs?: string | null;
}

/** Filesystems the tiers hold anything of (manifests, cells, backups). */
export function filesystemsOn(traces: TierTraces): FilesystemTraces[] {
  return traces.filesystems.filter((f) => f.manifests + f.objects + f.backups.length > 0);
}

/** The id to rebuild: the one asked for, else the only one the tiers hold, else a new one (undefined). */
export function pickFsid(traces: TierTraces, asked?: string): string | undefined {
  if (asked !== undefined) return asked.toLowerCase();
  const found = filesystemsOn(traces);
  if (found.length > 1) {
    throw new RecoveryError(
      `the tiers hold ${found.length} filesystems; name the one to rebuild with --fsid:\n` +
        found.map((f) => `  ${f.fsid}: ${f.manifests} manifests, ${f.objects} other objects, ${f.backups.length} catalog backups`).join('\n'),
    );
  }
  return found[0]?.fsid;
}

/**
 * Bring the newest good backup of the list to `path`. A backup that cannot be read,
 * decompressed or quick-checked, or that is of another filesystem, is skipped and
 * reported; the next older one is tried.
 */
async function restoreBackup(
  candidates: FilesystemTraces['backups'],
  path: string,
  fsid: string,
): Promise<{ used: BackupEntry | null; skipped: string[] }> {
  const skipped: string[] = [];
  const temp = `${path}.restoring`;
  for (const { entry, store } of candidates) {
    const clean = () => ['', '-wal', '-shm'].forEach((s) => rmSync(temp + s, { force: true }));
    clean();
    try {
      await pipeline(await store.open(entry.key), createGunzip(), createWriteStream(temp, { mode: 0o600 }));
      const health = inspectCatalog(temp);
      const why =
        health.state === 'corrupt' ? health.detail
        : health.state === 'missing' ? 'empty download'
        : health.fsid !== fsid ? `it is a catalog of filesystem ${health.fsid ?? '(none)'}`
        : undefined;
      if (why) {
        skipped.push(`${entry.key} (${entry.where}): ${why}`);
        continue;
      }
      // Marked and with its journal closed before it takes the catalog's place: a crash
      // from here on leaves no catalog, or one the next mount knows is half-made.
      const restored = new Catalog(temp);
      restored.setMeta(REBUILD_IN_PROGRESS, new Date().toISOString());
      restored.settleRestoredMoves();
      restored.close();
      renameSync(temp, path);
      return { used: entry, skipped };
    } catch (err) {
      skipped.push(`${entry.key} (${entry.where}): ${(err as Error).message}`);
    } finally {
      clean();
    }
  }
  return { used: null, skipped };
}

/**
 * Rebuild the catalog of cfg in dataDir, where none may be (the caller keeps any old
 * one aside first). Leaves the new catalog closed, ready for a mount.
 */
export async function rebuildCatalog(cfg: Config, req: RebuildRequest): Promise<RecoveryReport> {
  const path = catalogPathOf(cfg.dataDir);
  if (existsSync(path)) throw new RecoveryError(`${path} exists: keep it aside before rebuilding`);
  const traces = req.traces ?? (await traceTiers(cfg));
  const fsid = pickFsid(traces, req.fsid);
  if (fsid !== undefined) {
    // Rebuilding a filesystem another daemon has mounted would make two of it.
    const stores = cfg.tiers.flatMap((t) => (t.kind === 'object' ? t.backends.map((b) => createObjectStore(b)) : []));
    const holders = await otherLiveMounts(stores, fsid, thisHost(cfg.dataDir));
    if (holders.length > 0) throw new RecoveryError(heldElsewhere(fsid, holders));
  }
  let backups = traces.filesystems.find((f) => f.fsid === fsid)?.backups ?? [];
  if (req.backup === 'none') backups = [];
  else if (typeof req.backup === 'object') {
    const key = req.backup.key;
    backups = backups.filter((b) => b.entry.key === key);
    if (backups.length === 0) throw new RecoveryError(`no backup ${key} of filesystem ${fsid ?? '(none found)'} on the tiers or in the backup store`);
  }
  const backup = fsid === undefined ? { used: null, skipped: [] } : await restoreBackup(backups, path, fsid);
  if ((typeof req.backup === 'object' || req.requireBackup) && !backup.used) {
    throw new RecoveryError(`no usable backup: ${backup.skipped.join('; ') || 'none found'}`);
  }

  const catalog = new Catalog(path, { fsid });
  try {
    if (!backup.used) catalog.setMeta(REBUILD_IN_PROGRESS, new Date().toISOString());
    const report = await applyTiers(cfg, catalog, { why: req.why, backup, catalogKeptAs: req.catalogKeptAs ?? null });
    catalog.deleteMeta(REBUILD_IN_PROGRESS);
    return report;
  } finally {
    catalog.close();
  }
}

/**
 * Steps 3 and 4 on a catalog that is there and intact (fsck --rebuild of a mounted-before
 * catalog): add what the tiers hold that it lacks, point dead files at their copies.
 */
export async function completeCatalog(cfg: Config, why: string): Promise<RecoveryReport> {
  const catalog = new Catalog(catalogPathOf(cfg.dataDir));
  try {
    const notice = 'the catalog was intact: only what the tiers hold and it lacked was added';
    return await applyTiers(cfg, catalog, { why, backup: { used: null, skipped: [] }, catalogKeptAs: null }, notice);
  } finally {
    catalog.close();
  }
}

async function applyTiers(
  cfg: Config,
  catalog: Catalog,
  from: Pick<RecoveryReport, 'why' | 'backup' | 'catalogKeptAs'>,
  notice?: string,
): Promise<RecoveryReport> {
  const objects: ObjectTier[] = [];
  try {
    const locals = cfg.tiers.flatMap((t) => (t.kind === 'local' ? [new LocalTier(t)] : []));
    for (const t of cfg.tiers) {
      if (t.kind === 'object') objects.push(await openObjectTier(t, catalog.fsid, defaultCacheDir(cfg.dataDir, t.name), { memoryCacheBytes: 0, diskCacheBytes: 0 }));
    }
    // Local tiers first: directories there carry their real modes and owners, which the
    // directories a manifest's path needs would otherwise have to guess.
    const fromLocal = reconcile(catalog, locals, { xattrsOfKnown: true });
    const fromManifests = await fsck(catalog, objects, true, { locals });
    const { backup } = from;
    const report: RecoveryReport = {
      time: new Date().toISOString(),
      ...from,
      fsid: catalog.fsid,
      manifests: { found: fromManifests.manifests, restored: fromManifests.restored, relocated: fromManifests.relocated, skipped: fromManifests.skipped },
      local: { imported: fromLocal.imported, updated: fromLocal.updated, missing: fromLocal.missing },
      lost: catalog.missingFiles(),
      notice: notice ?? (backup.used
        ? `restored from the backup of ${backup.used.time}; access history and heat recorded after it are lost`
        : 'no backup was used: what only the catalog held (access history, heat, decisions, the move journal) is lost'),
    };
    catalog.setMeta(LAST_RECOVERY_META, JSON.stringify(report));
    log.warn(summary(report), 'catalog rebuilt');
    return report;
  } finally {
    await Promise.all(objects.map((o) => o.close()));
  }
}

/** Counts for a log line. */
export function summary(r: RecoveryReport): Record<string, unknown> {
  return {
    why: r.why,
    fsid: r.fsid,
    backup: r.backup.used?.key ?? null,
    backupsSkipped: r.backup.skipped.length,
    restored: r.manifests.restored.length,
    relocated: r.manifests.relocated.length,
    skipped: r.manifests.skipped.length,
    imported: r.local.imported,
    lost: r.lost.length,
    keptAs: r.catalogKeptAs,
  };
}

/** The report as lines for people. */
export function describeRecovery(r: RecoveryReport): string[] {
  const lines = [
    `catalog rebuilt ${r.time} (${r.why}) for filesystem ${r.fsid}`,
    r.catalogKeptAs ? `  the catalog that was there is kept as ${r.catalogKeptAs}` : undefined,
    r.backup.used ? `  backup: ${r.backup.used.key} of ${r.backup.used.time} (${r.backup.used.where})` : '  backup: none used',
    ...r.backup.skipped.map((s) => `  backup skipped: ${s}`),
    `  manifests: ${r.manifests.found} found, ${r.manifests.restored.length} files restored, ${r.manifests.relocated.length} relocated, ${r.manifests.skipped.length} skipped`,
    ...r.manifests.relocated.map((s) => `    relocated: ${s}`),
    ...r.manifests.skipped.map((s) => `    skipped: ${s}`),
    `  local tiers: ${r.local.imported} entries imported, ${r.local.updated} updated, ${r.local.missing} missing`,
    `  not restored (no copy found on any tier): ${r.lost.length}`,
    ...r.lost.map((p) => `    lost: ${p}`),
    `  ${r.notice}`,
  ];
  return lines.filter((l): l is string => l !== undefined);
}
