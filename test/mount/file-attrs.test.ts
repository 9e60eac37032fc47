// A regular file's attributes, answered by the binding: JavaScript hands them over with a
// lookup's or getattr's reply and after a writer's release, and drops them before it
// replies to anything that changes them (native/fuse/file-attrs.h). The mount keeps no
// attributes in the kernel (0 s) but keeps names (1 h): every stat here is a getattr that
// reaches the daemon, with no lookup before it whose reply would bring fresh attributes;
// whoever answers it, it must show the change just made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { exchangeNames } from '../helpers/mount.js';

let t: TierfsMount;
let cold: ReturnType<typeof tempDir>;
const m = (p: string) => join(t.mnt, p);

beforeAll(async () => {
  cold = tempDir('tierfs-file-attrs-cold-');
  t = await new TierfsMount({ metrics: true, entryTimeout: '1h', moreTiers: fsObjectTier(cold.path), extraYaml: 'cache: { memory: 0, disk: 0 }\n' }).start();
});
afterAll(async () => {
  await t?.dispose();
  cold?.remove();
});

const answeredNatively = () => t.metric('tierfs_fuse_file_attrs_answered_natively_total');
const stat = (p: string) => fs.stat(m(p), { bigint: true });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a file's attributes", () => {
  it('are answered by the binding once written and closed, and show the size and times the writes left', async () => {
    await fs.mkdir(m('w'));
    const before = await answeredNatively();
    for (let i = 0; i < 20; i++) await fs.writeFile(m(`w/f${i}`), 'x'.repeat(i));
    for (let i = 0; i < 20; i++) {
      const [a, b] = [await stat(`w/f${i}`), await stat(`w/f${i}`)];
      expect(a.size).toBe(BigInt(i));
      expect(b).toEqual(a);
    }
    expect((await answeredNatively()) - before).toBeGreaterThanOrEqual(20);
  });

  it('show every change made through the mount after they were handed over', async () => {
    await fs.writeFile(m('f'), 'hello');
    const first = await stat('f');
    await stat('f'); // the binding's

    await fs.chmod(m('f'), 0o600);
    expect((await stat('f')).mode & 0o7777n).toBe(0o600n);
    await fs.chown(m('f'), 4321, 4321);
    const owned = await stat('f');
    expect([owned.uid, owned.gid]).toEqual([4321n, 4321n]);
    await fs.utimes(m('f'), 1_000, 2_000);
    const times = await stat('f');
    expect([times.atimeMs, times.mtimeMs]).toEqual([1_000_000n, 2_000_000n]);
    await fs.truncate(m('f'), 2);
    expect((await stat('f')).size).toBe(2n);

    await fs.link(m('f'), m('f-link'));
    expect((await stat('f')).nlink).toBe(2n);
    await fs.unlink(m('f-link'));
    expect((await stat('f')).nlink).toBe(1n);

    const ctime = (await stat('f')).ctimeNs;
    await pause(20);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'x', m('f')]);
    expect((await stat('f')).ctimeNs).toBeGreaterThan(ctime);

    await fs.rename(m('f'), m('g'));
    expect((await stat('g')).ino).toBe(first.ino);
    await fs.appendFile(m('g'), 'abc');
    expect((await stat('g')).size).toBe(5n);
  });

  it('are not answered while the file is open for writing: a stat shows what the writes did so far', async () => {
    await fs.writeFile(m('open'), 'x');
    await stat('open');
    const h = await fs.open(m('open'), 'a');
    const before = await answeredNatively(); // the walk to the open may be the binding's
    try {
      for (let i = 1; i <= 5; i++) {
        await h.write('y'.repeat(100));
        expect((await stat('open')).size).toBe(BigInt(1 + 100 * i));
      }
      expect(await answeredNatively()).toBe(before);
    } finally {
      await h.close();
    }
    expect((await stat('open')).size).toBe(501n);
  });

  it('follow a move: the blocks of a file on an object tier are its size, not the local copy it had', async () => {
    await fs.writeFile(m('moving'), Buffer.alloc(5000, 7));
    const local = await stat('moving');
    await stat('moving');
    expect(local.blocks).toBeGreaterThanOrEqual(16n); // 8 KiB or more of ext4 blocks
    const r = await t.cli(['move', m('moving'), '--to', 'cold']);
    expect(r.code, r.stderr).toBe(0);
    const moved = await stat('moving');
    expect(moved.blocks).toBe(10n); // ceil(5000 / 512)
    expect({ ...moved, blocks: local.blocks }).toEqual(local);
  });
});

