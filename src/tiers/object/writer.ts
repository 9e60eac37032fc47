// Writing one copy of a file onto the tier: chunk by chunk into stripes (k data cells
// coded into m parity cells, several stripes per trip to the codec's thread pool),
// cells put in parallel with a bound, then the manifest on every backend, then every
// object checked before the layout is handed to the mover. Reading the next batch from
// the source overlaps the upload of the previous one; at most two batches are held in
// memory.
//
// The check (verifyWrites): each put already carried a checksum its store checked on
// arrival (the adapters see to it), so by default a HEAD of each object confirms it is
// there at the size written; "read-back" fetches every object whole and checks it
// against its own checksum, for stores that might keep other bytes than they took.
import { createHash } from 'node:crypto';
import { allocateShards } from '../../ec/index.js';
import { FsError } from '../../errors.js';
import { moduleLogger } from '../../log.js';
import { checkFileId, crcHex, crcHexOf, encodeCell, encodeCellInPlace, headerLength, type CellKind } from './cell.js';
import { fetchCell, storeOf, type TierContext } from './cell-io.js';
import type { CodecCache } from './codecs.js';
import { cellKey, manifestKey } from './keys.js';
import {
  BLOCK_SIZE, cellSize, dataCellLength, placeReplicas, placeStripe, replicaCount, stripeCount, stripeDataLength,
} from './layout.js';
import { decodeManifest, encodeManifest, nextWriteSequence } from './manifest.js';
import { mapLimit } from '../../objectstore/limit.js';
import { digestThread, type RunningHash } from '../../objectstore/digest-thread.js';
import type { ByteSource, CellRef, ManifestInfo, ObjectLayout, StripeRef } from './types.js';

const log = moduleLogger('object-tier');

export interface WriteSettings {
  k: number;
  m: number;
  chunkSize: number;
  smallFileThreshold: number;
  /** file bytes coded per call to the codec's thread pool (whole stripes; at least one) */
  batchBytes: number;
  /** object puts and verifying requests in flight at once */
  concurrency: number;
  /** how every object is checked once written: a HEAD (its store checked its checksum on arrival), or read back whole */
  verify: 'checksums' | 'read-back';
}

/** A cell ready to put: where it goes and its payload (header added at put: in place when its shard kept room for it). */
interface PendingCell {
  stripe: number;
  cell: number;
  payload: Buffer;
  inPlace?: boolean;
}

export async function writeFile(
  ctx: TierContext,
  codecs: CodecCache,
  settings: WriteSettings,
  src: ByteSource,
  info: ManifestInfo,
  fileId: string,
  onProgress?: (bytes: number) => void,
): Promise<ObjectLayout> {
  checkFileId(fileId);
  // Stamped before the first byte is read: of two copies of one file, the one whose
  // reading began later holds the later bytes, whichever finished first.
  const stamped: ManifestInfo = { ...info, writeSequence: info.writeSequence ?? nextWriteSequence() };
  const single = src.size < settings.smallFileThreshold;
  const backends = ctx.stores.length;
  const copies = replicaCount(settings.m, backends);
  const layout: ObjectLayout = {
    version: 1,
    tier: ctx.name,
    fileId,
    kind: single ? 'single' : 'striped',
    size: src.size,
    // A single-object file is m+1 plain copies: recorded as k=1 and m=copies-1, which
    // is how many of its objects may be lost.
    k: single ? 1 : settings.k,
    m: single ? copies - 1 : settings.m,
    chunkSize: settings.chunkSize,
    ...(single ? {} : { blockSize: BLOCK_SIZE }),
    sha256: '',
    stripes: [],
    manifest: ctx.stores.map((_, backend) => ({ backend, key: manifestKey(ctx.fsid, fileId) })),
  };
  const put = (cells: PendingCell[]) =>
    mapLimit(cells, settings.concurrency, async (c) => {
      const ref = layout.stripes[c.stripe]!.cells[c.cell]!;
      const kind: CellKind = single ? 'replica' : 'stripe';
      const header = { fsid: ctx.fsid, fileId, stripe: c.stripe, cell: c.cell, k: layout.k, m: layout.m, kind, stripeDataLength: layout.stripes[c.stripe]!.dataLength };
      // The layout has the payload's checksum already: the header takes it rather than a second pass.
      await storeOf(ctx, ref).put(ref.key, c.inPlace ? encodeCellInPlace(header, c.payload, ref.crc) : encodeCell(header, c.payload, ref.crc));
    });

  if (single) {
    const data = await readExactly(src, 0, src.size);
    layout.sha256 = createHash('sha256').update(data).digest('hex');
    const crc = crcHex(data);
    const placed = placeReplicas(fileId, copies, backends);
    layout.stripes.push({
      index: 0,
      dataLength: src.size,
      cells: placed.map((backend, copy) => ({ backend, key: cellKey(ctx.fsid, fileId, 0, copy), length: data.length, crc })),
    });
    await put(placed.map((_, copy) => ({ stripe: 0, cell: copy, payload: data })));
    onProgress?.(src.size);
  } else {
    // On the digest thread, as the stripes are read (shards are shared memory).
    const hash = digestThread.sha256InOrder();
    try {
      await writeStripes(ctx, codecs, settings, src, layout, hash, put, onProgress);
      layout.sha256 = await hash.digest();
    } catch (err) {
      hash.drop();
      throw err;
    }
  }

  const manifest = encodeManifest(stamped, layout);
  await mapLimit(layout.manifest, settings.concurrency, (ref) => storeOf(ctx, ref).put(ref.key, manifest, { contentType: 'application/json' }));
  await (settings.verify === 'read-back' ? readBack(ctx, layout, settings.concurrency) : checkSizes(ctx, layout, manifest.length, settings.concurrency));
  log.debug({ tier: ctx.name, fileId, size: src.size, kind: layout.kind, stripes: layout.stripes.length }, 'copy written and verified');
  return layout;
}

