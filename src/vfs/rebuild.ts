// The catalog from the tiers alone (principle 2, no lock-in): every file on an object
// tier has a manifest object with its path, attributes and layout; files on local
// tiers are plain files, imported by reconcile at mount. `check` compares the catalog
// with the manifests; `rebuild` adds to the catalog every cold file it lacks.
//
// Several manifests can name one path: old copies a collection has not deleted yet, a
// copy on cold and one on archive after a move between them. The rebuild takes the
// newest copy whose cells are all there, and never one the catalog has already handed
// to garbage collection.
//
// A catalog restored from a backup knows files whose copies have gone since (a file
// moved from hot to cold after the backup: its hot copy was deleted, its cold copy is
// not in the backup). Such a file is "dead" where the catalog says it is: the newest
// intact copy found for its path becomes its location (relocated), on an object tier
// from the manifests, else on a local tier at its path.
import { lstatSync } from 'node:fs';
import type { Catalog, Inode } from '../catalog/catalog.js';
import { ROOT_INO } from '../catalog/catalog.js';
import type { LocalTier } from '../tiers/local/local-tier.js';
import type { ManifestInfo, ObjectLayout, ObjectTierStore } from '../tiers/object/types.js';
import { CLASS_XATTR, isDir, isReg, S_IFDIR } from './vfs.js';

export interface FsckReport {
  manifests: number;
  /** cold files in the catalog whose manifest was found */
  consistent: number;
  /** cold files in the catalog without a manifest on their tier */
  missingManifest: string[];
  /** manifests of this filesystem that no catalog file points at (old copies, or lost catalog entries) */
  unknownManifests: string[];
  /** files added to the catalog (rebuild only) */
  restored: string[];
  /** manifests not restored because the path is taken, with why */
  skipped: string[];
  /** files the catalog had whose copy was gone, now pointing at a copy found on the tiers (rebuild only) */
  relocated: string[];
  /** files whose bytes were found nowhere: marked missing (rebuild only) */
  lost: string[];
}

export interface RebuildOptions {
  /** local tiers, to find a file's bytes at its path when its object copy is gone */
  locals?: LocalTier[];
}

interface Found {
  info: ManifestInfo;
  layout: ObjectLayout;
  tier: ObjectTierStore;
}

async function collect(catalog: Catalog, tiers: ObjectTierStore[]): Promise<Map<string, Found>> {
  const byFileId = new Map<string, Found>();
  for (const tier of tiers) {
    for await (const m of tier.manifests()) {
      if (m.info.fsid === catalog.fsid) byFileId.set(m.layout.fileId, { ...m, tier });
    }
  }
  return byFileId;
}

/**
 * Copies of one path, the latest state first. Of one inode, the higher generation is
 * later (a copy that began before a write but finished after it is not), and equal
 * generations (a move between object tiers keeps it) go by the write sequence.
 * Generations of different inodes say nothing about each other. The inode that came to
 * the path last owns it: its manifest has the later ctime, which a create and a rename
 * onto the path both set (`mv q p` over a cold p: q's copy may be older than p's, whose
 * manifest outlives it while a reader holds it). Equal ctimes go by the latest write
 * sequence. Manifests from before sequences existed count as older than any that has
 * one, and among themselves go by generation, as they always did.
 */
export function newestFirst<T extends { info: ManifestInfo }>(copies: T[]): T[] {
  const seq = (c: T) => c.info.writeSequence ?? 0;
  const byIno = new Map<number, T[]>();
  for (const c of copies) byIno.set(c.info.ino, [...(byIno.get(c.info.ino) ?? []), c]);
  const groups = [...byIno.values()].map((g) => g.sort((a, b) => b.info.generation - a.info.generation || seq(b) - seq(a)));
  const latest = (g: T[]) => Math.max(...g.map(seq));
  const cameLast = (g: T[]) => g.reduce((max, c) => (BigInt(c.info.ctimeNs) > max ? BigInt(c.info.ctimeNs) : max), 0n);
  const byCtime = (a: T[], b: T[]) => (cameLast(a) === cameLast(b) ? 0 : cameLast(b) > cameLast(a) ? 1 : -1);
  groups.sort((a, b) => byCtime(a, b) || latest(b) - latest(a) || b[0]!.info.generation - a[0]!.info.generation);
  return groups.flat();
}

/** fileIds of copies waiting in the garbage table: already replaced or deleted, never to come back. */
function garbageFileIds(catalog: Catalog): Set<string> {
  const ids = new Set<string>();
  for (const g of catalog.garbage()) {
    const loc = JSON.parse(g.location) as { fileId?: string; layout?: { fileId?: string } };
    const fileId = loc.layout?.fileId ?? loc.fileId;
    if (fileId) ids.add(fileId);
  }
  return ids;
}

