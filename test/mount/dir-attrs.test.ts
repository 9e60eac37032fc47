// A directory's attributes after a change, answered by the binding: every create, mkdir,
// mknod, symlink or link makes the kernel drop what it holds of the directory, and the
// next path walk through it asks for them again. The reply of the change carries them,
// and the binding answers that getattr itself (native/fuse/dir-attrs.h): what a stat
// shows is the same as what JavaScript would have said, after every kind of change. The
// mount runs with the kernel's caches off (0 s), so every stat here reaches the daemon
// (the binding answers those that come within a second of a change; after that, JavaScript).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { holdingOpen } from '../helpers/mount.js';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount;
const m = (p: string) => join(t.mnt, p);

beforeAll(async () => {
  t = await new TierfsMount({ metrics: true }).start();
});
afterAll(async () => {
  await t?.dispose();
});

const answeredNatively = () => t.metric('tierfs_fuse_dir_attrs_answered_natively_total');

/** What a stat shows of a directory, to the nanosecond. */
const attrsOf = (s: BigIntStats) => ({ ino: s.ino, mode: s.mode, nlink: s.nlink, uid: s.uid, gid: s.gid, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs });
/** How long the binding answers from a change's reply (DirAttrs::kLifetime), and a little more. */
const KEPT_MS = 1100;
/** A stat of dir answered from the change's reply, then one answered by JavaScript once the binding no longer does. */
async function twoStats(dir: string) {
  const fromReply = attrsOf(await fs.stat(dir, { bigint: true }));
  await new Promise((r) => setTimeout(r, KEPT_MS));
  return [fromReply, attrsOf(await fs.stat(dir, { bigint: true }))];
}

