// Scrubbing one file copy: every cell (parity included, which reads never touch on the
// good path) is fetched whole and checked, header and checksum. With repair, the bad
// cells of a stripe that still has k good ones are rebuilt, written back where the
// layout says they live, and read back to prove it. A stripe with more than m bad
// cells is reported lost; nothing can bring it back.
import { moduleLogger } from '../../log.js';
import { crcHex } from './cell.js';
import { cellRef, fetchCell, isArchived, isLostCell, putCell, type TierContext } from './cell-io.js';
import type { CodecCache } from './codecs.js';
import { cellSize, dataCellLength } from './layout.js';
import { mapLimit } from './limit.js';
import type { ObjectLayout, ScrubReport } from './types.js';

const log = moduleLogger('object-tier');

/** Stripes scrubbed at once: each holds k+m whole cells in memory. */
const STRIPES_IN_FLIGHT = 2;

export async function scrubFile(ctx: TierContext, codecs: CodecCache, layout: ObjectLayout, repair: boolean): Promise<ScrubReport> {
  const report: ScrubReport = { cellsChecked: 0, cellsBad: 0, cellsRepaired: 0, stripesLost: 0, cellsArchived: 0, stripesAtRisk: 0 };
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
  return report;
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
