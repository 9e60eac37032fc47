// The self-describing format of every object the tier writes for file data: a header
// that says whose data this is and where it belongs, then the payload. With the header
// alone a cell can be placed back into its stripe, so the catalog can be rebuilt from
// the objects (no lock-in), and a cell that was misplaced or overwritten is caught.
//
//   offset size field
//        0    4 magic "TFSC"
//        4    1 format version (1)
//        5    1 checksum algorithm (1 = CRC-32, the ISO-HDLC polynomial of zlib/gzip)
//        6    2 header length in bytes (so later versions can grow it)
//        8   16 fsid (the filesystem's UUID as bytes)
//       24    4 stripe index
//       28    2 cell index (0..k-1 data, k..k+m-1 parity; for a replica, its copy number)
//       30    2 k
//       32    2 m
//       34    1 kind (0 = stripe cell, 1 = replica of a single-object file)
//       35    1 fileId length n
//       36    4 payload length
//       40    4 payload checksum
//       44    4 stripe data length (file bytes the stripe holds; to rebuild a layout from cells)
//       48    n fileId (ASCII)
//     48+n    4 header checksum (over bytes 0 .. 48+n)
//  52+n    ... payload
//
// Integers are little-endian. CRC-32 rather than CRC-32C: node:zlib computes it natively
// at several GB/s, a table-driven CRC-32C in JavaScript would be the slowest step of a
// cached read. The algorithm byte leaves room to change that.
import { crc32 } from '../../ec/crc32.js';

export const CELL_MAGIC = 'TFSC';
export const CELL_FORMAT_VERSION = 1;
export const CHECKSUM_CRC32 = 1;
const FIXED_HEADER = 48;
const MAX_FILE_ID = 64;

export type CellKind = 'stripe' | 'replica';

export interface CellHeader {
  fsid: string;
  fileId: string;
  stripe: number;
  cell: number;
  k: number;
  m: number;
  kind: CellKind;
  payloadLength: number;
  /** CRC-32 of the payload, 8 hex digits */
  crc: string;
  stripeDataLength: number;
}

/** Why a cell was refused; the reader treats every such cell as lost and rebuilds it from parity. */
export class CellFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CellFormatError';
  }
}

export function crcHex(data: Uint8Array): string {
  return crcHexOf(crc32(data));
}

/** A CRC-32 as the layout writes it: 8 hex digits. */
export function crcHexOf(crc: number): string {
  return crc.toString(16).padStart(8, '0');
}

/** File ids become object keys and cache file names: keep them to a safe alphabet. */
export function checkFileId(fileId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(fileId) || fileId.length > MAX_FILE_ID) {
    throw new CellFormatError(`file id ${JSON.stringify(fileId)} must be 1-${MAX_FILE_ID} of [A-Za-z0-9._-]`);
  }
}

/** The 16 bytes of a UUID string. */
export function fsidBytes(fsid: string): Buffer {
  const hex = fsid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new CellFormatError(`fsid ${JSON.stringify(fsid)} is not a UUID`);
  return Buffer.from(hex, 'hex');
}

