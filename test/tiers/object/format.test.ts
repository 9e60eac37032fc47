// The pure parts: the cell format and the layout arithmetic.
import { describe, expect, it } from 'vitest';
import { CellFormatError, crcHex, decodeHeader, encodeCell, headerLength, openCell } from '../../../src/tiers/object/cell.js';
import {
  cellSize, dataCellLength, placeStripe, slicesForRange, stripeCount, stripeDataLength, survivableBackendLosses,
} from '../../../src/tiers/object/layout.js';
import { cellKey, fileIdOfManifestKey, manifestKey } from '../../../src/tiers/object/keys.js';
import { FSID, body } from './helpers.js';
import { decodeManifest, encodeManifest, ManifestFormatError } from '../../../src/tiers/object/manifest.js';

const header = { fsid: FSID, fileId: 'f-1', stripe: 7, cell: 3, k: 4, m: 2, kind: 'stripe' as const, stripeDataLength: 1000 };

describe('cell format', () => {
  it('round-trips header and payload', () => {
    const payload = body(250, 3);
    const cell = encodeCell(header, payload);
    expect(cell.length).toBe(headerLength('f-1') + 250);
    expect(cell.toString('ascii', 0, 4)).toBe('TFSC');
    const h = decodeHeader(cell);
    expect(h).toEqual({ ...header, payloadLength: 250, crc: crcHex(payload) });
    expect(openCell(cell, { ...header, payloadLength: 250, crc: crcHex(payload) }).equals(payload)).toBe(true);
  });

  it('refuses a flipped payload byte, a flipped header byte, a short cell, and a cell of another stripe', () => {
    const payload = body(100, 4);
    const cell = encodeCell(header, payload);
    const expected = { ...header, payloadLength: 100, crc: crcHex(payload) };
    const payloadFlip = Buffer.from(cell);
    payloadFlip[cell.length - 1]! ^= 1;
    expect(() => openCell(payloadFlip, expected)).toThrow(CellFormatError);
    const headerFlip = Buffer.from(cell);
    headerFlip[25]! ^= 1; // inside the stripe index
    expect(() => openCell(headerFlip, expected)).toThrow(/header checksum/);
    expect(() => openCell(cell.subarray(0, cell.length - 1), expected)).toThrow(CellFormatError);
    expect(() => openCell(cell, { ...expected, stripe: 8 })).toThrow(/stripe=7/);
    expect(() => openCell(cell, { ...expected, fileId: 'f-2' })).toThrow(/fileId/);
    expect(() => decodeHeader(Buffer.from('not a cell at all, not at all, not at all, not at all'))).toThrow(/magic/);
  });

  it('refuses file ids that are not key- and file-name-safe', () => {
    expect(() => encodeCell({ ...header, fileId: '../x' }, Buffer.alloc(0))).toThrow(CellFormatError);
    expect(() => encodeCell({ ...header, fileId: 'a/b' }, Buffer.alloc(0))).toThrow(CellFormatError);
  });
});

describe('layout', () => {
  const layoutOf = (size: number, k: number, chunkSize: number) => ({
    size, k, chunkSize,
    stripes: Array.from({ length: stripeCount(size, chunkSize) }, (_, index) => ({ index, dataLength: stripeDataLength(size, chunkSize, index), cells: [] })),
  });

  it('cuts stripes into k cells, the last ones short or empty', () => {
    expect(cellSize(10, 4)).toBe(3);
    expect([0, 1, 2, 3].map((c) => dataCellLength(10, 4, c))).toEqual([3, 3, 3, 1]);
    expect([0, 1, 2, 3].map((c) => dataCellLength(1, 4, c))).toEqual([1, 0, 0, 0]);
    expect([0, 1, 2, 3].map((c) => dataCellLength(5, 4, c))).toEqual([2, 2, 1, 0]);
    expect(stripeCount(0, 8)).toBe(0);
    expect(stripeDataLength(20, 8, 2)).toBe(4);
  });

  it('maps every file range to the cell bytes that hold it', () => {
    // Check against a brute-force model: byte i of the file is in stripe floor(i/chunk), cell floor(inStripe/cellSize).
    for (const [size, k, chunk] of [[1000, 4, 96], [97, 3, 10], [64, 8, 64], [5, 4, 8]] as const) {
      const layout = layoutOf(size, k, chunk);
      for (let offset = 0; offset <= size; offset += 7) {
        for (const length of [0, 1, 13, 200, 5000]) {
          const slices = slicesForRange(layout, offset, length);
          const covered: string[] = [];
          for (const s of slices) for (let j = 0; j < s.length; j++) covered[s.outOffset + j] = `${s.stripe}/${s.cell}/${s.offsetInCell + j}`;
          const want: string[] = [];
          for (let i = offset; i < Math.min(size, offset + length); i++) {
            const stripe = Math.floor(i / chunk);
            const inStripe = i - stripe * chunk;
            const cs = cellSize(stripeDataLength(size, chunk, stripe), k);
            want.push(`${stripe}/${Math.floor(inStripe / cs)}/${inStripe % cs}`);
          }
          expect(covered).toEqual(want);
        }
      }
    }
  });

  it('spreads each stripe over distinct backends and rotates parity across them', () => {
    const parityOn = new Set<number>();
    for (let s = 0; s < 6; s++) {
      const placed = placeStripe('file', s, 6, 6);
      expect(new Set(placed).size).toBe(6);
      parityOn.add(placed[4]!).add(placed[5]!);
    }
    expect(parityOn.size).toBe(6);
  });

  it('counts survivable backend losses honestly', () => {
    expect(survivableBackendLosses(8, 3, 11)).toBe(3);
    expect(survivableBackendLosses(8, 3, 20)).toBe(3);
    expect(survivableBackendLosses(4, 2, 3)).toBe(1); // two cells per backend
    expect(survivableBackendLosses(8, 3, 3)).toBe(0); // four cells on one backend > m
    expect(survivableBackendLosses(4, 2, 1)).toBe(0);
    expect(survivableBackendLosses(4, 0, 6)).toBe(0);
    expect(survivableBackendLosses(1, 2, 2)).toBe(1);
  });

  it('keys every object of a copy under its prefix', () => {
    expect(cellKey(FSID, 'abc', 2, 5)).toBe(`${FSID}/abc/s2/c5`);
    expect(fileIdOfManifestKey(FSID, manifestKey(FSID, 'abc'))).toBe('abc');
    expect(fileIdOfManifestKey(FSID, cellKey(FSID, 'abc', 0, 0))).toBeUndefined();
    expect(fileIdOfManifestKey(FSID, `other/abc/manifest`)).toBeUndefined();
  });
});

describe('manifest format', () => {
  const info = { fsid: FSID, ino: 7, generation: 3, path: 'a/b.txt', mode: 0o100644, uid: 1, gid: 1, atimeNs: '1', mtimeNs: '2', ctimeNs: '3' };
  const layout = { version: 1 as const, tier: 'cold', fileId: 'f1', kind: 'single' as const, size: 0, k: 1, m: 0, chunkSize: 1, sha256: '', stripes: [], manifest: [] };

  it('round-trips and checks itself: a changed byte that still parses is refused', () => {
    const bytes = encodeManifest(info, layout);
    expect(decodeManifest(bytes)).toEqual({ info, layout });
    const tampered = Buffer.from(bytes.toString().replace('a/b.txt', 'a/c.txt'));
    expect(() => decodeManifest(tampered)).toThrow(ManifestFormatError);
    expect(() => decodeManifest(Buffer.from('{"format":"tierfs-manifest"'))).toThrow(/not JSON/);
  });
});
