// Creates answered by the binding (native/fuse/create-grants.h): after a first create in
// a directory, JavaScript hands it over, and the binding answers lookups of missing names
// and creates there itself. What a user sees must be what JavaScript would have made —
// owner, group, mode, content, the catalog after a remount or a crash — and every change
// of the directory's names that JavaScript answers must be seen by the binding's next
// answer. Each test counts the binding's answers, so that it cannot pass by JavaScript
// answering everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { holdingOpen, run } from '../helpers/mount.js';

const NOBODY = 65534;

let t: TierfsMount;
const m = (p: string) => join(t.mnt, p);
const creates = () => t.metric('tierfs_fuse_creates_answered_natively_total');
const lookups = () => t.metric('tierfs_fuse_lookups_answered_natively_total');

/** Looks up n names dir does not hold, each new (`prefix-i`): how many of them the binding answered. */
async function missesAnsweredNatively(dir: string, prefix: string, n: number): Promise<number> {
  const l0 = await lookups();
  for (let i = 0; i < n; i++) expect(fs.existsSync(m(`${dir}/${prefix}-${i}`))).toBe(false);
  return (await lookups()) - l0;
}

/** Owner, group and permission bits as a stat shows them. */
const owner = (p: string) => {
  const s = fs.statSync(p);
  return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
};

beforeAll(async () => {
  t = await new TierfsMount({ metrics: true, allowOther: true, cacheTimeout: '1s' }).start();
});
afterAll(async () => {
  await t?.dispose();
});