function uuidString(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Bytes before the payload of every cell of fileId; the reader adds it to ranged gets. */
export function headerLength(fileId: string): number {
  return FIXED_HEADER + Buffer.byteLength(fileId) + 4;
}

/** `payloadCrc`: the payload's CRC-32 (hex) when the caller has it already (the layout records it), else computed here. */
export function encodeHeader(h: Omit<CellHeader, 'crc' | 'payloadLength'>, payload: Uint8Array, payloadCrc?: string): Buffer {
  checkFileId(h.fileId);
  const id = Buffer.from(h.fileId, 'ascii');
  const len = headerLength(h.fileId);
  const buf = Buffer.alloc(len);
  buf.write(CELL_MAGIC, 0, 'ascii');
  buf.writeUInt8(CELL_FORMAT_VERSION, 4);
  buf.writeUInt8(CHECKSUM_CRC32, 5);
  buf.writeUInt16LE(len, 6);
  fsidBytes(h.fsid).copy(buf, 8);
  buf.writeUInt32LE(h.stripe, 24);
  buf.writeUInt16LE(h.cell, 28);
  buf.writeUInt16LE(h.k, 30);
  buf.writeUInt16LE(h.m, 32);
  buf.writeUInt8(h.kind === 'replica' ? 1 : 0, 34);
  buf.writeUInt8(id.length, 35);
  buf.writeUInt32LE(payload.length, 36);
  buf.writeUInt32LE(payloadCrc === undefined ? crc32(payload) : Number.parseInt(payloadCrc, 16), 40);
  buf.writeUInt32LE(h.stripeDataLength, 44);
  id.copy(buf, FIXED_HEADER);
  buf.writeUInt32LE(crc32(buf.subarray(0, len - 4)), len - 4);
  return buf;
}

/** A whole cell object: header then payload. */
export function encodeCell(h: Omit<CellHeader, 'crc' | 'payloadLength'>, payload: Uint8Array, payloadCrc?: string): Buffer {
  return Buffer.concat([encodeHeader(h, payload, payloadCrc), payload]);
}

/**
 * The same cell object without copying the payload: the header is written into the
 * bytes right before it, which the caller keeps free for it (allocateShards' headroom
 * of at least headerLength(fileId)).
 */
export function encodeCellInPlace(h: Omit<CellHeader, 'crc' | 'payloadLength'>, payload: Buffer, payloadCrc?: string): Buffer {
  const header = encodeHeader(h, payload, payloadCrc);
  if (payload.byteOffset < header.length) throw new RangeError(`no room for a ${header.length}-byte header before the payload`);
  const cell = Buffer.from(payload.buffer, payload.byteOffset - header.length, header.length + payload.length);
  header.copy(cell);
  return cell;
}

/** Parses and checks the header (magic, version, its own checksum); throws CellFormatError. */
export function decodeHeader(bytes: Buffer): CellHeader {
  if (bytes.length < FIXED_HEADER + 4) throw new CellFormatError(`cell of ${bytes.length} bytes is shorter than a header`);
  if (bytes.toString('ascii', 0, 4) !== CELL_MAGIC) throw new CellFormatError('not a tierfs cell (bad magic)');
  const version = bytes.readUInt8(4);
  if (version !== CELL_FORMAT_VERSION) throw new CellFormatError(`cell format version ${version} is not supported`);
  const algorithm = bytes.readUInt8(5);
  if (algorithm !== CHECKSUM_CRC32) throw new CellFormatError(`checksum algorithm ${algorithm} is not supported`);
  const len = bytes.readUInt16LE(6);
  const idLength = bytes.readUInt8(35);
  if (len !== FIXED_HEADER + idLength + 4 || bytes.length < len) throw new CellFormatError(`header length ${len} is inconsistent`);
  if (bytes.readUInt32LE(len - 4) !== crc32(bytes.subarray(0, len - 4))) throw new CellFormatError('header checksum mismatch');
  const kind = bytes.readUInt8(34);
  if (kind > 1) throw new CellFormatError(`unknown cell kind ${kind}`);
  return {
    fsid: uuidString(bytes.subarray(8, 24)),
    stripe: bytes.readUInt32LE(24),
    cell: bytes.readUInt16LE(28),
    k: bytes.readUInt16LE(30),
    m: bytes.readUInt16LE(32),
    kind: kind === 1 ? 'replica' : 'stripe',
    payloadLength: bytes.readUInt32LE(36),
    crc: bytes.readUInt32LE(40).toString(16).padStart(8, '0'),
    stripeDataLength: bytes.readUInt32LE(44),
    fileId: bytes.toString('ascii', FIXED_HEADER, FIXED_HEADER + idLength),
  };
}

/** What a cell must say about itself to be the one the layout names. */
export type ExpectedCell = Omit<CellHeader, 'stripeDataLength'>;

/**
 * Checks a whole cell object against what the layout expects and returns its payload
 * (a view, no copy). Throws CellFormatError on any mismatch: header, length, checksum.
 */
export function openCell(bytes: Buffer, expected: ExpectedCell): Buffer {
  const h = checkHeader(bytes, expected);
  const payload = bytes.subarray(headerLength(h.fileId));
  checkPayload(payload.length, payload.length === h.payloadLength ? crcHex(payload) : '', h);
  return payload;
}

/** Checks a payload's length and CRC-32 (hex) against its header's; throws CellFormatError. */
export function checkPayload(length: number, crc: string, header: Pick<CellHeader, 'payloadLength' | 'crc'>): void {
  if (length !== header.payloadLength) throw new CellFormatError(`cell payload is ${length} bytes, its header says ${header.payloadLength}`);
  if (crc !== header.crc) throw new CellFormatError(`cell payload checksum ${crc} does not match ${header.crc}`);
}

/** Checks a cell's header (the bytes may go on with its payload) against what the layout expects; throws CellFormatError. */
export function checkHeader(bytes: Buffer, expected: ExpectedCell): CellHeader {
  const h = decodeHeader(bytes);
  const mismatch = (['fsid', 'fileId', 'stripe', 'cell', 'k', 'm', 'kind', 'payloadLength', 'crc'] as const).find(
    (f) => h[f] !== (f === 'fsid' ? expected.fsid.toLowerCase() : expected[f]),
  );
  if (mismatch) {
    throw new CellFormatError(`cell header says ${mismatch}=${String(h[mismatch])}, the layout expects ${String(expected[mismatch])}`);
  }
  return h;
}
