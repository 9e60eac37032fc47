// The catalog from the tiers alone (principle 2, no lock-in): every file on an object
// tier has a manifest object with its path, attributes and layout; files on local
// tiers are plain files, imported by reconcile at mount. `check` compares the catalog
// with the manifests; `rebuild` adds to the catalog every cold file it lacks.
//
// Several manifests can name one path: old copies a collection has not deleted yet, a
// copy on cold and one on archive after a move between them. The rebuild takes the
// newest copy whose cells are all there, and never one the catalog has already handed
// to garbage collection.
import type { Catalog } from '../catalog/catalog.js';
import { ROOT_INO } from '../catalog/catalog.js';
import type { ManifestInfo, ObjectLayout, ObjectTierStore } from '../tiers/object/types.js';
import { isDir, S_IFDIR } from './vfs.js';

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
 * Generations of different inodes (a file deleted and created again) say nothing about
 * each other: the inode written last owns the path, so inodes go by their latest write
 * sequence. Manifests from before sequences existed count as older than any that has
 * one, and among themselves go by generation, as they always did.
 */
export function newestFirst<T extends { info: ManifestInfo }>(copies: T[]): T[] {
  const seq = (c: T) => c.info.writeSequence ?? 0;
  const byIno = new Map<number, T[]>();
  for (const c of copies) byIno.set(c.info.ino, [...(byIno.get(c.info.ino) ?? []), c]);
  const groups = [...byIno.values()].map((g) => g.sort((a, b) => b.info.generation - a.info.generation || seq(b) - seq(a)));
  const latest = (g: T[]) => Math.max(...g.map(seq));
  groups.sort((a, b) => latest(b) - latest(a) || b[0]!.info.generation - a[0]!.info.generation);
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

export async function fsck(catalog: Catalog, tiers: ObjectTierStore[], rebuild: boolean): Promise<FsckReport> {
  const found = await collect(catalog, tiers);
  const report: FsckReport = { manifests: found.size, consistent: 0, missingManifest: [], unknownManifests: [], restored: [], skipped: [] };
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

  catalog.tx(() => {
    for (const [path, m] of chosen) {
      const parts = path.split('/');
      const name = parts.pop()!;
      const parent = ensureDirs(catalog, parts, m.info);
      if (parent === undefined || catalog.lookup(parent, name)) {
        report.skipped.push(`${path}: the catalog already has something at this path`);
        continue;
      }
      catalog.createInode(
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
      report.restored.push(path);
    }
  });
  return report;
}