/**
 * The stripes of a file, batch by batch: while one batch is being put, the next one
 * is read and coded. Fills layout.stripes as it goes.
 */
async function writeStripes(
  ctx: TierContext,
  codecs: CodecCache,
  settings: WriteSettings,
  src: ByteSource,
  layout: ObjectLayout,
  hash: RunningHash,
  put: (cells: PendingCell[]) => Promise<unknown>,
  onProgress?: (bytes: number) => void,
): Promise<void> {
  const { k, m, chunkSize } = settings;
  const codec = codecs.get(k, m);
  const count = stripeCount(src.size, chunkSize);
  const perBatch = Math.max(1, Math.floor(settings.batchBytes / chunkSize));
  let uploading: Promise<unknown> = Promise.resolve();
  let stored = 0;
  // The shards of full stripes whose upload has finished, for the next ones: a big file
  // goes through two batches' worth of memory, not fresh pages for every stripe. Each
  // shard keeps room before it for its cell's header, so a cell is put without a copy.
  const fullSize = cellSize(chunkSize, k);
  const spare: Buffer[][] = [];
  const room = headerLength(layout.fileId);
  try {
    for (let first = 0; first < count; first += perBatch) {
      const indices = Array.from({ length: Math.min(perBatch, count - first) }, (_, i) => first + i);
      const shardsOf: Buffer[][] = [];
      const hashed: Promise<unknown>[] = [];
      for (const index of indices) {
        const dataLength = stripeDataLength(src.size, chunkSize, index);
        const size = cellSize(dataLength, k);
        const shards = (size === fullSize && spare.pop()) || allocateShards(k + m, size, room, true);
        hashed.push((await readStripe(src, index * chunkSize, dataLength, shards.slice(0, k), hash)).hashed);
        shardsOf.push(shards);
      }
      await codec.encodeBatch(shardsOf.map((s) => ({ data: s.slice(0, k), parity: s.slice(k) })));
      const pending: PendingCell[] = [];
      let batchBytes = 0;
      for (const [i, index] of indices.entries()) {
        const dataLength = stripeDataLength(src.size, chunkSize, index);
        const placed = placeStripe(layout.fileId, index, k + m, ctx.stores.length);
        const payloads = shardsOf[i]!.map((shard, cell) => (cell < k ? shard.subarray(0, dataCellLength(dataLength, k, cell)) : shard));
        // The checksums the layout records, computed off the event loop (the shards are shared memory).
        const sums = await Promise.all(payloads.map((payload, cell) =>
          digestThread.digests(payload, cell < k && payload.length > BLOCK_SIZE ? ['crc32', 'blockCrc32'] : ['crc32'], BLOCK_SIZE)));
        const cells = payloads.map((payload, cell): CellRef => ({
          backend: placed[cell]!, key: cellKey(ctx.fsid, layout.fileId, index, cell), length: payload.length, crc: crcHexOf(sums[cell]!.crc32!),
          ...(sums[cell]!.blockCrc32 !== undefined && { blocks: sums[cell]!.blockCrc32 }),
        }));
        layout.stripes.push({ index, dataLength, cells });
        payloads.forEach((payload, cell) => pending.push({ stripe: index, cell, payload, inPlace: true }));
        batchBytes += dataLength;
      }
      await uploading;
      uploading = Promise.all([put(pending), ...hashed]).then(() => {
        stored += batchBytes;
        onProgress?.(stored);
        // Every put of the batch has settled, and its data is hashed: its shards are nobody's now.
        spare.push(...shardsOf.filter((s) => s[0]!.length === fullSize));
      });
      // Keep a failed upload from being reported as unhandled while the next batch is read.
      uploading.catch(() => undefined);
    }
    await uploading;
  } catch (err) {
    // Let the upload under way finish before failing, or its late puts could land
    // after the caller's removePartial() and be left behind.
    await uploading.catch(() => undefined);
    throw err;
  }
  if (count === 0) onProgress?.(0);
}