describe("a directory's attributes after a change", () => {
  it('are answered by the binding after each create, mkdir, symlink, link, mknod and unlink in it, and are what JavaScript says', async () => {
    await fs.mkdir(m('made'));
    const before = await answeredNatively();
    for (let i = 0; i < 20; i++) {
      await fs.writeFile(m(`made/f${i}`), 'x'); // the walk to f{i+1} asks for made's attributes
    }
    await fs.mkdir(m('made/sub'));
    const [fromReply, fromJs] = await twoStats(m('made'));
    expect(fromReply).toEqual(fromJs);
    expect(fromReply.nlink).toBe(3n); // ".", its name in the root, sub's ".."
    expect((await answeredNatively()) - before).toBeGreaterThanOrEqual(20);

    // The mtime moves with each change, and the first stat after it shows it.
    const t0 = fromJs.mtimeNs;
    await new Promise((r) => setTimeout(r, 20));
    await fs.symlink('f0', m('made/link'));
    const [afterSymlink] = await twoStats(m('made'));
    expect(afterSymlink.mtimeNs).toBeGreaterThan(t0);
    await fs.link(m('made/f1'), m('made/hard'));
    execFileSync('mknod', [m('made/fifo'), 'p']);
    const [a, b] = await twoStats(m('made'));
    expect(a).toEqual(b);

    // Unlinks give the directory's attributes with their answer too.
    const beforeUnlinks = await answeredNatively();
    for (let i = 0; i < 10; i++) await fs.unlink(m(`made/f${i}`));
    const [afterUnlinks, fromJsAfterUnlinks] = await twoStats(m('made'));
    expect(afterUnlinks).toEqual(fromJsAfterUnlinks);
    expect(afterUnlinks.mtimeNs).toBeGreaterThanOrEqual(b.mtimeNs);
    expect((await answeredNatively()) - beforeUnlinks).toBeGreaterThanOrEqual(10);
  });

  it('show every change made after them: chmod, chown, xattrs, rename and rmdir', async () => {
    await fs.mkdir(m('guarded'));
    await fs.writeFile(m('guarded/a'), 'a');
    // chmod between the create's reply and the next stat: the stat shows the new mode.
    await fs.chmod(m('guarded'), 0o700);
    expect((await fs.stat(m('guarded'))).mode & 0o7777).toBe(0o700);
    await fs.writeFile(m('guarded/b'), 'b');
    await fs.chown(m('guarded'), 1234, 1234);
    const owned = await fs.stat(m('guarded'));
    expect([owned.uid, owned.gid]).toEqual([1234, 1234]);
    await fs.writeFile(m('guarded/c'), 'c');
    const ctime = (await fs.stat(m('guarded'), { bigint: true })).ctimeNs;
    await new Promise((r) => setTimeout(r, 20));
    await fs.writeFile(m('guarded/d'), 'd');
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'x', m('guarded')]);
    expect((await fs.stat(m('guarded'), { bigint: true })).ctimeNs).toBeGreaterThan(ctime);

    // A directory renamed, or one inside it removed, right after a create in it.
    await fs.mkdir(m('guarded/inner'));
    await fs.writeFile(m('guarded/inner/x'), 'x');
    await fs.rename(m('guarded/inner'), m('moved'));
    const [movedA, movedB] = await twoStats(m('moved'));
    expect(movedA).toEqual(movedB);
    await fs.mkdir(m('guarded/gone'));
    await fs.rmdir(m('guarded/gone'));
    const [g1, g2] = await twoStats(m('guarded'));
    expect(g1).toEqual(g2);
    expect(g1.nlink).toBe(2n);
  });

  it('are answered by the binding after renames of files, in one directory and between two, and are what JavaScript says', async () => {
    await fs.mkdir(m('ren'));
    await fs.mkdir(m('ren/sub'));
    await fs.mkdir(m('ren2'));
    for (let i = 0; i < 20; i++) await fs.writeFile(m(`ren/f${i}`), 'x');
    const before = await answeredNatively();
    for (let i = 0; i < 20; i++) await fs.rename(m(`ren/f${i}`), m(`ren/g${i}`)); // the walk of each asks for ren's attributes
    expect((await answeredNatively()) - before).toBeGreaterThanOrEqual(19);
    const [inOne, inOneFromJs] = await twoStats(m('ren'));
    expect(inOne).toEqual(inOneFromJs);

    // Between two directories: each shows the rename at once.
    const [, before2] = await twoStats(m('ren2'));
    await new Promise((r) => setTimeout(r, 20));
    await fs.rename(m('ren/g0'), m('ren2/g0'));
    const [to, toFromJs] = await twoStats(m('ren2'));
    expect(to).toEqual(toFromJs);
    expect(to.mtimeNs).toBeGreaterThan(before2!.mtimeNs);
    const [from, fromFromJs] = await twoStats(m('ren'));
    expect(from).toEqual(fromFromJs);

    // A directory moved (its own ctime and `..` change too): the link counts of both at once.
    await fs.rename(m('ren/sub'), m('ren2/sub'));
    expect((await fs.stat(m('ren'))).nlink).toBe(2);
    expect((await fs.stat(m('ren2'))).nlink).toBe(3);
  });

  it('are answered to every stat within the second after a change, not after it', async () => {
    const before = await answeredNatively();
    await fs.mkdir(m('again'));
    await fs.writeFile(m('again/a'), 'a');
    const stats = [];
    for (let i = 0; i < 5; i++) stats.push(attrsOf(await fs.stat(m('again'), { bigint: true })));
    // Answered once each, these and the walks' after the mkdir and the create would be 2–3.
    expect((await answeredNatively()) - before).toBeGreaterThanOrEqual(5);
    await new Promise((r) => setTimeout(r, KEPT_MS));
    const later = await answeredNatively();
    expect(attrsOf(await fs.stat(m('again'), { bigint: true }))).toEqual(stats[0]);
    expect(await answeredNatively()).toBe(later); // JavaScript's
  });

  it('after creates the binding answered itself (create-grants.h), are what JavaScript says', async () => {
    await fs.mkdir(m('native'));
    await fs.mkdir(m('native/sub')); // a link count other than 2 to carry along
    await fs.writeFile(m('native/first'), 'x'); // JavaScript's: the directory is handed over
    const creates = () => t.metric('tierfs_fuse_creates_answered_natively_total');
    const c0 = await creates();
    const before = await answeredNatively();
    await holdingOpen(m('native'), async () => {
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 2)); // each create moves the mtime
        await fs.writeFile(m(`native/f${i}`), 'x');
      }
    });
    expect((await creates()) - c0).toBe(10);
    const [fromBinding, fromJs] = await twoStats(m('native'));
    expect(fromBinding).toEqual(fromJs);
    expect(fromBinding.nlink).toBe(3n);
    expect((await answeredNatively()) - before).toBeGreaterThanOrEqual(10);
  });
});