describe('creates answered by the binding', () => {
  it('make files as JavaScript does: content, mode after the umask, owner; in the catalog after a remount', async () => {
    fs.mkdirSync(m('burst'));
    const [c0, l0] = [await creates(), await lookups()];
    await holdingOpen(m('burst'), async () => {
      for (let i = 0; i < 200; i++) fs.writeFileSync(m(`burst/f${i}`), `file ${i}\n`, { mode: 0o640 });
    });
    // The first create is JavaScript's; it hands the directory over.
    expect((await creates()) - c0).toBeGreaterThanOrEqual(199);
    expect((await lookups()) - l0).toBeGreaterThanOrEqual(199);
    for (let i = 0; i < 200; i += 37) {
      expect(fs.readFileSync(m(`burst/f${i}`), 'utf8')).toBe(`file ${i}\n`);
      expect(owner(m(`burst/f${i}`))).toEqual({ uid: 0, gid: 0, mode: 0o640 & ~process.umask() });
      // The backing file is the file: same bytes, owner and mode.
      expect(owner(join(t.hot, `burst/f${i}`))).toEqual(owner(m(`burst/f${i}`)));
    }
    expect(fs.readdirSync(m('burst')).length).toBe(200);
    // Distinct inodes, none shared with a file JavaScript made.
    const inos = new Set(fs.readdirSync(m('burst')).map((n) => fs.statSync(m(`burst/${n}`)).ino));
    expect(inos.size).toBe(200);

    // A clean stop committed every row: the next mount finds nothing to import.
    await t.stop();
    await t.start();
    expect(fs.readdirSync(m('burst')).length).toBe(200);
    expect(fs.readFileSync(m('burst/f199'), 'utf8')).toBe('file 199\n');
    expect(t.output).not.toContain('reconciled catalog with tiers');
  });

  it("give another user's files their owner, their umask, and a setgid directory's group", async () => {
    fs.mkdirSync(m('shared'));
    fs.chownSync(m('shared'), NOBODY, 4321);
    fs.chmodSync(m('shared'), 0o2775);
    const c0 = await creates();
    const made = await holdingOpen(m('shared'), () =>
      run('sh', ['-c', `umask 027; for i in $(seq 0 29); do echo $i > ${m('shared')}/u$i; done`], { user: 'nobody' }),
    );
    expect(made.code, made.stderr).toBe(0);
    expect((await creates()) - c0).toBeGreaterThanOrEqual(29);
    for (const i of [0, 1, 29]) {
      // BSD group semantics: the directory's group, not the caller's; the caller's umask.
      expect(owner(m(`shared/u${i}`))).toEqual({ uid: NOBODY, gid: 4321, mode: 0o640 });
      expect(owner(join(t.hot, `shared/u${i}`))).toEqual({ uid: NOBODY, gid: 4321, mode: 0o640 });
    }
    // A chmod of the directory ends the hand-over: the kernel checks the new mode, and
    // nobody can no longer create there.
    fs.chmodSync(m('shared'), 0o2555);
    const refused = await run('sh', ['-c', `echo x > ${m('shared')}/after`], { user: 'nobody' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Permission denied/);
    expect(fs.existsSync(m('shared/after'))).toBe(false);
  });

  it('see every change of names JavaScript answers: mkdir, symlink, link, rename, unlink, rmdir', async () => {
    fs.mkdirSync(m('names'));
    fs.writeFileSync(m('names/first'), '1'); // JavaScript's: the directory is handed over
    fs.writeFileSync(m('names/second'), '2');
    const c0 = await creates();
    fs.mkdirSync(m('names/dir'));
    fs.symlinkSync('first', m('names/sym'));
    fs.linkSync(m('names/first'), m('names/hard'));
    fs.renameSync(m('names/second'), m('names/renamed'));
    fs.mkdirSync(m('names/gone'));
    fs.rmdirSync(m('names/gone'));
    // With the kernel's entries dropped, each name is looked up again: those that exist
    // come from JavaScript, those that do not from the binding. (The directory is held
    // open, as holdingOpen() does.)
    const held = fs.openSync(m('names'), 'r');
    const l0 = await lookups();
    execFileSync('sh', ['-c', 'echo 2 > /proc/sys/vm/drop_caches']);
    expect(fs.statSync(m('names/dir')).isDirectory()).toBe(true);
    expect(fs.readlinkSync(m('names/sym'))).toBe('first');
    expect(fs.statSync(m('names/hard')).nlink).toBe(2);
    expect(fs.readFileSync(m('names/renamed'), 'utf8')).toBe('2');
    expect(fs.existsSync(m('names/second'))).toBe(false);
    expect(fs.existsSync(m('names/gone'))).toBe(false);
    expect((await lookups()) - l0).toBeGreaterThanOrEqual(2);
    // Creating over each name that exists is JavaScript's: it opens what is there.
    for (const [name, flags] of [['renamed', 'wx'], ['hard', 'wx'], ['dir', 'wx']] as const) {
      expect(() => fs.writeFileSync(m(`names/${name}`), 'no', { flag: flags })).toThrow(/EEXIST|EISDIR/);
    }
    fs.writeFileSync(m('names/hard'), 'through the link', { flag: 'a' });
    expect(fs.readFileSync(m('names/first'), 'utf8')).toBe('1through the link');
    // A name unlinked or renamed away is free again, and made anew by the binding.
    fs.unlinkSync(m('names/renamed'));
    fs.writeFileSync(m('names/renamed'), 'new');
    fs.writeFileSync(m('names/second'), 'again');
    expect(fs.readFileSync(m('names/renamed'), 'utf8')).toBe('new');
    expect(fs.readFileSync(m('names/second'), 'utf8')).toBe('again');
    expect((await creates()) - c0).toBeGreaterThanOrEqual(2);
    fs.closeSync(held);
    expect(fs.readdirSync(m('names')).sort()).toEqual(['dir', 'first', 'hard', 'renamed', 'second', 'sym']);
  });

  it('leave a stray backing file, and modes with setuid or sticky bits, to JavaScript', async () => {
    fs.mkdirSync(m('odd'));
    fs.writeFileSync(m('odd/a'), 'a');
    // A backing file the catalog does not name (as a crash before its rows leaves one):
    // the binding's O_EXCL create fails, JavaScript replaces it.
    fs.writeFileSync(join(t.hot, 'odd/stray'), 'left behind');
    fs.writeFileSync(m('odd/stray'), 'mine');
    expect(fs.readFileSync(m('odd/stray'), 'utf8')).toBe('mine');
    const fd = fs.openSync(m('odd/setuid'), 'w', 0o4755);
    fs.closeSync(fd);
    expect(owner(m('odd/setuid')).mode).toBe(0o4755);
    expect(owner(join(t.hot, 'odd/setuid')).mode).toBe(0o4755);
  });

  it('lose no file to a crash right after a burst of them', async () => {
    fs.mkdirSync(m('crash'));
    const c0 = await creates();
    await holdingOpen(m('crash'), async () => {
      for (let i = 0; i < 300; i++) fs.writeFileSync(m(`crash/f${i}`), `bytes of ${i}`);
    });
    expect((await creates()) - c0).toBeGreaterThanOrEqual(299);
    await t.kill9();
    await t.start();
    const listed = fs.readdirSync(m('crash'));
    expect(listed.length).toBe(300);
    for (const i of [0, 150, 299]) expect(fs.readFileSync(m(`crash/f${i}`), 'utf8')).toBe(`bytes of ${i}`);
  });
});

describe('lookups of missing names answered by the binding', () => {
  it('after one miss in a directory no file was created in since the mount; every name made there since is still found', async () => {
    fs.mkdirSync(m('probe'));
    fs.mkdirSync(m('elsewhere'));
    fs.writeFileSync(m('probe/old'), 'o');
    fs.writeFileSync(m('elsewhere/moved'), 'm');
    fs.writeFileSync(m('elsewhere/linked'), 'l');
    // A new mount: no create in it has handed these directories over.
    await t.stop();
    await t.start();
    await holdingOpen(m('probe'), async () => {
      // The first miss is JavaScript's; it hands the directory's names over.
      expect(await missesAnsweredNatively('probe', 'absent', 100)).toBeGreaterThanOrEqual(99);
      expect(fs.readFileSync(m('probe/old'), 'utf8')).toBe('o');

      // Names JavaScript makes in it afterwards, by every kind of change.
      fs.mkdirSync(m('probe/dir'));
      fs.symlinkSync('old', m('probe/sym'));
      fs.linkSync(m('elsewhere/linked'), m('probe/hard'));
      fs.renameSync(m('elsewhere/moved'), m('probe/moved'));
      fs.renameSync(m('probe/old'), m('elsewhere/old'));
      // Names alone make no create: the first is JavaScript's, which then hands the
      // directory over for creates, and the next is the binding's.
      const c0 = await creates();
      fs.writeFileSync(m('probe/new'), 'n');
      expect((await creates()) - c0).toBe(0);
      fs.writeFileSync(m('probe/new2'), 'n2');
      expect((await creates()) - c0).toBe(1);

      // With the kernel's entries dropped, each name is asked again.
      execFileSync('sh', ['-c', 'echo 2 > /proc/sys/vm/drop_caches']);
      expect(fs.statSync(m('probe/dir')).isDirectory()).toBe(true);
      expect(fs.readlinkSync(m('probe/sym'))).toBe('old');
      expect(fs.readFileSync(m('probe/hard'), 'utf8')).toBe('l');
      expect(fs.readFileSync(m('probe/moved'), 'utf8')).toBe('m');
      expect(fs.readFileSync(m('probe/new'), 'utf8')).toBe('n');
      expect(fs.readFileSync(m('probe/new2'), 'utf8')).toBe('n2');
      expect(fs.existsSync(m('probe/old'))).toBe(false);
      expect(fs.readFileSync(m('elsewhere/old'), 'utf8')).toBe('o');
      expect(await missesAnsweredNatively('probe', 'still-absent', 20)).toBeGreaterThanOrEqual(20);
    });
    expect(fs.readdirSync(m('probe')).sort()).toEqual(['dir', 'hard', 'moved', 'new', 'new2', 'sym']);
  });

  it('a directory of more than 1,024 names only at its second miss (a one-off miss lists no large directory)', async () => {
    fs.mkdirSync(m('large'));
    for (let i = 0; i < 1100; i++) fs.writeFileSync(m(`large/f${i}`), '');
    await t.stop();
    await t.start();
    await holdingOpen(m('large'), async () => {
      expect(await missesAnsweredNatively('large', 'absent', 100)).toBe(98);
      expect(fs.existsSync(m('large/f1099'))).toBe(true);
    });
  });
});

describe('with mount.nativeCreates off', () => {
  it('every create, and every lookup of a missing name, is JavaScript’s', async () => {
    const off = await new TierfsMount({ metrics: true, nativeCreates: false }).start();
    try {
      fs.mkdirSync(join(off.mnt, 'd'));
      for (let i = 0; i < 20; i++) fs.writeFileSync(join(off.mnt, `d/f${i}`), 'x');
      expect(fs.readdirSync(join(off.mnt, 'd')).length).toBe(20);
      for (let i = 0; i < 20; i++) expect(fs.existsSync(join(off.mnt, `d/absent-${i}`))).toBe(false);
      expect(await off.metric('tierfs_fuse_creates_answered_natively_total')).toBe(0);
      expect(await off.metric('tierfs_fuse_lookups_answered_natively_total')).toBe(0);
    } finally {
      await off.dispose();
    }
  });
});
