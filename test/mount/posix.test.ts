// POSIX behaviour of a real tierfs mount, observed as an application sees it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { TierfsMount } from '../helpers/tierfs.js';
import { runAsNobody } from '../helpers/mount.js';

let t: TierfsMount;
const m = (...p: string[]) => join(t.mnt, ...p);
const errno = (p: Promise<unknown>, code: string) => expect(p).rejects.toMatchObject({ code });

beforeAll(async () => {
  t = await new TierfsMount({ allowOther: true }).start();
});
afterAll(async () => {
  await t?.dispose();
});

describe('files', () => {
  it('writes, reads and keeps the bytes as a plain file on the hot tier', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    await fs.writeFile(m('big.bin'), data);
    expect((await fs.readFile(m('big.bin'))).equals(data)).toBe(true);
    expect(readFileSync(join(t.hot, 'big.bin')).equals(data)).toBe(true);
    expect((await fs.stat(m('big.bin'))).size).toBe(data.length);
  });

  it('reads and writes at offsets, truncates and extends', async () => {
    const fh = await fs.open(m('off.bin'), 'w+');
    await fh.write(Buffer.from('hello world'), 0, 11, 0);
    await fh.write(Buffer.from('W'), 0, 1, 6);
    const buf = Buffer.alloc(5);
    await fh.read(buf, 0, 5, 6);
    expect(buf.toString()).toBe('World');
    await fh.truncate(5);
    expect((await fh.stat()).size).toBe(5);
    await fh.truncate(100);
    await fh.close();
    const back = await fs.readFile(m('off.bin'));
    expect(back.length).toBe(100);
    expect(back.subarray(0, 5).toString()).toBe('hello');
    expect(back.subarray(5).every((b) => b === 0)).toBe(true);
    await fs.truncate(m('off.bin'), 2);
    expect(await fs.readFile(m('off.bin'), 'utf8')).toBe('he');
  });

  it('appends with O_APPEND', async () => {
    await fs.writeFile(m('log.txt'), 'a');
    await fs.appendFile(m('log.txt'), 'b');
    await fs.appendFile(m('log.txt'), 'c');
    expect(await fs.readFile(m('log.txt'), 'utf8')).toBe('abc');
  });

  it('fails with the right errno', async () => {
    await errno(fs.readFile(m('nope')), 'ENOENT');
    await fs.mkdir(m('d1'));
    await errno(fs.mkdir(m('d1')), 'EEXIST');
    await errno(fs.readFile(m('d1')), 'EISDIR');
    await fs.writeFile(m('plain'), 'x');
    await errno(fs.readdir(m('plain')), 'ENOTDIR');
    await errno(fs.writeFile(m('plain', 'child'), 'x'), 'ENOTDIR');
    await fs.writeFile(m('d1', 'f'), 'x');
    await errno(fs.rmdir(m('d1')), 'ENOTEMPTY');
    await errno(fs.unlink(m('d1')), 'EISDIR');
    await errno(fs.rmdir(m('plain')), 'ENOTDIR');
    await errno(fs.open(m('plain'), 'wx'), 'EEXIST');
    await errno(fs.rename(m('d1'), m('d1', 'inside')), 'EINVAL');
  });
});

describe('directories and names', () => {
  it('lists directories with types, including many entries', async () => {
    await fs.mkdir(m('many'));
    for (let i = 0; i < 300; i++) await fs.writeFile(m('many', `f${i}`), String(i));
    await fs.mkdir(m('many', 'sub'));
    const entries = await fs.readdir(m('many'), { withFileTypes: true });
    expect(entries).toHaveLength(301);
    expect(entries.find((e) => e.name === 'sub')!.isDirectory()).toBe(true);
    expect(entries.find((e) => e.name === 'f7')!.isFile()).toBe(true);
  });

  it('renames files and directories, over existing targets, never EXDEV', async () => {
    await fs.mkdir(m('r1', 'deep'), { recursive: true });
    await fs.writeFile(m('r1', 'deep', 'x'), 'X');
    await fs.rename(m('r1'), m('r2'));
    expect(await fs.readFile(m('r2', 'deep', 'x'), 'utf8')).toBe('X');
    expect(existsSync(join(t.hot, 'r2', 'deep', 'x'))).toBe(true);
    await fs.writeFile(m('over'), 'old');
    await fs.rename(m('r2', 'deep', 'x'), m('over'));
    expect(await fs.readFile(m('over'), 'utf8')).toBe('X');
    await fs.mkdir(m('emptydir'));
    await fs.mkdir(m('srcdir'));
    await fs.rename(m('srcdir'), m('emptydir'));
    await errno(fs.stat(m('srcdir')), 'ENOENT');
  });

  it('renames a directory whose name has characters outside the BMP (emoji): its files follow', async () => {
    await fs.mkdir(m('a😀', 'b😀😀'), { recursive: true });
    await fs.writeFile(m('a😀', 'b😀😀', 'x'), 'deep');
    await fs.writeFile(m('a😀', 'y'), 'near');
    await fs.rename(m('a😀'), m('c'));
    expect(await fs.readFile(m('c', 'b😀😀', 'x'), 'utf8')).toBe('deep');
    expect(await fs.readFile(m('c', 'y'), 'utf8')).toBe('near');
    await fs.rename(m('c', 'b😀😀'), m('c', 'e😀'));
    expect(await fs.readFile(m('c', 'e😀', 'x'), 'utf8')).toBe('deep');
  });

  it('hard links share one inode; symlinks resolve', async () => {
    await fs.writeFile(m('orig'), 'linked');
    await fs.link(m('orig'), m('alias'));
    const [a, b] = await Promise.all([fs.stat(m('orig')), fs.stat(m('alias'))]);
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
    await fs.symlink('orig', m('sym'));
    expect(await fs.readlink(m('sym'))).toBe('orig');
    expect(await fs.readFile(m('sym'), 'utf8')).toBe('linked');
    expect((await fs.lstat(m('sym'))).isSymbolicLink()).toBe(true);
    await fs.unlink(m('orig'));
    expect(await fs.readFile(m('alias'), 'utf8')).toBe('linked');
  });

  it('keeps an unlinked file readable while open', async () => {
    await fs.writeFile(m('ghost'), 'boo');
    const fh = await fs.open(m('ghost'), 'r');
    await fs.unlink(m('ghost'));
    const buf = Buffer.alloc(3);
    await fh.read(buf, 0, 3, 0);
    expect(buf.toString()).toBe('boo');
    await fh.close();
    await errno(fs.stat(m('ghost')), 'ENOENT');
  });
});

