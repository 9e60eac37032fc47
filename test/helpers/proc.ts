// What /proc says about a process the tests started.
import { readFileSync } from 'node:fs';

/** Whether glibc advised the process's heap to transparent huge pages ("hg" among its flags). */
export function heapAdvisedHuge(pid: number): boolean {
  const mappings = readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  return mappings.some((m) => m.split('\n')[0]!.endsWith('[heap]') && /^VmFlags:.* hg\b/m.test(m));
}

/** The environment the process runs with now. */
export function environOf(pid: number): Map<string, string> {
  const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
}
