// Manifests follow their files (issue 18, point 1): a cold file's manifest is what a
// rebuild without the catalog knows of it, so its name, attributes, xattrs and pin must
// be the file's current ones, not those of the day it was moved. The catalog marks the
// file in the same transaction as the change (triggers of migration 6: the journal);
// this writes the marked manifests again, and a crash in between leaves the mark for
// the next run, at the next mount at the latest.
import type { Catalog, Inode } from '../catalog/catalog.js';
import { moduleLogger } from '../log.js';
import type { TierSet } from '../tiers/tier-set.js';
import type { ManifestInfo, ObjectLayout } from '../tiers/object/types.js';

const log = moduleLogger('manifest-sync');

/** What a manifest says of a file, as the catalog has it now. */
export function manifestInfoOf(catalog: Catalog, i: Inode, path: string): Omit<ManifestInfo, 'writeSequence'> {
  return {
    fsid: catalog.fsid,
    ino: i.ino,
    generation: i.generation,
    path,
    mode: i.mode,
    uid: i.uid,
    gid: i.gid,
    atimeNs: String(i.atimeNs),
    mtimeNs: String(i.mtimeNs),
    ctimeNs: String(i.ctimeNs),
    xattrs: Object.fromEntries(catalog.xattrsOf(i.ino).map((x) => [x.name, x.value.toString('base64')])),
    pin: i.pin,
  };
}

export interface ManifestSyncDeps {
  catalog: Catalog;
  tiers: TierSet;
  /** keeps a copy from being collected while its manifest is written (vfs.holdCopy) */
  holdCopy: (fileId: string) => () => void;
}

/**
 * Rewrite the manifests of the marked files (a page of them). A failure leaves its
 * mark and is reported after the others were tried: one unreachable backend must not
 * hold back the rest.
 */
export async function syncManifests({ catalog, tiers, holdCopy }: ManifestSyncDeps): Promise<number> {
  let written = 0;
  const failures: string[] = [];
  for (const { ino, seq } of catalog.pendingManifestUpdates()) {
    // A manifest describes the file as committed: a change still in an open group could
    // be lost with the daemon, and nothing would mark the manifest to be written again.
    catalog.group.commit();
    const i = catalog.getInode(ino);
    const path = i && i.nlink > 0 ? (i.dataPath ?? catalog.pathOf(ino)) : undefined;
    // Gone, no longer cold (its next copy writes a new manifest), or its copy known lost
    // (missing: a rebuild or a restored catalog found its objects gone): nothing to rewrite.
    if (!i?.layout || path === undefined || i.state === 'missing') {
      catalog.manifestUpdateDone(ino, seq);
      continue;
    }
    const layout = JSON.parse(i.layout) as ObjectLayout;
    if (!tiers.has(layout.tier)) continue; // its tier is not configured now: kept for when it is
    const release = holdCopy(layout.fileId);
    try {
      if (await tiers.object(layout.tier).rewriteManifest(layout, manifestInfoOf(catalog, i, path))) written++;
      catalog.manifestUpdateDone(ino, seq);
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message}`);
    } finally {
      release();
    }
  }
  if (written > 0) log.debug({ written }, 'manifests rewritten');
  if (failures.length > 0) throw new Error(`${failures.length} manifests could not be rewritten; first: ${failures[0]}`);
  return written;
}
