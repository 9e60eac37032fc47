// The manifest object of a copy: the file's attributes and its layout, as JSON, on
// every backend of the tier. With the manifests alone `tierfs fsck --rebuild` can
// rebuild the catalog; they are small, so every backend gets one.
import { crc32 } from 'node:zlib';
import { moduleLogger } from '../../log.js';
import { ObjectStoreError } from '../../objectstore/index.js';
import { storeOf, type TierContext } from './cell-io.js';
import { fileIdOfManifestKey } from './keys.js';
import type { ManifestInfo, ObjectLayout } from './types.js';

const FORMAT = 'tierfs-manifest';
const log = moduleLogger('object-tier');

interface ManifestDocument {
  format: typeof FORMAT;
  version: 1;
  info: ManifestInfo;
  layout: ObjectLayout;
  /** CRC-32 of the document without this field: a manifest checks itself, as cells do */
  crc?: string;
}

const crcOf = (doc: ManifestDocument) =>
  crc32(JSON.stringify({ format: doc.format, version: doc.version, info: doc.info, layout: doc.layout })).toString(16).padStart(8, '0');

let lastWriteSequence = 0;

/**
 * The sequence of a copy's write (ManifestInfo.writeSequence): microseconds since the
 * epoch, one more than the last when the clock has not moved on, so two writes of one
 * process never share one. Across restarts it relies on the clock not going back.
 */
export function nextWriteSequence(nowMs = Date.now()): number {
  lastWriteSequence = Math.max(lastWriteSequence + 1, Math.floor(nowMs * 1000));
  return lastWriteSequence;
}

export function encodeManifest(info: ManifestInfo, layout: ObjectLayout): Buffer {
  const doc: ManifestDocument = { format: FORMAT, version: 1, info, layout };
  return Buffer.from(JSON.stringify({ ...doc, crc: crcOf(doc) }));
}

export class ManifestFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestFormatError';
  }
}

export function decodeManifest(bytes: Buffer): { info: ManifestInfo; layout: ObjectLayout } {
  let doc: Partial<ManifestDocument>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Partial<ManifestDocument>;
  } catch (err) {
    throw new ManifestFormatError(`manifest is not JSON: ${(err as Error).message}`);
  }
  if (doc.format !== FORMAT || doc.version !== 1) throw new ManifestFormatError(`not a tierfs manifest (format ${String(doc.format)} version ${String(doc.version)})`);
  if (!doc.info || !doc.layout || !Array.isArray(doc.layout.stripes)) throw new ManifestFormatError('manifest lacks info or layout');
  if (doc.crc !== crcOf(doc as ManifestDocument)) throw new ManifestFormatError(`manifest checksum ${String(doc.crc)} does not match its content`);
  return { info: doc.info, layout: doc.layout };
}

/** The fields of a manifest that describe the file (what a rewrite may change). */
const described = (i: ManifestInfo) =>
  JSON.stringify([i.path, i.mode, i.uid, i.gid, i.atimeNs, i.mtimeNs, i.ctimeNs, i.generation, i.ino, i.xattrs ?? null, i.pin ?? null]);

/**
 * Put the manifest of a copy again with new file information, keeping its write
 * sequence (the copy's bytes are as old as they were), on every backend whose manifest
 * does not say it yet: a rewrite that failed on one backend after another took it is
 * finished there the next time, not left stale. The caller holds the copy, which is its
 * file's: no readable manifest anywhere is an outage (or a wiped store), never a copy
 * collected, and the update waits for the stores rather than being forgotten — a
 * manifest left describing the file as it was would rebuild it so (fsck --rebuild).
 * False: nothing to write, every manifest says this already.
 */
export async function rewriteManifest(ctx: TierContext, layout: ObjectLayout, info: Omit<ManifestInfo, 'writeSequence'>): Promise<boolean> {
  let lastError: unknown;
  const found = await Promise.all(
    layout.manifest.map(async (ref) => {
      try {
        return decodeManifest((await storeOf(ctx, ref).get(ref.key)).data).info;
      } catch (err) {
        if (!(err instanceof ObjectStoreError || err instanceof ManifestFormatError)) throw err;
        lastError = err;
        return undefined;
      }
    }),
  );
  const current = found.find((m) => m !== undefined);
  if (!current) throw new Error(`no backend has a readable manifest of this copy (${(lastError as Error | undefined)?.message ?? 'none named'}); the update waits`);
  const next: ManifestInfo = { ...info, writeSequence: current.writeSequence };
  const stale = layout.manifest.filter((_, i) => found[i] === undefined || described(found[i]!) !== described(next));
  if (stale.length === 0) return false;
  const body = encodeManifest(next, layout);
  for (const ref of stale) await storeOf(ctx, ref).put(ref.key, body, { contentType: 'application/json' });
  return true;
}

/**
 * Every manifest of this filesystem on the tier, each file once. Backends are listed
 * in order; a manifest that cannot be read on one backend is looked for on the next.
 * Listing `<fsid>/` walks every cell key too: the stores have no delimiter listing,
 * and fsck is rare enough to pay for that.
 */
export async function* listManifests(ctx: TierContext): AsyncIterable<{ info: ManifestInfo; layout: ObjectLayout }> {
  const seen = new Set<string>();
  for (const [backend, store] of ctx.stores.entries()) {
    try {
      for await (const entry of store.list(`${ctx.fsid}/`)) {
        const fileId = fileIdOfManifestKey(ctx.fsid, entry.key);
        if (fileId === undefined || seen.has(fileId)) continue;
        try {
          const { data } = await store.get(entry.key);
          const manifest = decodeManifest(data);
          seen.add(fileId);
          yield manifest;
        } catch (err) {
          if (!(err instanceof ObjectStoreError || err instanceof ManifestFormatError)) throw err;
          log.warn({ tier: ctx.name, backend, key: entry.key, err: err.message }, 'unreadable manifest; looking for another copy');
        }
      }
    } catch (err) {
      if (!(err instanceof ObjectStoreError)) throw err;
      log.warn({ tier: ctx.name, backend, err: err.message }, 'cannot list manifests on a backend; the others may have them');
    }
  }
}
