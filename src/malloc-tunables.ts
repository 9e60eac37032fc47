// The daemon's memory allocator (glibc's malloc), set for the bytes it carries.
//
// Every byte a cold read or a recall brings in lands in new buffers: Node's HTTP client
// reads each socket chunk into one and copies the body out into another, and JavaScript
// frees a buffer only when its collector runs. By default glibc then hands the freed top
// of its heap back to the kernel (once 128 KiB of it is free) and maps each buffer over
// 128 KiB… on its own, so the next buffers are fresh pages again, each mapped by a fault
// on its first touch: on the virtual machine tierfs is measured on, ~12 µs a 4 KiB page.
// A 256 MiB recall from S3 took 33,000–90,000 faults and 2.4–3.2 s of the daemon's CPU;
// with these settings 6,000 on a just-started daemon and a few hundred after, 1.3–2.0 s,
// and `npm run bench -- recall` recalled 1.3–1.4× as fast (docs/PERFORMANCE.md):
//   hugetlb=1              the heap is advised to the kernel's transparent huge pages:
//                          one fault per 2 MiB where they are enabled ("madvise", the default)
//   trim_threshold 128 MiB up to that much freed heap is kept for the next buffers
//   mmap_threshold 32 MiB  buffers up to that size (a cell is 8 MiB) come from the heap,
//                          so they are reused too
// The price: up to 128 MiB freed but kept (RSS after a 256 MiB recall ~270 MiB, ~230 without).
//
// glibc reads GLIBC_TUNABLES when a process starts. `tierfs mount` starts its daemon with
// them; `tierfs mount --foreground` started without them (a service manager, a shell)
// replaces itself, same pid, with a run that has them, where Node can (process.execve,
// Node 22.15 and later). A tunable the environment sets already stays as the operator set
// it; other C libraries ignore the variable.

import { moduleLogger } from './log.js';

const log = moduleLogger('mount');
const MiB = 2 ** 20;

const TUNABLES: [key: string, value: string][] = [
  ['glibc.malloc.hugetlb', '1'],
  ['glibc.malloc.trim_threshold', String(128 * MiB)],
  ['glibc.malloc.mmap_threshold', String(32 * MiB)],
];

/** env with the daemon's malloc tunables added to GLIBC_TUNABLES (env itself when it has them all). */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const set = (env.GLIBC_TUNABLES ?? '').split(':').filter(Boolean);
  const keys = new Set(set.map((t) => t.split('=')[0]));
  const missing = TUNABLES.filter(([key]) => !keys.has(key)).map(([key, value]) => `${key}=${value}`);
  return missing.length === 0 ? env : { ...env, GLIBC_TUNABLES: [...set, ...missing].join(':') };
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/**
 * When this process lacks the tunables, run it again with them in its place (same pid,
 * arguments and descriptors). Returns only when it has them, or when Node cannot replace
 * a process: then it runs on without them, and says so.
 */
export function restartWithMallocTunables(): void {
  const env = withMallocTunables(process.env);
  if (env === process.env) return;
  const execve = (process as { execve?: Execve }).execve;
  if (typeof execve === 'function') execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], env);
  log.info({ node: process.version, GLIBC_TUNABLES: env.GLIBC_TUNABLES }, 'malloc tunables not in effect: this Node cannot restart itself with them (set GLIBC_TUNABLES to this value to have them)');
}