/** Create the directories of path in the catalog as needed; returns the parent's ino, or undefined if a file is in the way. */
function ensureDirs(catalog: Catalog, dirs: string[], info: ManifestInfo): number | undefined {
  let ino = ROOT_INO;
  for (const name of dirs) {
    const existing = catalog.lookup(ino, name);
    if (existing) {
      if (!isDir(existing.mode)) return undefined;
      ino = existing.ino;
      continue;
    }
    const t = BigInt(info.mtimeNs);
    const parent = catalog.getInode(ino)!;
    ino = catalog.createInode(
      { mode: S_IFDIR | 0o755, uid: info.uid, gid: info.gid, nlink: 2, rdev: 0, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: null, volume: null, dataPath: null, target: null },
      ino,
      name,
    );
    catalog.setNlink(parent.ino, parent.nlink + 1, parent.ctimeNs);
  }
  return ino;
}

/** The inode at a path, without creating anything. */
function lookupPath(catalog: Catalog, path: string): Inode | undefined {
  let cur = catalog.getInode(ROOT_INO);
  for (const name of path.split('/')) {
    if (!cur || !isDir(cur.mode)) return undefined;
    cur = catalog.lookup(cur.ino, name);
  }
  return cur;
}

/** A regular file of the catalog with one name whose bytes are not where the catalog says. */
async function isDead(i: Inode, found: Map<string, Found>, tiers: ObjectTierStore[], locals: LocalTier[]): Promise<boolean> {
  if (!isReg(i.mode) || i.nlink !== 1) return false;
  if (i.layout) {
    const layout = JSON.parse(i.layout) as ObjectLayout;
    if (found.has(layout.fileId)) return false;
    const tier = tiers.find((t) => t.name === layout.tier);
    // A copy whose manifest is lost but whose cells are all there still reads.
    return !tier || (await tier.incompleteStripe(layout)) !== null;
  }
  if (i.tier === null || i.volume === null || i.dataPath === null) return false;
  const local = locals.find((t) => t.name === i.tier);
  return local !== undefined && localFileAt(local, i.volume, i.dataPath) === undefined;
}

/** Whether a regular file is at path on a volume (no symlink followed); undefined if not. */
function localFileAt(tier: LocalTier, volume: string, path: string): true | undefined {
  try {
    return tier.withName(volume, path, (p) => lstatSync(p, { throwIfNoEntry: false })?.isFile()) ? true : undefined;
  } catch {
    return undefined; // a directory above it is missing, or is not a directory
  }
}

