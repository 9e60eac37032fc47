// Getting one cell of a layout from its backend, checked end to end: the object is
// fetched whole (a ranged get could not be checked against the payload's checksum),
// its header must name this file, stripe and cell, and its payload must match the
// checksum the layout recorded when it was written.
import { crc32 } from '../../ec/crc32.js';
import { ObjectStoreError } from '../../objectstore/index.js';
import type { ObjectStore } from '../../objectstore/index.js';
import { CellFormatError, checkHeader, checkPayload, encodeCell, headerLength, openCell, type ExpectedCell } from './cell.js';
import type { CellRef, ObjectLayout } from './types.js';

/** What every part of the tier needs to reach its objects. */
export interface TierContext {
  name: string;
  fsid: string;
  /** one per configured backend, in configuration order: CellRef.backend indexes this */
  stores: ObjectStore[];
}

export function cellRef(layout: ObjectLayout, stripe: number, cell: number): CellRef {
  const ref = layout.stripes[stripe]?.cells[cell];
  if (!ref) throw new RangeError(`layout of ${layout.fileId} has no stripe ${stripe} cell ${cell}`);
  return ref;
}

export function expectedCell(fsid: string, layout: ObjectLayout, stripe: number, cell: number): ExpectedCell {
  const ref = cellRef(layout, stripe, cell);
  return {
    fsid,
    fileId: layout.fileId,
    stripe,
    cell,
    k: layout.k,
    m: layout.m,
    kind: layout.kind === 'single' ? 'replica' : 'stripe',
    payloadLength: ref.length,
    crc: ref.crc,
  };
}

export function storeOf(ctx: TierContext, ref: Pick<CellRef, 'backend'>): ObjectStore {
  const store = ctx.stores[ref.backend];
  if (!store) throw new RangeError(`tier ${ctx.name} has no backend ${ref.backend} (it has ${ctx.stores.length})`);
  return store;
}

/** The checked payload of a cell. Throws CellFormatError or the store's ObjectStoreError (NotFound, Archived, …). */
export async function fetchCell(ctx: TierContext, layout: ObjectLayout, stripe: number, cell: number): Promise<Buffer> {
  const ref = cellRef(layout, stripe, cell);
  const { data } = await storeOf(ctx, ref).get(ref.key);
  return openCell(data, expectedCell(ctx.fsid, layout, stripe, cell));
}

/**
 * The payload of a cell as it arrives, with the same checks as fetchCell: the header
 * before any payload is given out, the payload's length and checksum at its end, where
 * the iteration throws CellFormatError if they are not what the layout says. A consumer
 * that keeps what it was given only once the iteration ends cleanly never keeps a bad cell.
 */
export async function* streamCell(ctx: TierContext, layout: ObjectLayout, stripe: number, cell: number): AsyncGenerator<Buffer> {
  const ref = cellRef(layout, stripe, cell);
  const expected = expectedCell(ctx.fsid, layout, stripe, cell);
  const { stream } = await storeOf(ctx, ref).getStream(ref.key);
  const headerBytes = headerLength(layout.fileId);
  let head: Buffer[] = [];
  let headLength = 0;
  let payload = 0;
  let crc = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let rest = chunk;
    if (headLength < headerBytes) {
      const take = Math.min(headerBytes - headLength, rest.length);
      head.push(rest.subarray(0, take));
      headLength += take;
      rest = rest.subarray(take);
      if (headLength < headerBytes) continue;
      checkHeader(Buffer.concat(head), expected);
      head = [];
    }
    if (rest.length === 0) continue;
    payload += rest.length;
    if (payload > ref.length) throw new CellFormatError(`cell payload is over ${ref.length} bytes, as its header says`);
    crc = crc32(rest, crc);
    yield rest;
  }
  if (headLength < headerBytes) throw new CellFormatError(`cell of ${headLength} bytes is shorter than a header`);
  checkPayload(payload, crc.toString(16).padStart(8, '0'), expected);
}

/** Writes a cell object (header + payload) where the layout says it lives. */
export async function putCell(ctx: TierContext, layout: ObjectLayout, stripe: number, cell: number, payload: Uint8Array): Promise<void> {
  const ref = cellRef(layout, stripe, cell);
  const dataLength = layout.stripes[stripe]!.dataLength;
  const { fileId, k, m } = layout;
  const kind = layout.kind === 'single' ? 'replica' : 'stripe';
  await storeOf(ctx, ref).put(ref.key, encodeCell({ fsid: ctx.fsid, fileId, stripe, cell, k, m, kind, stripeDataLength: dataLength }, payload));
}

/**
 * True when an error means "this cell is lost here, rebuild it from the others":
 * a missing or damaged object, or a backend that still fails after the store's own
 * retries. Archived objects are not lost (they need a restore), and anything else
 * is a bug that must not be papered over by parity.
 */
export function isLostCell(err: unknown): boolean {
  return err instanceof CellFormatError || (err instanceof ObjectStoreError && err.code !== 'Archived');
}

export function isArchived(err: unknown): boolean {
  return err instanceof ObjectStoreError && err.code === 'Archived';
}
