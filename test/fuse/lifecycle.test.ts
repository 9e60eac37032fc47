// Mounting and unmounting: signals, crashes, busy mounts, bad mountpoints.
import { readlinkSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mount } from '../../src/fuse/session.js';
import { MemFs } from '../helpers/memfs.js';
import { isMounted, run, serveMount, stopAllMounts, tempDir, waitFor } from '../helpers/mount.js';

const SERVER = new URL('./fixtures/serve-memfs.ts', import.meta.url).pathname;

afterAll(async () => {
  await stopAllMounts();
});

describe('unmounting', () => {
  it('unmounts cleanly on SIGTERM', async () => {
    const m = await serveMount(SERVER, { env: { ...process.env, TIERFS_LOG_LEVEL: 'info' } });
    await fs.writeFile(join(m.mountpoint, 'f'), 'x');
    m.child.kill('SIGTERM');
    const exit = await m.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(isMounted(m.mountpoint)).toBe(false);
    expect(m.stderr).toMatch(/"msg":"unmounted"/);
    m.cleanup();
  });

  it('leaves a stale mount on SIGKILL, which the next mount detaches and replaces', async () => {
    const dir = tempDir('tierfs-stale');
    const first = await serveMount(SERVER, { mountpoint: dir });
    await first.kill9();
    expect(isMounted(dir)).toBe(true);
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOTCONN' });

    const second = await serveMount(SERVER, { mountpoint: dir });
    expect(second.stderr).toMatch(/stale mount/);
    await fs.writeFile(join(dir, 'again'), 'works');
    expect(await fs.readFile(join(dir, 'again'), 'utf8')).toBe('works');
    await second.stop();
    expect(isMounted(dir)).toBe(false);
    await fs.rmdir(dir);
  });

  it('waits for open files, then aborts the connection, so that SIGTERM always ends the daemon', async () => {
    const m = await serveMount(SERVER);
    const file = join(m.mountpoint, 'held');
    await fs.writeFile(file, 'open');
    let holder = 0;
    const held = run('sh', ['-c', `exec sleep 30 < ${file}`], { onSpawn: (c) => (holder = c.pid!) });
    // Until the holder has the file open (its stdin), not for a guessed while.
    const holds = () => { try { return readlinkSync(`/proc/${holder}/fd/0`) === file; } catch { return false; } };
    await waitFor(holds, 10_000, () => 'the holder never opened the file');
    const t0 = Date.now();
    m.child.kill('SIGTERM');
    await m.exited;
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(isMounted(m.mountpoint)).toBe(false);
    expect(m.stderr).toMatch(/aborting the connection/);
    process.kill(holder, 'SIGKILL');
    await held;
    m.cleanup();
  });

  it('unmounts when the process calls process.exit() with the mount up', async () => {
    const m = await serveMount(SERVER);
    m.child.stdin!.write('exit\n');
    expect((await m.exited).code).toBe(3);
    expect(isMounted(m.mountpoint)).toBe(false);
    m.cleanup();
  });

  it('ends the session when someone else unmounts it', async () => {
    const m = await serveMount(SERVER);
    expect((await run('fusermount3', ['-u', m.mountpoint])).code).toBe(0);
    expect((await m.exited).code).toBe(0);
    expect(m.stderr).toMatch(/ended from outside/);
    m.cleanup();
  });
});

describe('mountpoint checks', () => {
  it('refuses a missing mountpoint, a file, and a live mount, saying why', async () => {
    const dir = tempDir('tierfs-bad');
    await expect(mount(join(dir, 'missing'), new MemFs())).rejects.toMatchObject({ code: 'ENOENT' });
    writeFileSync(join(dir, 'file'), '');
    await expect(mount(join(dir, 'file'), new MemFs())).rejects.toMatchObject({ code: 'ENOTDIR' });
    const m = await serveMount(SERVER);
    await expect(mount(m.mountpoint, new MemFs())).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringMatching(/already mounted/),
    });
    await m.stop();
    await fs.rm(dir, { recursive: true });
  });
});
