// The native directory scan that the mount's reconciliation reads every backing file
// through: each entry's lstat as Node's own (nanoseconds, inode numbers exact), names as
// bytes, and failures thrown as fs errors.
import { execFileSync } from 'node:child_process';
import { constants, linkSync, lstatSync, mkdirSync, openSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startScan, type ScannedEntry } from '../../../src/tiers/local/scan-dir.js';
import { tempDir } from '../../helpers/tmp.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function scan(path: string): ScannedEntry[] {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  return startScan(fd).finish(); // the scan closes fd
}

const pathOf = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(`${dir}/`), name]);

function expectSameAsLstat(dir: string, e: ScannedEntry): void {
  const st = lstatSync(pathOf(dir, e.bytes), { bigint: true });
  expect({ mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, blocks: e.blocks, nlink: e.nlink, errno: e.errno }).toEqual({
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    blocks: Number(st.blocks),
    nlink: Number(st.nlink),
    errno: 0,
  });
  expect([e.atimeNs, e.mtimeNs, e.ctimeNs, e.ino]).toEqual([st.atimeNs, st.mtimeNs, st.ctimeNs, st.ino]);
  expect(e.mtimeMs).toBe(lstatSync(pathOf(dir, e.bytes)).mtimeMs);
}

describe('scanning a backing directory', () => {
  it('gives every kind of entry with its lstat, names as the bytes on disk', () => {
    const d = tempDir();
    dirs.push(d);
    writeFileSync(join(d.path, 'file'), 'twelve bytes');
    mkdirSync(join(d.path, 'sub'));
    symlinkSync('file', join(d.path, 'link'));
    linkSync(join(d.path, 'file'), join(d.path, 'hard'));
    execFileSync('mkfifo', [join(d.path, 'fifo')]);
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1: not UTF-8
    writeFileSync(pathOf(d.path, latin1), '');
    const entries = scan(d.path);
    const names = entries.map((e) => e.bytes.toString('latin1')).sort();
    expect(names).toEqual(['caf\u00e9', 'fifo', 'file', 'hard', 'link', 'sub'].sort());
    expect(entries.find((e) => e.bytes.length === 4 && e.bytes[3] === 0xe9)!.bytes).toEqual(latin1);
    for (const e of entries) expectSameAsLstat(d.path, e);
    const byName = new Map(entries.map((e) => [e.bytes.toString('latin1'), e]));
    expect(byName.get('link')!.mode & constants.S_IFMT).toBe(constants.S_IFLNK); // not followed
    expect(byName.get('sub')!.mode & constants.S_IFMT).toBe(constants.S_IFDIR);
    expect(byName.get('file')!.nlink).toBe(2);
    expect(byName.get('file')!.ino).toBe(byName.get('hard')!.ino);
  });

  it('stats a large directory on several threads, every entry its own', () => {
    const d = tempDir();
    dirs.push(d);
    // above the size from which the stats are shared out among threads (fs-calls.cc)
    for (let i = 0; i < 3000; i++) writeFileSync(join(d.path, `f${i}`), 'x'.repeat(i % 97));
    const entries = scan(d.path);
    expect(entries.map((e) => e.bytes.toString()).sort()).toEqual(Array.from({ length: 3000 }, (_, i) => `f${i}`).sort());
    for (const e of entries) expectSameAsLstat(d.path, e);
    expect(new Set(entries.map((e) => e.ino)).size).toBe(3000);
  });

  it('takes the descriptor: it is closed once the scan is done', () => {
    const d = tempDir();
    dirs.push(d);
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    const fd = openSync(d.path, constants.O_RDONLY | constants.O_DIRECTORY);
    expect(open()).toBe(before + 1);
    startScan(fd).finish();
    expect(open()).toBe(before);
  });

  it('names that are UTF-8 come as strings, a replacement character among them too; others as bytes only', () => {
    const d = tempDir();
    dirs.push(d);
    const names = ['plain', 'caf\u00e9', 'emoji \u{1F600}', 'a real \uFFFD in it'];
    for (const n of names) writeFileSync(join(d.path, n), '');
    expect(scan(d.path).map((e) => e.name).sort()).toEqual([...names].sort());
    const bad = Buffer.from([0x62, 0x61, 0x64, 0xff]);
    writeFileSync(pathOf(d.path, bad), '');
    const entries = scan(d.path);
    expect(entries.filter((e) => e.name !== undefined).map((e) => e.name).sort()).toEqual([...names].sort());
    expect(entries.find((e) => e.name === undefined)!.bytes).toEqual(bad);
    for (const e of entries) expectSameAsLstat(d.path, e);
  });

  it('an empty directory has no entries', () => {
    const d = tempDir();
    dirs.push(d);
    expect(scan(d.path)).toEqual([]);
  });

  it('a descriptor that is no directory fails as fs fails, when the scan is taken', () => {
    const d = tempDir();
    dirs.push(d);
    writeFileSync(join(d.path, 'file'), '');
    const fd = openSync(join(d.path, 'file'), constants.O_RDONLY);
    const pending = startScan(fd);
    expect(() => pending.finish()).toThrow(expect.objectContaining({ code: 'ENOTDIR', syscall: 'fdopendir' }));
  });
});