export async function fsck(catalog: Catalog, tiers: ObjectTierStore[], rebuild: boolean, opts: RebuildOptions = {}): Promise<FsckReport> {
  const found = await collect(catalog, tiers);
  const locals = opts.locals ?? [];
  const report: FsckReport = {
    manifests: found.size, consistent: 0, missingManifest: [], unknownManifests: [], restored: [], skipped: [], relocated: [], lost: [],
  };
  const known = new Set<string>();
  for (const f of catalog.filesWithLayout()) {
    const layout = JSON.parse(f.layout!) as ObjectLayout;
    known.add(layout.fileId);
    if (found.has(layout.fileId)) report.consistent++;
    else report.missingManifest.push(f.dataPath ?? `inode ${f.ino}`);
  }
  for (const m of found.values()) if (!known.has(m.layout.fileId)) report.unknownManifests.push(`${m.info.path} (${m.layout.tier}, ${m.layout.fileId})`);
  if (!rebuild) return report;

  // Candidates per path, newest first; copies in the garbage table are not candidates.
  const garbage = garbageFileIds(catalog);
  const byPath = new Map<string, Found[]>();
  for (const [fileId, m] of found) {
    if (known.has(fileId)) continue;
    if (garbage.has(fileId)) {
      report.skipped.push(`${m.info.path}: copy ${fileId} on ${m.layout.tier} is waiting for garbage collection`);
      continue;
    }
    byPath.set(m.info.path, [...(byPath.get(m.info.path) ?? []), m]);
  }
  const chosen = new Map<string, Found>();
  for (const [path, copies] of byPath) {
    for (const m of newestFirst(copies)) {
      const gap = await m.tier.incompleteStripe(m.layout);
      if (gap === null) {
        chosen.set(path, m);
        break;
      }
      report.skipped.push(`${path}: copy ${m.layout.fileId} on ${m.layout.tier} has ${gap.present} of the ${gap.needed} cells stripe ${gap.stripe} needs`);
    }
  }

  // What the catalog has at each chosen path, and whether its bytes are still there:
  // asked before the transaction (listing the stores is slow).
  const dead = new Map<string, Inode>();
  for (const path of chosen.keys()) {
    const existing = lookupPath(catalog, path);
    if (existing && (await isDead(existing, found, tiers, locals))) dead.set(path, existing);
  }

  catalog.tx(() => {
    for (const [path, m] of chosen) {
      const stale = dead.get(path);
      if (stale) {
        relocate(catalog, stale, m);
        catalog.clearConflict(path, 'missing');
        report.relocated.push(`${path}: its copy on tier ${stale.tier} was gone; now copy ${m.layout.fileId} on ${m.layout.tier}`);
        continue;
      }
      const parts = path.split('/');
      const name = parts.pop()!;
      const parent = ensureDirs(catalog, parts, m.info);
      if (parent === undefined || catalog.lookup(parent, name)) {
        report.skipped.push(`${path}: the catalog already has something at this path`);
        continue;
      }
      const ino = catalog.createInode(
        {
          mode: m.info.mode,
          uid: m.info.uid,
          gid: m.info.gid,
          nlink: 1,
          rdev: 0,
          size: m.layout.size,
          atimeNs: BigInt(m.info.atimeNs),
          mtimeNs: BigInt(m.info.mtimeNs),
          ctimeNs: BigInt(m.info.ctimeNs),
          tier: m.layout.tier,
          volume: null,
          dataPath: path,
          target: null,
          layout: JSON.stringify(m.layout),
        },
        parent,
        name,
      );
      restoreXattrs(catalog, ino, m.info);
      report.restored.push(path);
    }
  });

  // Object copies still gone: the bytes may be back on a local tier at the file's path
  // (moved there after a backup); else the file is lost, and says so.
  for (const f of catalog.filesWithLayout()) {
    if (!(await isDead(f, found, tiers, locals))) continue;
    const path = f.dataPath ?? catalog.pathOf(f.ino) ?? `inode ${f.ino}`;
    const local = f.dataPath === null ? undefined : findLocal(locals, f.dataPath);
    catalog.tx(() => {
      if (local) {
        catalog.setLocation(f.ino, { tier: local.tier.name, volume: local.volume, layout: null });
        catalog.setState(f.ino, 'ok');
        // reconcile saw this file where the catalog had a cold one: no longer a duplicate
        catalog.clearConflict(path, 'duplicate');
        report.relocated.push(`${path}: its copy on tier ${f.tier} was gone; now the file on tier ${local.tier.name} (${local.volume})`);
      } else {
        catalog.setState(f.ino, 'missing');
        catalog.reportConflict(path, 'missing', `its copy on tier ${f.tier} is gone and no other copy was found`);
        report.lost.push(path);
      }
    });
  }
  return report;
}

function findLocal(locals: LocalTier[], path: string): { tier: LocalTier; volume: string } | undefined {
  for (const tier of locals) for (const volume of tier.volumes) if (localFileAt(tier, volume, path)) return { tier, volume };
  return undefined;
}

/** The xattrs and pin a manifest carries (manifests written before they did carry none: the catalog's stay). */
function restoreXattrs(catalog: Catalog, ino: number, info: ManifestInfo): void {
  if (info.xattrs !== undefined) {
    for (const name of catalog.listXattrs(ino)) catalog.removeXattr(ino, name);
    for (const [name, value] of Object.entries(info.xattrs)) catalog.setXattr(ino, name, Buffer.from(value, 'base64'));
    const cls = info.xattrs[CLASS_XATTR];
    catalog.setClass(ino, cls === undefined ? null : Buffer.from(cls, 'base64').toString('utf8'));
  }
  if (info.pin !== undefined) catalog.setPin(ino, info.pin);
}

/** Point a file whose copy is gone at a copy found on an object tier, with the attributes that copy was written with. */
function relocate(catalog: Catalog, stale: Inode, m: Found): void {
  catalog.setLocation(stale.ino, { tier: m.layout.tier, volume: null, layout: JSON.stringify(m.layout) });
  catalog.setState(stale.ino, 'ok');
  catalog.updateAttrs({
    ino: stale.ino,
    mode: m.info.mode,
    uid: m.info.uid,
    gid: m.info.gid,
    size: m.layout.size,
    atimeNs: BigInt(m.info.atimeNs),
    mtimeNs: BigInt(m.info.mtimeNs),
    ctimeNs: BigInt(m.info.ctimeNs),
  });
  restoreXattrs(catalog, stale.ino, m.info);
}
