// What /proc says about a process the tests started.
import { readFileSync } from 'node:fs';

/** Whether glibc advised the process's heap to transparent huge pages ("hg" among its flags). */
export function heapAdvisedHuge(pid: number): boolean {
  const mappings = readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  return mappings.some((m) => m.split('\n')[0]!.endsWith('[heap]') && /^VmFlags:.* hg\b/m.test(m));
}
