// Scrubbing one file copy: every cell (parity included, which reads never touch on the
// good path) is fetched whole and checked, header and checksum. With repair, the bad
// cells of a stripe that still has k good ones are rebuilt, written back where the
// layout says they live, and read back to prove it. A stripe with more than m bad
// cells is reported lost; nothing can bring it back. The copy's manifest, kept on every
// backend so the catalog can be rebuilt from the tiers, is checked too, and with repair a
// lost copy of it is written again from a good one: a wiped backend is whole again only
// when it has its manifests back as well as its cells.
import { moduleLogger } from '../../log.js';
import { crcHex } from './cell.js';
import { cellRef, fetchCell, isArchived, isLostCell, putCell, storeOf, type TierContext } from './cell-io.js';
import type { CodecCache } from './codecs.js';
import { cellSize, dataCellLength } from './layout.js';
import { mapLimit } from '../../objectstore/limit.js';
import { decodeManifest, ManifestFormatError } from './manifest.js';
import { ObjectStoreError } from '../../objectstore/index.js';
import type { ObjectLayout, ScrubReport } from './types.js';

const log = moduleLogger('object-tier');

/** Stripes scrubbed at once: each holds k+m whole cells in memory. */
const STRIPES_IN_FLIGHT = 2;

export async function scrubFile(ctx: TierContext, codecs: CodecCache, layout: ObjectLayout, repair: boolean): Promise<ScrubReport> {
  const report: ScrubReport = {
    cellsChecked: 0, cellsBad: 0, cellsRepaired: 0, stripesLost: 0, cellsArchived: 0, stripesAtRisk: 0,
    manifestsChecked: 0, manifestsBad: 0, manifestsRepaired: 0,
  };
  await mapLimit(layout.stripes, STRIPES_IN_FLIGHT, async (stripe) => {
    const cells = await Promise.all(
      stripe.cells.map(async (_, c) => {
        try {
          return { c, payload: await fetchCell(ctx, layout, stripe.index, c) };
        } catch (err) {
          if (isArchived(err)) return { c, archived: true };
          if (!isLostCell(err)) throw err;
          return { c, problem: (err as Error).message };
        }
      }),
    );
    const good = new Map<number, Buffer>();
    const bad: number[] = [];
    for (const r of cells) {
      if ('payload' in r) good.set(r.c, r.payload!);
      else if ('archived' in r) report.cellsArchived!++;
      else {
        bad.push(r.c);
        log.warn({ tier: ctx.name, fileId: layout.fileId, stripe: stripe.index, cell: r.c, problem: r.problem }, 'scrub: bad cell');
      }
    }
    report.cellsChecked += good.size + bad.length;
    report.cellsBad += bad.length;
    if (bad.length === 0) return;
    // A single-object file's copies are all alike: any good copy rebuilds the others.
    const needed = layout.kind === 'single' ? 1 : layout.k;
    // Until every bad cell is written back, the stripe has fewer than m cells to spare.
    let repaired = 0;
    const atRiskUnlessRepaired = () => {
      if (repaired < bad.length) report.stripesAtRisk!++;
    };
    if (good.size < needed) {
      if (good.size + bad.length === stripe.cells.length) report.stripesLost++;
      return atRiskUnlessRepaired();
    }
    if (!repair) return atRiskUnlessRepaired();
    const rebuilt = layout.kind === 'single' ? new Map(bad.map((c) => [c, good.values().next().value!])) : await rebuildCells(codecs, layout, stripe.index, good, bad);
    for (const [c, payload] of rebuilt) {
      if (crcHex(payload) !== cellRef(layout, stripe.index, c).crc) {
        log.error({ tier: ctx.name, fileId: layout.fileId, stripe: stripe.index, cell: c }, 'scrub: a rebuilt cell fails its checksum; not written');
        continue;
      }
      try {
        await putCell(ctx, layout, stripe.index, c, payload);
        await fetchCell(ctx, layout, stripe.index, c);
        report.cellsRepaired++;
        repaired++;
      } catch (err) {
        if (!isLostCell(err)) throw err;
        log.warn({ tier: ctx.name, fileId: layout.fileId, stripe: stripe.index, cell: c, err: (err as Error).message }, 'scrub: could not write back a rebuilt cell');
      }
    }
    atRiskUnlessRepaired();
  });
  await scrubManifests(ctx, layout, repair, report);
  return report;
}

/**
 * Every copy of the manifest must read, check itself and name this copy of the file.
 * With repair, a missing or bad one is written again with the bytes of a good one
 * (they are alike: every rewrite puts the same body on every backend) and read back.
 */
async function scrubManifests(ctx: TierContext, layout: ObjectLayout, repair: boolean, report: ScrubReport): Promise<void> {
  const copies = await Promise.all(
    layout.manifest.map(async (ref) => {
      try {
        const { data } = await storeOf(ctx, ref).get(ref.key);
        if (decodeManifest(data).layout.fileId !== layout.fileId) return { ref, problem: 'names another file' };
        return { ref, data };
      } catch (err) {
        // Archived or being restored, as the cells are: not read now, not taken for bad.
        if (isArchived(err)) return { ref, archived: true };
        if (!(err instanceof ManifestFormatError || err instanceof ObjectStoreError)) throw err;
        return { ref, problem: err.message };
      }
    }),
  );
  const good = copies.find((c) => c.data)?.data;
  for (const c of copies) {
    if ('archived' in c) continue;
    report.manifestsChecked!++;
    if (c.data) continue;
    report.manifestsBad!++;
    log.warn({ tier: ctx.name, fileId: layout.fileId, backend: c.ref.backend, key: c.ref.key, problem: c.problem }, 'scrub: bad manifest');
    if (!repair || !good) continue;
    try {
      await storeOf(ctx, c.ref).put(c.ref.key, good, { contentType: 'application/json' });
      decodeManifest((await storeOf(ctx, c.ref).get(c.ref.key)).data);
      report.manifestsRepaired!++;
    } catch (err) {
      if (!(err instanceof ObjectStoreError || err instanceof ManifestFormatError)) throw err;
      log.warn({ tier: ctx.name, fileId: layout.fileId, backend: c.ref.backend, err: err.message }, 'scrub: could not write back a manifest');
    }
  }
}

/** The payloads of the bad cells (data or parity) of a stripe, rebuilt from its good ones. */
async function rebuildCells(codecs: CodecCache, layout: ObjectLayout, stripe: number, good: Map<number, Buffer>, bad: number[]): Promise<Map<number, Buffer>> {
  const { k, m } = layout;
  const dataLength = layout.stripes[stripe]!.dataLength;
  const size = cellSize(dataLength, k);
  const shards = Array.from({ length: k + m }, (_, c) => {
    const have = good.get(c);
    if (!have) return bad.includes(c) ? Buffer.alloc(size) : null;
    if (have.length === size) return have;
    const full = Buffer.alloc(size);
    have.copy(full);
    return full;
  });
  await codecs.get(k, m).reconstructBatch([{ shards, lost: bad, targets: bad }]);
  return new Map(bad.map((c) => [c, c < k ? shards[c]!.subarray(0, dataCellLength(dataLength, k, c)) : shards[c]!]));
}
