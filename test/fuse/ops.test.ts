// Every FUSE operation through a real mount of MemFs, served by a child process.
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runAsNobody, serveMount, stopAllMounts, type ServedMount } from '../helpers/mount.js';

const SERVER = new URL('./fixtures/serve-memfs.ts', import.meta.url).pathname;
const PY = '/usr/bin/python3';

let m: ServedMount;
let mnt: string;
const p = (...parts: string[]) => join(mnt, ...parts);

async function py(code: string, ...args: string[]): Promise<string> {
  const r = await run(PY, ['-c', code, ...args], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`python failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

beforeAll(async () => {
  m = await serveMount(SERVER, { args: [JSON.stringify({ mount: { allowOther: true, attrTimeout: 0 } })] });
  mnt = m.mountpoint;
});

afterAll(async () => {
  await stopAllMounts();
});

describe('files and directories', () => {
  it('creates, writes, reads and stats a file', async () => {
    await fs.writeFile(p('hello.txt'), 'hello, tierfs\n');
    expect(await fs.readFile(p('hello.txt'), 'utf8')).toBe('hello, tierfs\n');
    const st = await fs.stat(p('hello.txt'));
    expect(st.isFile()).toBe(true);
    expect(st.size).toBe(14);
    expect(st.nlink).toBe(1);
    expect(st.mode & 0o777).toBe(0o644 & ~process.umask());
    // appending goes to the end the kernel knows
    await fs.appendFile(p('hello.txt'), 'more\n');
    expect(await fs.readFile(p('hello.txt'), 'utf8')).toBe('hello, tierfs\nmore\n');
  });

  it('lists a directory too large for one readdir reply, with types', async () => {
    await fs.mkdir(p('big'));
    const names = Array.from({ length: 300 }, (_, i) => `entry-with-a-long-name-${String(i).padStart(4, '0')}`);
    for (const n of names) await fs.writeFile(p('big', n), n);
    await fs.mkdir(p('big', 'sub'));
    const listed = await fs.readdir(p('big'), { withFileTypes: true });
    expect(listed.map((d) => d.name).sort()).toEqual([...names, 'sub'].sort());
    expect(listed.find((d) => d.name === 'sub')!.isDirectory()).toBe(true);
    // ls -l uses readdirplus and lstat on every entry
    const ls = await run('ls', ['-la', p('big')]);
    expect(ls.stdout.split('\n').filter((l) => l.includes('entry-with')).length).toBe(300);
  });

  it('answers errors with the right errno', async () => {
    await fs.mkdir(p('errs'));
    await fs.writeFile(p('errs', 'file'), 'x');
    await fs.mkdir(p('errs', 'full'));
    await fs.writeFile(p('errs', 'full', 'child'), 'x');
    await expect(fs.stat(p('errs', 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.mkdir(p('errs', 'full'))).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.open(p('errs', 'file'), fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.rmdir(p('errs', 'full'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await expect(fs.unlink(p('errs', 'full'))).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.writeFile(p('errs', 'full'), 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.rmdir(p('errs', 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(fs.stat(p('errs', 'file', 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await fs.mkdir(p('errs', 'empty'));
    await expect(fs.rename(p('errs', 'empty'), p('errs', 'full'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await expect(fs.rename(p('errs', 'file'), p('errs', 'empty'))).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.rename(p('errs', 'empty'), p('errs', 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(fs.readlink(p('errs', 'file'))).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('makes symlinks and hard links; a hard link shares the inode', async () => {
    await fs.mkdir(p('links'));
    await fs.writeFile(p('links', 'target'), 'linked');
    await fs.symlink('target', p('links', 'sym'));
    expect(await fs.readlink(p('links', 'sym'))).toBe('target');
    expect(await fs.readFile(p('links', 'sym'), 'utf8')).toBe('linked');
    expect((await fs.lstat(p('links', 'sym'))).isSymbolicLink()).toBe(true);
    await fs.link(p('links', 'target'), p('links', 'hard'));
    const [a, b] = await Promise.all([fs.stat(p('links', 'target')), fs.stat(p('links', 'hard'))]);
    expect(b.ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
    await fs.unlink(p('links', 'target'));
    expect(await fs.readFile(p('links', 'hard'), 'utf8')).toBe('linked');
    expect((await fs.stat(p('links', 'hard'))).nlink).toBe(1);
  });

  it('renames, and honours RENAME_NOREPLACE and RENAME_EXCHANGE', async () => {
    await fs.mkdir(p('mv'));
    await fs.writeFile(p('mv', 'a'), 'A');
    await fs.writeFile(p('mv', 'b'), 'B');
    const renameat2 = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
r = libc.renameat2(AT_FDCWD, sys.argv[1].encode(), AT_FDCWD, sys.argv[2].encode(), int(sys.argv[3]))
print(0 if r == 0 else os.strerror(ctypes.get_errno()))`;
    expect(await py(renameat2, p('mv', 'a'), p('mv', 'b'), '1')).toBe('File exists');
    expect(await py(renameat2, p('mv', 'a'), p('mv', 'b'), '2')).toBe('0');
    expect(await fs.readFile(p('mv', 'a'), 'utf8')).toBe('B');
    expect(await fs.readFile(p('mv', 'b'), 'utf8')).toBe('A');
    expect(await py(renameat2, p('mv', 'a'), p('mv', 'none'), '2')).toBe('No such file or directory');
    expect(await py(renameat2, p('mv', 'a'), p('mv', 'c'), '1')).toBe('0');
    await fs.rename(p('mv', 'c'), p('mv', 'b')); // replaces
    expect((await fs.readdir(p('mv'))).sort()).toEqual(['b']);
    expect(await fs.readFile(p('mv', 'b'), 'utf8')).toBe('B');
    await fs.mkdir(p('mv', 'dir'));
    await fs.rename(p('mv', 'b'), p('mv', 'dir', 'moved'));
    expect(await fs.readFile(p('mv', 'dir', 'moved'), 'utf8')).toBe('B');
  });

  it('changes mode, owner and size', async () => {
    await fs.writeFile(p('attrs'), 'abcdefgh');
    await fs.chmod(p('attrs'), 0o4751);
    expect((await fs.stat(p('attrs'))).mode & 0o7777).toBe(0o4751);
    await fs.chown(p('attrs'), 1234, 5678);
    const st = await fs.stat(p('attrs'));
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
    await fs.truncate(p('attrs'), 3);
    expect(await fs.readFile(p('attrs'), 'utf8')).toBe('abc');
    const fh = await fs.open(p('attrs'), 'r+');
    await fh.truncate(10); // ftruncate: setattr with the handle
    await fh.close();
    expect((await fs.stat(p('attrs'))).size).toBe(10);
  });

  it('sets atime and mtime independently, to the nanosecond (UTIME_OMIT, UTIME_NOW)', async () => {
    await fs.writeFile(p('times'), 'x');
    const f = p('times');
    // os.utime with ns= passes both; nanoseconds must survive the round trip
    await py('import os,sys; os.utime(sys.argv[1], ns=(1000000000123456789, 1100000000987654321))', f);
    let st = await fs.stat(f, { bigint: true });
    expect(st.atimeNs).toBe(1000000000123456789n);
    expect(st.mtimeNs).toBe(1100000000987654321n);
    // touch -a: atime set, mtime UTIME_OMIT
    await run('touch', ['-a', '-d', '@1200000000.5', f]);
    st = await fs.stat(f, { bigint: true });
    expect(st.atimeNs).toBe(1200000000500000000n);
    expect(st.mtimeNs).toBe(1100000000987654321n);
    // touch -m: mtime set, atime UTIME_OMIT
    await run('touch', ['-m', '-d', '@1300000000.25', f]);
    st = await fs.stat(f, { bigint: true });
    expect(st.atimeNs).toBe(1200000000500000000n);
    expect(st.mtimeNs).toBe(1300000000250000000n);
    // touch -m without a date: UTIME_NOW for mtime only
    const before = BigInt(Date.now() - 5000) * 1_000_000n;
    await run('touch', ['-m', f]);
    st = await fs.stat(f, { bigint: true });
    expect(st.mtimeNs > before).toBe(true);
    expect(st.atimeNs).toBe(1200000000500000000n);
  });

  it('sets, gets, lists and removes xattrs; a size-0 probe gets the size, a short buffer ERANGE', async () => {
    await fs.writeFile(p('xa'), '');
    const out = await py(
      `
import ctypes, os, sys
f = sys.argv[1]
os.setxattr(f, 'user.colour', b'blue-green')
os.setxattr(f, 'user.empty', b'')
try:
    os.setxattr(f, 'user.colour', b'x', os.XATTR_CREATE); print('create: no error')
except OSError as e: print('create:', e.errno)
try:
    os.setxattr(f, 'user.none', b'x', os.XATTR_REPLACE); print('replace: no error')
except OSError as e: print('replace:', e.errno)
print('get:', os.getxattr(f, 'user.colour').decode(), repr(os.getxattr(f, 'user.empty')))
print('list:', ','.join(sorted(os.listxattr(f))))
libc = ctypes.CDLL(None, use_errno=True)
libc.getxattr.restype = ctypes.c_ssize_t
print('probe:', libc.getxattr(f.encode(), b'user.colour', None, ctypes.c_size_t(0)))
buf = ctypes.create_string_buffer(4)
r = libc.getxattr(f.encode(), b'user.colour', buf, ctypes.c_size_t(4))
print('short:', r, ctypes.get_errno())
libc.listxattr.restype = ctypes.c_ssize_t
print('listprobe:', libc.listxattr(f.encode(), None, ctypes.c_size_t(0)))
r = libc.listxattr(f.encode(), buf, ctypes.c_size_t(4))
print('listshort:', r, ctypes.get_errno())
os.removexattr(f, 'user.colour')
try:
    os.getxattr(f, 'user.colour'); print('removed: still there')
except OSError as e: print('removed:', e.errno)
`,
      p('xa'),
    );
    expect(out.split('\n')).toEqual([
      'create: 17', // EEXIST
      'replace: 61', // ENODATA
      "get: blue-green b''",
      'list: user.colour,user.empty',
      'probe: 10',
      'short: -1 34', // ERANGE
      `listprobe: ${'user.colour\0user.empty\0'.length}`,
      'listshort: -1 34',
      'removed: 61',
    ]);
  });

  it('statfs, fsync, fallocate, mkfifo and copy_file_range', async () => {
    const sfs = await fs.statfs(mnt);
    expect(sfs.bsize).toBe(4096);
    expect(sfs.blocks).toBe(1 << 20);
    await fs.writeFile(p('src'), 'copy me please');
    const out = await py(
      `
import os, stat, sys
d = sys.argv[1]
fd = os.open(d + '/alloc', os.O_CREAT | os.O_RDWR, 0o644)
os.posix_fallocate(fd, 0, 8192); os.fsync(fd); os.fdatasync(fd)
print('alloc:', os.fstat(fd).st_size); os.close(fd)
os.mkfifo(d + '/fifo')
print('fifo:', stat.S_ISFIFO(os.stat(d + '/fifo').st_mode))
i = os.open(d + '/src', os.O_RDONLY); o = os.open(d + '/dst', os.O_CREAT | os.O_WRONLY, 0o644)
print('copied:', os.copy_file_range(i, o, 100)); os.close(i); os.close(o)
dfd = os.open(d, os.O_RDONLY); os.fsync(dfd); os.close(dfd)
`,
      mnt,
    );
    expect(out.split('\n')).toEqual(['alloc: 8192', 'fifo: True', 'copied: 14']);
    expect(await fs.readFile(p('dst'), 'utf8')).toBe('copy me please');
  });
});

