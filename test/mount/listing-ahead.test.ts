// A walk by name gets the next directory's first page of names read while it goes through
// the one before (vfs/listing-ahead.ts). What it is given is the directory as it is when
// it lists it: names created, removed or renamed there meanwhile, and a new '..' after the
// directory itself moved, are in its listing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount;
beforeAll(async () => {
  // Kernel caches short: every listing and path walk reaches the daemon.
  t = await new TierfsMount({ metrics: true, readdirplus: 'adaptive' }).start();
});
afterAll(async () => {
  await t?.dispose();
});

const readAhead = async () => ({
  used: await t.metric('tierfs_fuse_listings_read_ahead_total', { outcome: 'used' }),
  unused: await t.metric('tierfs_fuse_listings_read_ahead_total', { outcome: 'unused' }),
});

/**
 * One walker process (a caller: its first directory is listed with attributes, the next
 * ones by name) that lists the directory named on each line it reads, through libc's
 * readdir, and answers `name inode` of every entry, '.' and '..' too.
 */
function walker(): { list: (dir: string) => Promise<Map<string, number>>; close: () => void } {
  const py = `
import ctypes, ctypes.util, sys
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
class Dirent(ctypes.Structure):
    _fields_ = [('d_ino', ctypes.c_uint64), ('d_off', ctypes.c_int64), ('d_reclen', ctypes.c_ushort), ('d_type', ctypes.c_ubyte), ('d_name', ctypes.c_char * 256)]
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
for line in sys.stdin:
    d = libc.opendir(line.rstrip('\\n').encode())
    out = []
    while True:
        e = libc.readdir(d)
        if not e: break
        out.append('%s %d' % (e.contents.d_name.decode(), e.contents.d_ino))
    libc.closedir(d)
    print('/'.join(out), flush=True)
`;
  const child: ChildProcessWithoutNullStreams = spawn('python3', ['-c', py]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async list(dir) {
      child.stdin.write(`${dir}\n`);
      const { value } = await lines.next();
      return new Map((value as string).split('/').map((e) => [e.slice(0, e.lastIndexOf(' ')), Number(e.slice(e.lastIndexOf(' ') + 1))]));
    },
    close: () => child.kill(),
  };
}

const names = (listing: Map<string, number>) => [...listing.keys()].filter((n) => n !== '.' && n !== '..').sort();

it('the next directory of a walk is read ahead, and listed as it is when the walk gets there', { timeout: 60_000 }, async () => {
  const top = join(t.mnt, 'top');
  const other = join(t.mnt, 'other');
  fs.mkdirSync(other);
  for (let d = 0; d < 6; d++) {
    fs.mkdirSync(join(top, `d${d}`), { recursive: true });
    for (let f = 0; f < 20; f++) fs.writeFileSync(join(top, `d${d}`, `f${f}`), '');
  }
  const files = Array.from({ length: 20 }, (_, f) => `f${f}`).sort();
  const w = walker();
  try {
    await w.list(join(top, 'd0')); // the walker's first directory: listed with attributes
    // d1 by name: d2, the next subdirectory of top, is read ahead and used as it is.
    let before = await readAhead();
    expect(names(await w.list(join(top, 'd1')))).toEqual(files);
    expect(names(await w.list(join(top, 'd2')))).toEqual(files);
    let after = await readAhead();
    expect(after.used - before.used).toBe(1);

    // d3 was read ahead when d2 was listed: names made, removed and renamed in it since
    // are in its listing.
    fs.writeFileSync(join(top, 'd3', 'new'), '');
    fs.unlinkSync(join(top, 'd3', 'f3'));
    fs.renameSync(join(top, 'd3', 'f4'), join(top, 'd3', 'renamed'));
    before = after;
    const d3 = await w.list(join(top, 'd3'));
    expect(names(d3)).toEqual([...files.filter((f) => f !== 'f3' && f !== 'f4'), 'new', 'renamed'].sort());
    after = await readAhead();
    expect(after.used - before.used).toBe(0);
    expect(after.unused - before.unused).toBe(1);

    // d4 was read ahead when d3 was listed; then it moved under `other`: its '..' is `other`.
    fs.renameSync(join(top, 'd4'), join(other, 'd4'));
    const d4 = await w.list(join(other, 'd4'));
    expect(names(d4)).toEqual(files);
    expect(d4.get('..')).toBe(fs.statSync(other).ino);
    expect(d4.get('.')).toBe(fs.statSync(join(other, 'd4')).ino);

    // A walk that goes elsewhere than guessed still gets each directory as it is.
    expect(names(await w.list(join(top, 'd5')))).toEqual(files);
  } finally {
    w.close();
  }
});
