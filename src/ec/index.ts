// The erasure-coding module: what the object tiers import.
export { ErasureCodec, type CodecOptions, type EncodeStripe, type RepairStripe, type Shards } from './codec.js';
export { EcError, type EcErrorCode } from './errors.js';
export { KERNEL_NAMES, availableKernels, defaultKernel, isKernelName, type KernelName } from './kernels.js';
export { allocateShards } from './alloc.js';
export { crc32, crc32Kernel } from './crc32.js';