/** Finds every cell and manifest at the size written (a HEAD each); throws EIO on the first that is not. */
async function checkSizes(ctx: TierContext, layout: ObjectLayout, manifestSize: number, concurrency: number): Promise<void> {
  const objects = [
    ...layout.stripes.flatMap((s) => s.cells.map((ref, cell) => ({ ref, size: headerLength(layout.fileId) + ref.length, what: `cell ${s.index}/${cell}` }))),
    ...layout.manifest.map((ref) => ({ ref, size: manifestSize, what: 'manifest' })),
  ];
  await mapLimit(objects, concurrency, async ({ ref, size, what }) => {
    let found: number;
    try {
      found = (await storeOf(ctx, ref).head(ref.key)).size;
    } catch (err) {
      throw new FsError('EIO', `tier ${ctx.name}: ${what} of ${layout.fileId} (${ref.key} on backend ${ref.backend}) is not there after its put: ${(err as Error).message}`);
    }
    if (found !== size) throw new FsError('EIO', `tier ${ctx.name}: ${what} of ${layout.fileId} (${ref.key} on backend ${ref.backend}) holds ${found} bytes after a put of ${size}`);
  });
}

/** Reads back every cell (header, length, checksum) and every manifest; throws EIO on the first that is wrong. */
async function readBack(ctx: TierContext, layout: ObjectLayout, concurrency: number): Promise<void> {
  const cells = layout.stripes.flatMap((s) => s.cells.map((_, cell) => ({ stripe: s.index, cell })));
  await mapLimit(cells, concurrency, async ({ stripe, cell }) => {
    try {
      await fetchCell(ctx, layout, stripe, cell);
    } catch (err) {
      throw new FsError('EIO', `tier ${ctx.name}: cell ${stripe}/${cell} of ${layout.fileId} did not read back: ${(err as Error).message}`);
    }
  });
  await mapLimit(layout.manifest, concurrency, async (ref) => {
    try {
      const { data } = await storeOf(ctx, ref).get(ref.key);
      if (decodeManifest(data).layout.fileId !== layout.fileId) throw new Error('manifest names another file');
    } catch (err) {
      throw new FsError('EIO', `tier ${ctx.name}: manifest ${ref.key} on backend ${ref.backend} did not read back: ${(err as Error).message}`);
    }
  });
}

/**
 * A stripe's data read straight into its data shards, in parallel, and handed to the
 * file's hash in order; what the data leaves of a shard is zeroed (the padding coding
 * needs: shards are reused, not fresh). Resolves once read, with the hashing under way,
 * which must end before the shards change again.
 */
async function readStripe(src: ByteSource, offset: number, dataLength: number, dataShards: Buffer[], hash: RunningHash): Promise<{ hashed: Promise<unknown> }> {
  const size = dataShards[0]!.length;
  const views = dataShards.map((shard, c) => shard.subarray(0, Math.max(0, Math.min(size, dataLength - c * size))));
  await Promise.all(
    views.map(async (view, c) => {
      if (view.length === 0) return;
      const got = await readExactly(src, offset + c * size, view.length, view);
      if (got.buffer !== view.buffer || got.byteOffset !== view.byteOffset) got.copy(view);
    }),
  );
  const hashed = Promise.all(views.filter((v) => v.length > 0).map((view) => hash.update(view)));
  // Awaited with the batch's puts; a failure meanwhile must not go unhandled.
  hashed.catch(() => undefined);
  dataShards.forEach((shard, c) => shard.fill(0, views[c]!.length));
  return { hashed };
}

async function readExactly(src: ByteSource, offset: number, length: number, into?: Buffer): Promise<Buffer> {
  const data = await src.read(offset, length, into);
  if (data.length !== length) {
    throw new FsError('EIO', `source gave ${data.length} bytes at offset ${offset}, expected ${length}: did it change during the copy?`);
  }
  return data;
}
