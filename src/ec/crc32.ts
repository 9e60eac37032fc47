// CRC-32, the checksum of every cell and block on object tiers: the value zlib's
// crc32 gives (the format records it), computed by the addon with carry-less
// multiplication where the CPU has it, several times faster than zlib's tables.
import { native } from './native.js';

/** The CRC-32 of data, chained from crc (the CRC of what came before it; 0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  return native.crc32(data, crc);
}

/** "pclmul" or "zlib": how crc32 computes on this CPU. */
export const crc32Kernel: string = native.crc32Kernel;
