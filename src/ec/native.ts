// The compiled addon (native/ec, target tierfs_ec). This file and its compiled
// twin dist/ec/native.js both sit two levels under the repository root, so one
// relative path finds build/Release from either.
import { createRequire } from 'node:module';

export interface NativeKernelInfo {
  name: string;
  available: boolean;
}

/** Batch operations, numbered as native/ec/addon.cc's BatchOp. */
export const NativeBatchOp = { Encode: 0, Reconstruct: 1, Verify: 2 } as const;
export type NativeBatchOp = (typeof NativeBatchOp)[keyof typeof NativeBatchOp];

/**
 * The synchronous calls take shards as trailing arguments (one N-API call
 * fetches them all; reading them out of an array costs as much again).
 */
export interface NativeCodec {
  readonly kernel: string;
  encode(dataCount: number, ...dataThenParity: Uint8Array[]): void;
  reconstruct(lost: readonly number[], targets: readonly number[], ...shards: (Uint8Array | null)[]): void;
  verify(...shards: Uint8Array[]): boolean;
  batch(op: NativeBatchOp, stripes: readonly object[]): Promise<boolean[] | undefined>;
}

interface NativeModule {
  NativeCodec: new (k: number, m: number, kernel: string | undefined) => NativeCodec;
  kernels(): NativeKernelInfo[];
  /** Bytes from the start of buffer (or of a view's first byte) to its first 64-byte-aligned address. */
  alignOffset(buffer: ArrayBuffer | Uint8Array): number;
  /** zlib's CRC-32 of data chained from crc (native/ec/crc32.c) */
  crc32(data: Uint8Array, crc?: number): number;
  /** "pclmul" or "zlib": how crc32 computes on this CPU */
  crc32Kernel: string;
}

const require = createRequire(import.meta.url);
/** Where the addon is, for threads that load it themselves. */
export const addonPath = require.resolve('../../build/Release/tierfs_ec.node');
export const native = require(addonPath) as NativeModule;
