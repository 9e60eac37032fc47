// Which GF(2^8) kernel a codec uses. The addon picks the fastest the CPU and
// OS support; TIERFS_EC_KERNEL forces one (for tests, benchmarks, and to rule
// a kernel out when chasing a bug in production).
import { EcError } from './errors.js';
import { native } from './native.js';

/** Fastest first. */
export const KERNEL_NAMES = ['gfni512', 'gfni256', 'avx2', 'ssse3', 'portable'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

export function isKernelName(name: string): name is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(name);
}

let available: readonly KernelName[] | undefined;

/** Kernels this CPU can run, fastest first (portable is always there). */
export function availableKernels(): KernelName[] {
  available ??= native.kernels().filter((k) => k.available).map((k) => k.name as KernelName);
  return [...available];
}

/** The kernel codecs use when not told: TIERFS_EC_KERNEL if set, else the fastest available. */
export function defaultKernel(env: NodeJS.ProcessEnv = process.env): KernelName {
  const forced = env.TIERFS_EC_KERNEL;
  if (forced === undefined || forced === '') return availableKernels()[0]!;
  if (!isKernelName(forced)) {
    throw new EcError('EC_KERNEL_UNKNOWN', `TIERFS_EC_KERNEL=${forced}: not one of ${KERNEL_NAMES.join(', ')}`);
  }
  if (!availableKernels().includes(forced)) {
    throw new EcError('EC_KERNEL_UNAVAILABLE', `TIERFS_EC_KERNEL=${forced}: this CPU cannot run it`);
  }
  return forced;
}
