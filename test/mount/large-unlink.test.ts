// Removing a large file must not stop the mount: the kernel frees a file's blocks inside
// the unlink of its last name (0.7 s for 2 GiB cached, on ext4), and the daemon's event
// loop would answer no request meanwhile. Such a name is renamed into the volume's temp
// directory and unlinked there on the thread pool (LocalTier.unlinkAt; a file a rename
// replaces is linked there first, LocalTier.renameAt). A process that
// holds the backing file open sees where its name went: /proc/self/fd tells it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, watch, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

let t: TierfsMount;
beforeAll(async () => {
  t = await new TierfsMount().start();
});
afterAll(async () => {
  await t?.dispose();
});

/** Where the backing file open as fd was when it was unlinked. */
const unlinkedAs = (fd: number) => readlinkSync(`/proc/self/fd/${fd}`);
const tempOf = (volume: string) => join(volume, '.tierfs-tmp');
const tempEmpty = (volume: string) => !existsSync(tempOf(volume)) || readdirSync(tempOf(volume)).length === 0;

describe('removing a large file', () => {
  it('rm: the name goes at once, the backing names wait in the temp directory for the commit; a large one is unlinked on the thread pool', async () => {
    execFileSync('fallocate', ['-l', '80M', join(t.mnt, 'big.bin')]);
    writeFileSync(join(t.mnt, 'small.bin'), Buffer.alloc(1 << 20, 1));
    const big = openSync(join(t.hot, 'big.bin'), 'r');
    const small = openSync(join(t.hot, 'small.bin'), 'r');
    try {
      execFileSync('rm', [join(t.mnt, 'big.bin'), join(t.mnt, 'small.bin')]);
      expect(existsSync(join(t.mnt, 'big.bin'))).toBe(false);
      expect(existsSync(join(t.hot, 'big.bin'))).toBe(false);
      // Both set aside until the catalog's change commits (Vfs.unlink); then the small one
      // is unlinked there, the large one renamed again and unlinked on the thread pool.
      const setAside = /\/\.tierfs-tmp\/unlinking-\d+-\d+-\d+-\d+-\d+ \(deleted\)$/;
      await waitFor(() => /\/\.tierfs-tmp\/unlinked-\d+-\d+ \(deleted\)$/.test(unlinkedAs(big)), 5000, () => `big is at ${unlinkedAs(big)}`);
      await waitFor(() => setAside.test(unlinkedAs(small)), 5000, () => `small is at ${unlinkedAs(small)}`);
      await waitFor(() => tempEmpty(t.hot), 5000, () => `left in ${tempOf(t.hot)}: ${readdirSync(tempOf(t.hot))}`);
    } finally {
      closeSync(big);
      closeSync(small);
    }
  });

  it('mv over it: the replaced file gets a name in the temp directory, unlinked there; the new one has the name', async () => {
    execFileSync('fallocate', ['-l', '80M', join(t.mnt, 'replaced.bin')]);
    writeFileSync(join(t.mnt, 'new.bin'), 'new bytes');
    // The replaced file's own name goes with the rename: what shows is a name made in
    // the temp directory for it (inotify sees it made and removed).
    mkdirSync(tempOf(t.hot), { recursive: true, mode: 0o700 });
    const named: string[] = [];
    const watcher = watch(tempOf(t.hot), (_event, name) => name && named.push(name));
    try {
      execFileSync('mv', [join(t.mnt, 'new.bin'), join(t.mnt, 'replaced.bin')]);
      expect(readFileSync(join(t.mnt, 'replaced.bin'), 'utf8')).toBe('new bytes');
      expect(readFileSync(join(t.hot, 'replaced.bin'), 'utf8')).toBe('new bytes');
      await waitFor(() => named.some((n) => /^unlinked-\d+-\d+$/.test(n)), 5000, () => `names seen in the temp directory: ${named}`);
      await waitFor(() => tempEmpty(t.hot), 5000, () => `left in ${tempOf(t.hot)}: ${readdirSync(tempOf(t.hot))}`);
    } finally {
      watcher.close();
    }
  });

  it("a move's old copy goes the same way", async () => {
    execFileSync('fallocate', ['-l', '80M', join(t.mnt, 'moving.bin')]);
    const old = openSync(join(t.hot, 'moving.bin'), 'r');
    try {
      const r = await t.cli(['move', join(t.mnt, 'moving.bin'), '--to', 'warm']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(existsSync(join(t.warm, 'moving.bin'))).toBe(true);
      expect(unlinkedAs(old)).toMatch(/\/\.tierfs-tmp\/unlinked-\d+-\d+ \(deleted\)$/);
      await waitFor(() => tempEmpty(t.hot), 5000, () => `left in ${tempOf(t.hot)}: ${readdirSync(tempOf(t.hot))}`);
    } finally {
      closeSync(old);
    }
  });

  it('a file removed while open is closed off the event loop at its release; nothing is left behind', async () => {
    execFileSync('fallocate', ['-l', '80M', join(t.mnt, 'open.bin')]);
    const fd = openSync(join(t.mnt, 'open.bin'), 'r');
    execFileSync('rm', [join(t.mnt, 'open.bin')]);
    closeSync(fd);
    await waitFor(() => !existsSync(join(t.hot, 'open.bin')) && tempEmpty(t.hot), 5000, () => 'the backing file is still there');
    expect(readdirSync(t.mnt)).not.toContain('open.bin');
  });
});