// Names: a lookup of a file's name the binding answers from a name it kept (an earlier
// lookup JavaScript answered, or a create) and the file's kept attributes. This mount
// keeps nothing in the kernel (0 s): every path walk looks every name up again. Its
// creates are JavaScript's: a directory handed over for creates would answer a missing
// name itself (create-grants.h), and what is tested here is that no kept name outlives
// its unlink or rename.
describe("a file's name", () => {
  let u: TierfsMount;
  const n = (p: string) => join(u.mnt, p);
  const lookups = () => u.metric('tierfs_fuse_file_lookups_answered_natively_total');
  const inoOf = async (p: string) => (await fs.stat(n(p), { bigint: true })).ino;
  beforeAll(async () => {
    u = await new TierfsMount({ metrics: true, nativeCreates: false }).start();
  });
  afterAll(async () => {
    await u?.dispose();
  });

  it('is answered by the binding once created or looked up, and stat shows the file', async () => {
    await fs.mkdir(n('d'));
    const before = await lookups();
    for (let i = 0; i < 20; i++) await fs.writeFile(n(`d/f${i}`), 'x'.repeat(i));
    for (let i = 0; i < 20; i++) expect((await fs.stat(n(`d/f${i}`))).size).toBe(i);
    expect((await lookups()) - before).toBeGreaterThanOrEqual(20);
  });

  it('follows unlinks, renames, links and a renamed directory at once', async () => {
    await fs.mkdir(n('e'));
    await fs.writeFile(n('e/a'), 'aa');
    await fs.writeFile(n('e/b'), 'bbb');
    const [a, b] = [await inoOf('e/a'), await inoOf('e/b')];
    await inoOf('e/a'); // the binding's

    // Each old name is looked up after the file's new name: its attributes are kept
    // again by then, and only the name's own drop keeps the old name from finding it.
    await fs.rename(n('e/a'), n('e/b')); // over b
    expect(await inoOf('e/b')).toBe(a);
    await expect(fs.stat(n('e/a'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(b).not.toBe(a);

    await fs.link(n('e/b'), n('e/c'));
    expect(await inoOf('e/c')).toBe(a);
    await fs.unlink(n('e/b'));
    expect((await fs.stat(n('e/c'))).nlink).toBe(1);
    await expect(fs.stat(n('e/b'))).rejects.toMatchObject({ code: 'ENOENT' });

    await fs.writeFile(n('e/b'), 'new'); // the same name, another file
    expect(await inoOf('e/b')).not.toBe(a);
    expect((await fs.stat(n('e/b'))).size).toBe(3);

    await fs.rename(n('e'), n('e2'));
    expect(await inoOf('e2/c')).toBe(a);
    await expect(fs.stat(n('e/c'))).rejects.toMatchObject({ code: 'ENOENT' });
    await fs.rm(n('e2'), { recursive: true });
    await expect(fs.stat(n('e2/c'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('is kept by a rename for the new name: the binding answers its next lookup, with the attributes the rename left', async () => {
    await fs.mkdir(n('r'));
    for (let i = 0; i < 10; i++) await fs.writeFile(n(`r/f${i}`), 'x'.repeat(i));
    const renamedAt: bigint[] = [];
    for (let i = 0; i < 10; i++) {
      renamedAt.push(BigInt(Date.now() - 1) * 1_000_000n);
      await fs.rename(n(`r/f${i}`), n(`r/g${i}`));
    }
    const before = await lookups();
    for (let i = 0; i < 10; i++) {
      const s = await fs.stat(n(`r/g${i}`), { bigint: true });
      expect(s.size).toBe(BigInt(i));
      expect(s.ctimeNs).toBeGreaterThanOrEqual(renamedAt[i]!); // a rename changes the file's ctime
    }
    // Each stat looked the new name up once (nothing kept in the kernel): the binding's every time.
    expect((await lookups()) - before).toBeGreaterThanOrEqual(10);
    await fs.chmod(n('r/g1'), 0o600);
    expect((await fs.stat(n('r/g1'))).mode & 0o777).toBe(0o600);

    // Renamed while open for writing: its attributes stay JavaScript's, which sees the writes.
    const h = await fs.open(n('r/w'), 'w');
    try {
      await h.write('12345');
      await fs.rename(n('r/w'), n('r/w2'));
      await h.write('67890');
      expect((await fs.stat(n('r/w2'))).size).toBe(10);
    } finally {
      await h.close();
    }
    expect((await fs.stat(n('r/w2'))).size).toBe(10);
  });

  it('follows an exchange (RENAME_EXCHANGE): each name finds the other file at once', async () => {
    await fs.mkdir(n('x'));
    await fs.writeFile(n('x/a'), 'aa');
    await fs.writeFile(n('x/b'), 'bbb');
    const [a, b] = [await inoOf('x/a'), await inoOf('x/b')];
    expect(await exchangeNames(n('x/a'), n('x/b'))).toBe(0);
    expect(await inoOf('x/b')).toBe(a);
    expect(await inoOf('x/a')).toBe(b);
    expect(await fs.readFile(n('x/b'), 'utf8')).toBe('aa');
    expect(await fs.readFile(n('x/a'), 'utf8')).toBe('bbb');
  });

  it('exchanges two directories: each name finds the files of the other, which read as before', async () => {
    await fs.mkdir(n('xd/one'), { recursive: true });
    await fs.mkdir(n('xd/two/sub'), { recursive: true });
    await fs.writeFile(n('xd/one/f'), 'of one');
    await fs.writeFile(n('xd/two/sub/g'), 'of two');
    expect(await exchangeNames(n('xd/one'), n('xd/two'))).toBe(0);
    expect(await fs.readFile(n('xd/two/f'), 'utf8')).toBe('of one');
    expect(await fs.readFile(n('xd/one/sub/g'), 'utf8')).toBe('of two');
    await fs.appendFile(n('xd/two/f'), ', still');
    expect(await fs.readFile(n('xd/two/f'), 'utf8')).toBe('of one, still');
    expect(await fs.readdir(n('xd/two'))).toEqual(['f']);
  });

  it('is never the file an unlink just removed, while another process looks the name up without pause', async () => {
    await fs.mkdir(n('race'));
    // Revalidating lookups of the name run beside the unlinks (the kernel takes no lock of the directory for them).
    const prober = spawn('sh', ['-c', `cd ${n('race')} && while :; do stat -c %i r >/dev/null 2>&1; done`], { stdio: 'ignore' });
    try {
      for (let i = 1; i <= 150; i++) {
        await fs.writeFile(n('race/r'), 'x'.repeat(i));
        const s = await fs.stat(n('race/r'));
        expect(s.size).toBe(i);
        await fs.unlink(n('race/r'));
        await expect(fs.stat(n('race/r'))).rejects.toMatchObject({ code: 'ENOENT' });
      }
    } finally {
      prober.kill();
    }
  });

  it('is still answered after the kernel forgot its inodes (the references it gave are given back)', async () => {
    await fs.mkdir(n('forgotten'));
    for (let i = 0; i < 50; i++) await fs.writeFile(n(`forgotten/f${i}`), 'y');
    for (let i = 0; i < 50; i++) await fs.stat(n(`forgotten/f${i}`));
    execFileSync('sh', ['-c', 'sync; echo 2 > /proc/sys/vm/drop_caches']);
    const before = await lookups();
    for (let i = 0; i < 50; i++) expect((await fs.stat(n(`forgotten/f${i}`))).size).toBe(1);
    // What the binding keeps outlives the kernel's forgets: only a change drops it.
    expect((await lookups()) - before).toBeGreaterThanOrEqual(50);
    expect(await fs.readFile(n('forgotten/f7'), 'utf8')).toBe('y');
  });
});