describe('callers', () => {
  it('creates files and directories owned by the calling user (nobody), and the kernel checks permissions', async () => {
    await fs.mkdir(p('shared'), { mode: 0o777 });
    await fs.chmod(p('shared'), 0o777);
    expect((await runAsNobody('touch', [p('shared', 'mine')])).code).toBe(0);
    expect((await runAsNobody('mkdir', [p('shared', 'mydir')])).code).toBe(0);
    for (const name of ['mine', 'mydir']) {
      const st = await fs.stat(p('shared', name));
      expect([st.uid, st.gid]).toEqual([65534, 65534]);
    }
    await fs.writeFile(p('shared', 'roots'), 'x', { mode: 0o644 });
    const denied = await runAsNobody('sh', ['-c', `echo y > ${p('shared', 'roots')}`]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);
  });
});

describe('lookup counts', () => {
  it('readdirplus and lookups take references that forget gives back', async () => {
    await fs.mkdir(p('refs'));
    for (let i = 0; i < 50; i++) await fs.writeFile(p('refs', `f${i}`), 'x');
    await run('ls', ['-l', p('refs')]);
    const before = await m.command<{ referenced: number; forgotten: number }>('stats');
    expect(before.referenced).toBeGreaterThanOrEqual(50);
    // Make the kernel drop unused dentries and inodes: it sends FORGET for each.
    await fs.writeFile('/proc/sys/vm/drop_caches', '2');
    let after = await m.command<typeof before>('stats');
    for (const deadline = Date.now() + 5000; after.referenced !== 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 100));
      after = await m.command<typeof before>('stats');
    }
    expect(after.referenced).toBe(0);
    expect(after.forgotten).toBeGreaterThan(before.forgotten);
  });
});
