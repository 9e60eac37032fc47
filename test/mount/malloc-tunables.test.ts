// The daemon's allocator settings (src/malloc-tunables.ts): an operator's own tunables are
// kept, and a daemon started in the foreground without them runs with them all the same —
// glibc then advises its heap to huge pages, which /proc shows — where Node can replace a
// process (process.execve); on an older Node it serves as before.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { withMallocTunables } from '../../src/malloc-tunables.js';
import { forceUnmount, isMounted, waitFor } from '../helpers/mount.js';
import { heapAdvisedHuge, thpMode } from '../helpers/proc.js';
import { TIERFS_BIN, TierfsMount } from '../helpers/tierfs.js';

describe('withMallocTunables', () => {
  it('adds every tunable to an environment without any', () => {
    const env = withMallocTunables({ PATH: '/bin' });
    expect(env.PATH).toBe('/bin');
    expect(env.GLIBC_TUNABLES!.split(':').sort()).toEqual(['glibc.malloc.hugetlb=1', 'glibc.malloc.mmap_threshold=33554432', 'glibc.malloc.trim_threshold=134217728']);
  });

  it("keeps the operator's own value of a tunable and their other tunables", () => {
    const env = withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1048576:glibc.malloc.arena_max=2' });
    expect(env.GLIBC_TUNABLES).toBe('glibc.malloc.trim_threshold=1048576:glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432');
  });

  it('gives back the same environment when it has them all', () => {
    const env = withMallocTunables({});
    expect(withMallocTunables(env)).toBe(env);
  });
});

describe('a daemon started in the foreground without them', () => {
  const t = new TierfsMount();
  afterAll(async () => {
    forceUnmount(t.mnt);
    await t.dispose();
  });

  const canRestart = typeof (process as { execve?: unknown }).execve === 'function';
  it(canRestart ? 'restarts itself with them, same pid, and glibc advises its heap to huge pages' : 'serves without them on a Node without process.execve', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TIERFS_LOG_LEVEL: 'info' };
    delete env.GLIBC_TUNABLES;
    const child = spawn(process.execPath, [TIERFS_BIN, 'mount', '--foreground', '--config', t.configFile, t.mnt], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor(() => isMounted(t.mnt) && log.includes('tierfs: mounted'), 30_000, () => `no mount:\n${log}`);
      // (/proc/PID/environ cannot tell: glibc cuts the variable's first copy where it parses it.)
      // The heap's flags show glibc's work where huge pages are "madvise" (the default).
      const visible = thpMode() === 'madvise';
      if (canRestart) {
        expect(log).not.toContain('malloc tunables not in effect');
        if (visible) expect(heapAdvisedHuge(child.pid!)).toBe(true);
      } else {
        expect(heapAdvisedHuge(child.pid!)).toBe(false);
        expect(log).toContain('malloc tunables not in effect');
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(isMounted(t.mnt)).toBe(false);
  });
});
