// What /proc says about a process the tests started.
import { readFileSync } from 'node:fs';

/** Whether glibc advised the process's heap to transparent huge pages ("hg" among its flags). */
export function heapAdvisedHuge(pid: number): boolean {
  const mappings = readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  return mappings.some((m) => m.split('\n')[0]!.endsWith('[heap]') && /^VmFlags:.* hg\b/m.test(m));
}

/**
 * The kernel's transparent huge page mode ("always", "madvise" or "never"). glibc's
 * hugetlb tunable advises its heap only in "madvise" mode: with "always" it has no need,
 * with "never" no use, and the heap's flags show nothing either way.
 */
export function thpMode(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