describe('attributes, ownership and permissions', () => {
  it('sets mode, times (atime and mtime independently) and owner', async () => {
    await fs.writeFile(m('attrs'), 'x');
    await fs.chmod(m('attrs'), 0o640);
    expect((await fs.stat(m('attrs'))).mode & 0o7777).toBe(0o640);
    await fs.utimes(m('attrs'), new Date('2001-02-03T04:05:06Z'), new Date('2010-01-01T00:00:00Z'));
    let st = await fs.stat(m('attrs'));
    expect(st.atime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    expect(st.mtime.toISOString()).toBe('2010-01-01T00:00:00.000Z');
    execFileSync('touch', ['-m', '-d', '2020-05-05T05:05:05Z', m('attrs')]); // mtime only: atime is UTIME_OMIT
    st = await fs.stat(m('attrs'));
    expect(st.atime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    expect(st.mtime.toISOString()).toBe('2020-05-05T05:05:05.000Z');
    await fs.chown(m('attrs'), 1234, 5678);
    st = await fs.stat(m('attrs'));
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
    expect(statSync(join(t.hot, 'attrs')).uid).toBe(1234);
  });

  it('gives new files to the caller and enforces permissions', async () => {
    await fs.mkdir(m('shared'), { mode: 0o777 });
    await fs.chmod(m('shared'), 0o777);
    const made = await runAsNobody('sh', ['-c', `echo hi > ${m('shared', 'byNobody')} && mkdir ${m('shared', 'dirByNobody')}`]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const st = await fs.stat(m('shared', 'byNobody'));
    expect(st.uid).toBe(65534);
    expect((await fs.stat(m('shared', 'dirByNobody'))).uid).toBe(65534);
    await fs.writeFile(m('private'), 'secret', { mode: 0o600 });
    await fs.chmod(m('private'), 0o600);
    const denied = await runAsNobody('cat', [m('private')]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);
    const noWrite = await runAsNobody('sh', ['-c', `echo x > ${m('noperm')}`]); // the root is 0755, owned by root
    expect(noWrite.stderr).toMatch(/Permission denied/);
  });

  it('stores user xattrs and shows the tier', async () => {
    await fs.writeFile(m('xa'), 'x');
    execFileSync('setfattr', ['-n', 'user.color', '-v', 'blue', m('xa')]);
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.color', m('xa')]).toString()).toBe('blue');
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.tierfs.tier', m('xa')]).toString()).toBe('hot');
    const listing = execFileSync('getfattr', ['-d', '-m', '-', m('xa')]).toString();
    expect(listing).toContain('user.color="blue"');
    // The tier is read-only (EPERM: moves go through tierfs move), a removed xattr is ENODATA.
    expect(() => execFileSync('setfattr', ['-n', 'user.tierfs.tier', '-v', 'warm', m('xa')], { stdio: 'pipe' })).toThrow(/Operation not permitted/);
    expect(() => execFileSync('setfattr', ['-x', 'user.tierfs.tier', m('xa')], { stdio: 'pipe' })).toThrow(/Operation not permitted/);
    execFileSync('setfattr', ['-x', 'user.color', m('xa')]);
    expect(() => execFileSync('getfattr', ['-n', 'user.color', m('xa')], { stdio: 'pipe' })).toThrow(/No such attribute/);
  });

  it('reports statfs with each filesystem once: two tiers on one disk are that disk, as df would show it', async () => {
    const s = await fs.statfs(t.mnt);
    const disk = await fs.statfs(t.hot);
    expect((await fs.statfs(t.warm)).blocks).toBe(disk.blocks); // both tiers are on one filesystem here
    // Sizes in the mount's 4 KiB blocks; free space moves between the two calls (the mount's
    // figure may be half a second old, and a test beside this one may write a GiB): counted
    // twice, it would be off by all of it.
    expect(s.blocks * s.bsize).toBe(disk.blocks * disk.bsize);
    expect(Math.abs(s.bavail * s.bsize - disk.bavail * disk.bsize)).toBeLessThan(256 * 2 ** 20);
    expect(Math.abs(s.ffree - disk.ffree)).toBeLessThan(1000);
    expect(s.bsize).toBe(4096);
    expect(s.bavail).toBeLessThanOrEqual(s.blocks);
    expect(s.files).toBeGreaterThan(s.ffree);
  });
});
