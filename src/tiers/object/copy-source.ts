// A whole file copy read front to back, for a move from an object tier to a local one.
// Its data cells are fetched whole, a few ahead of the reader, each checked, and none is
// kept in the recall cache: the file is about to be local, and caching it would only
// evict what readers of cold files use (and write every byte twice).
import { cellOffset, dataCellLength } from './layout.js';
import type { ByteSource, ObjectLayout } from './types.js';

/** One data cell in file order: where its bytes start in the file, and how many. */
interface CellSpan {
  stripe: number;
  cell: number;
  offset: number;
  length: number;
}

function cellSpans(layout: ObjectLayout): CellSpan[] {
  const spans: CellSpan[] = [];
  for (const [stripe, s] of layout.stripes.entries()) {
    for (let cell = 0; cell < layout.k; cell++) {
      const length = dataCellLength(s.dataLength, layout.k, cell);
      if (length > 0) spans.push({ stripe, cell, offset: cellOffset(layout, stripe, cell), length });
    }
  }
  return spans;
}

/**
 * The copy's first `size` bytes (all of it, or what a truncate keeps) as a ByteSource for
 * reads in order (earlier cells are let go once a read has passed them). `cellOf` gives a
 * data cell's checked payload, written into the buffer it is given or its own; `ahead`
 * cells after the one being read are fetched meanwhile, into `ahead + 1` buffers taken in
 * turn; none past `size`.
 */
export function copySource(
  layout: ObjectLayout,
  cellOf: (stripe: number, cell: number, into: Buffer) => Promise<Buffer>,
  ahead: number,
  size = layout.size,
): ByteSource {
  const spans = cellSpans(layout).filter((s) => s.offset < size);
  const largest = Math.max(0, ...spans.map((s) => s.length));
  const free: Buffer[] = [];
  const fetched = new Map<number, { data: Promise<Buffer>; buffer: Buffer }>();
  const fetch = (i: number) => {
    let f = fetched.get(i);
    if (!f) {
      const buffer = free.pop() ?? Buffer.allocUnsafe(largest);
      const data = cellOf(spans[i]!.stripe, spans[i]!.cell, buffer);
      // Awaited when read; a failure of one fetched ahead must not go unhandled meanwhile.
      data.catch(() => undefined);
      fetched.set(i, (f = { data, buffer }));
    }
    return f.data;
  };
  // A cell's buffer is free again once its fetch has settled: a stream may still be writing.
  const release = (i: number) => {
    const f = fetched.get(i)!;
    fetched.delete(i);
    void f.data.catch(() => undefined).then(() => free.push(f.buffer));
  };
  return {
    size,
    async read(offset, length, into) {
      const end = Math.min(size, offset + length);
      const out = into && into.length >= end - offset ? into.subarray(0, Math.max(0, end - offset)) : Buffer.allocUnsafe(Math.max(0, end - offset));
      let first = spans.findIndex((s) => s.offset + s.length > offset);
      if (first < 0) first = spans.length;
      for (const i of [...fetched.keys()]) if (i < first) release(i);
      for (let i = first; i < Math.min(spans.length, first + 1 + ahead); i++) void fetch(i);
      for (let i = first, pos = offset; pos < end; i++) {
        const span = spans[i]!;
        const data = await fetch(i);
        const from = pos - span.offset;
        const n = Math.min(end, span.offset + span.length) - pos;
        data.copy(out, pos - offset, from, from + n);
        pos += n;
      }
      return out;
    },
  };
}
