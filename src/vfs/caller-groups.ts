// Whether the process behind a request is in a group. FUSE passes a request's uid, gid
// and pid, not the supplementary groups: those are the process's, in /proc/PID/status
// (what libfuse's fuse_req_getgroups reads).
import { readFileSync } from 'node:fs';

export interface GroupCaller {
  gid: number;
  pid: number;
}

/** Its gid, or one of its supplementary groups; a process gone, or unreadable: not in it (the stricter answer). */
export function inGroup(caller: GroupCaller, gid: number): boolean {
  if (caller.gid === gid) return true;
  if (!(caller.pid > 0)) return false;
  try {
    const line = /^Groups:\s*(.*)$/m.exec(readFileSync(`/proc/${caller.pid}/status`, 'utf8'))?.[1] ?? '';
    return line.split(/\s+/).some((g) => g !== '' && Number(g) === gid);
  } catch {
    return false;
  }
}
