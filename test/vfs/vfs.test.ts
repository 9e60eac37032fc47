// The vfs's semantics without a mount: namespace, placement, backing files, reconcile.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { TierSet } from '../../src/tiers/tier-set.js';
import { AccessRecorder } from '../../src/vfs/access-recorder.js';
import { RENAME_EXCHANGE, RENAME_NOREPLACE, Vfs } from '../../src/vfs/vfs.js';
import { reconcile } from '../../src/vfs/reconcile.js';
import { entriesOf } from '../helpers/joined-names.js';
import { tempDir } from '../helpers/tmp.js';

const caller = { uid: 1000, gid: 1000, pid: 1 };
const O_RDWR = fs.constants.O_RDWR;

function tier(name: string, path: string, capacity?: number) {
  return new LocalTier({ name, kind: 'local', volumes: [{ path }], capacity, watermarks: { high: 0.9, low: 0.75 } });
}

const locals = (...tiers: LocalTier[]) => new TierSet(tiers.map((local) => ({ kind: 'local' as const, name: local.name, local })));

describe('vfs over local tiers', () => {
  let dir: ReturnType<typeof tempDir>;
  let catalog: Catalog;
  let hot: LocalTier;
  let warm: LocalTier;
  let vfs: Vfs;
  let recorder: AccessRecorder;

  beforeEach(() => {
    dir = tempDir();
    catalog = new Catalog(join(dir.path, 'catalog.db'));
    hot = tier('hot', join(dir.path, 'hot'));
    warm = tier('warm', join(dir.path, 'warm'));
    recorder = new AccessRecorder(catalog, { enabled: true, flushIntervalMs: 10_000, logMaxRows: 100 });
    vfs = new Vfs(catalog, locals(hot, warm), recorder);
  });
  afterEach(() => {
    vfs.closeAll();
    catalog.close();
    dir.remove();
  });

  async function writeFile(parent: number, name: string, data: string) {
    const h = await vfs.create(caller, parent, name, 0o644, O_RDWR);
    await vfs.write(h.fh, Buffer.from(data), 0);
    vfs.release(h.fh);
    return h.ino;
  }

  it('creates files as plain files at the same path, owned by the caller', async () => {
    const d = vfs.mkdir(caller, ROOT_INO, 'docs', 0o755);
    const ino = await writeFile(d.ino, 'a.txt', 'hello');
    const i = vfs.getattr(ino);
    expect(i.size).toBe(5);
    expect(i.tier).toBe('hot');
    expect(i.uid).toBe(1000);
    expect(fs.readFileSync(join(dir.path, 'hot', 'docs', 'a.txt'), 'utf8')).toBe('hello');
    expect(fs.statSync(join(dir.path, 'hot', 'docs', 'a.txt')).uid).toBe(1000);
    expect(vfs.getattr(ROOT_INO).nlink).toBe(3);
  });

  it('moves backing files with renames of files and directories', async () => {
    const a = vfs.mkdir(caller, ROOT_INO, 'a', 0o755);
    const b = vfs.mkdir(caller, a.ino, 'b', 0o755);
    const f = await writeFile(b.ino, 'f', 'x');
    vfs.rename(ROOT_INO, 'a', ROOT_INO, 'z', 0);
    expect(fs.readFileSync(join(dir.path, 'hot', 'z', 'b', 'f'), 'utf8')).toBe('x');
    expect(vfs.getattr(f).dataPath).toBe('z/b/f');
    vfs.rename(b.ino, 'f', ROOT_INO, 'g', 0);
    expect(vfs.getattr(f).dataPath).toBe('g');
    expect(fs.existsSync(join(dir.path, 'hot', 'g'))).toBe(true);
  });

  it('renames over an existing file and honours NOREPLACE and EXCHANGE', async () => {
    const x = await writeFile(ROOT_INO, 'x', 'xx');
    const y = await writeFile(ROOT_INO, 'y', 'yyy');
    expect(() => vfs.rename(ROOT_INO, 'x', ROOT_INO, 'y', RENAME_NOREPLACE)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    vfs.rename(ROOT_INO, 'x', ROOT_INO, 'y', RENAME_EXCHANGE);
    expect(vfs.lookup(ROOT_INO, 'y').ino).toBe(x);
    expect(fs.readFileSync(join(dir.path, 'hot', 'y'), 'utf8')).toBe('xx');
    expect(fs.readFileSync(join(dir.path, 'hot', 'x'), 'utf8')).toBe('yyy');
    vfs.rename(ROOT_INO, 'x', ROOT_INO, 'y', 0);
    expect(vfs.lookup(ROOT_INO, 'y').ino).toBe(y);
    expect(() => vfs.getattr(x)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(fs.readdirSync(join(dir.path, 'hot'))).toEqual(['y']);
  });

  it('refuses to move a directory below itself, or onto a non-empty one', async () => {
    const a = vfs.mkdir(caller, ROOT_INO, 'a', 0o755);
    vfs.mkdir(caller, a.ino, 'b', 0o755);
    const c = vfs.mkdir(caller, ROOT_INO, 'c', 0o755);
    await writeFile(c.ino, 'f', '1');
    expect(() => vfs.rename(ROOT_INO, 'a', a.ino, 'x', 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => vfs.rename(ROOT_INO, 'a', ROOT_INO, 'c', 0)).toThrow(expect.objectContaining({ code: 'ENOTEMPTY' }));
    expect(() => vfs.rmdir(ROOT_INO, 'c')).toThrow(expect.objectContaining({ code: 'ENOTEMPTY' }));
  });

  it('keeps hard links as hard links on the volume, and the file until its last name goes', async () => {
    const f = await writeFile(ROOT_INO, 'one', 'data');
    vfs.link(f, ROOT_INO, 'two');
    expect(fs.statSync(join(dir.path, 'hot', 'two')).ino).toBe(fs.statSync(join(dir.path, 'hot', 'one')).ino);
    vfs.unlink(ROOT_INO, 'one');
    expect(vfs.getattr(f).nlink).toBe(1);
    expect(vfs.getattr(f).dataPath).toBe('two');
    const h = await vfs.open(f, O_RDWR);
    vfs.unlink(ROOT_INO, 'two');
    expect((await vfs.read(h.fh, 10, 0)).toString()).toBe('data'); // open and unlinked: still readable
    vfs.release(h.fh);
    expect(() => vfs.getattr(f)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('places new files on the next tier when the first is above its high watermark', async () => {
    const small = tier('hot', join(dir.path, 'hot2'), 100);
    const v2 = new Vfs(catalog, locals(small, warm), recorder);
    const a = await (async () => {
      const h = await v2.create(caller, ROOT_INO, 'big', 0o644, O_RDWR);
      await v2.write(h.fh, Buffer.alloc(95), 0);
      v2.release(h.fh);
      return h.ino;
    })();
    expect(v2.getattr(a).tier).toBe('hot');
    const h = await v2.create(caller, ROOT_INO, 'next', 0o644, O_RDWR);
    v2.release(h.fh);
    expect(v2.getattr(h.ino).tier).toBe('warm');
  });

  it('stores user xattrs and shows the tier as a read-only virtual one', async () => {
    const f = await writeFile(ROOT_INO, 'f', '');
    vfs.setxattr(caller, f, 'user.color', Buffer.from('blue'), 0);
    expect(vfs.getxattr(f, 'user.color').toString()).toBe('blue');
    expect(vfs.getxattr(f, 'user.tierfs.tier').toString()).toBe('hot');
    expect(vfs.listxattr(caller, f)).toEqual(['user.color', 'user.tierfs.tier']);
    expect(() => vfs.setxattr(caller, f, 'user.tierfs.tier', Buffer.from('warm'), 0)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(() => vfs.setxattr(caller, f, 'user.color', Buffer.from('red'), 1)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => vfs.removexattr(caller, f, 'user.none')).toThrow(expect.objectContaining({ code: 'ENODATA' }));
  });

  it('pages a directory by cookie: current attributes, any cookie resumable, entries that stay listed once', async () => {
    const d = vfs.mkdir(caller, ROOT_INO, 'd', 0o755);
    for (let k = 0; k < 20; k++) await writeFile(d.ino, `f${k}`, '');
    const fh = vfs.opendir(d.ino);
    const first = entriesOf(vfs.readdir(d.ino, fh, 0, 7));
    expect(first.map((e) => e[1]).slice(0, 2)).toEqual(['.', '..']);
    expect(first).toHaveLength(7);
    // readdirplus: the same page with attributes as of each call, not of opendir.
    const f0 = vfs.lookup(d.ino, 'f0');
    await vfs.setattr(f0.ino, { mode: 0o600 });
    // Times to the nanosecond, one of them before 1970 (readdirplus reads them in two parts).
    await vfs.setattr(f0.ino, { atimeNs: -1_500_000_001n, mtimeNs: 1_764_600_000_123_456_789n });
    const plus = (offset = 0) => vfs.readdirPlus(d.ino, fh, offset, 7);
    const g = vfs.getattr(f0.ino);
    const ns = (s: number, n: number) => BigInt(s) * 1_000_000_000n + BigInt(n);
    const [cookie0, , ino, mode, nlink, uid, gid, rdev, size, blocks, aS, aN, mS, mN, cS, cN, stored] = plus().find((r) => r[1] === 'f0')!;
    expect({ ino, mode, nlink, uid, gid, rdev, size, blocks, atimeNs: ns(aS, aN), mtimeNs: ns(mS, mN), ctimeNs: ns(cS, cN), stored }).toEqual({
      ino: g.ino, mode: 0o100600, nlink: g.nlink, uid: g.uid, gid: g.gid, rdev: g.rdev, size: g.size, blocks: g.blocks,
      atimeNs: -1_500_000_001n, mtimeNs: 1_764_600_000_123_456_789n, ctimeNs: g.ctimeNs, stored: 0,
    });
    expect(plus().map((r) => [r[0], r[1], r[2], r[3] & 0o170000])).toEqual(first.map((e) => [e[0], e[1], e[2], e[3] & 0o170000]));
    expect(entriesOf(vfs.readdir(d.ino, fh, 0, 7)).find((e) => e[1] === 'f0')).toEqual([cookie0, 'f0', f0.ino, 0o100000]); // names: the type alone
    // Whether an entry has xattrs stored goes with it (the binding answers getxattr for those without).
    vfs.setxattr(caller, f0.ino, 'user.k', Buffer.from('v'), 0);
    expect(plus().find((r) => r[1] === 'f0')![16]).toBe(1);
    expect([vfs.lookup(d.ino, 'f0').storedXattrs, vfs.lookup(d.ino, 'f1').storedXattrs]).toEqual([true, false]);
    vfs.removexattr(caller, f0.ino, 'user.k');
    expect(vfs.lookup(d.ino, 'f0').storedXattrs).toBe(false);
    // A file open for writing is listed with its size as written so far, as getattr has it.
    const w = await vfs.open(f0.ino, fs.constants.O_WRONLY);
    await vfs.write(w.fh, Buffer.from('grown'), 0);
    expect(plus().find((r) => r[1] === 'f0')![8]).toBe(5);
    vfs.release(w.fh);
    // Changes between pages: removed entries go, new ones may come, the rest appear once.
    const cookie = first.at(-1)![0];
    vfs.unlink(d.ino, 'f10');
    await writeFile(d.ino, 'late', '');
    const rest: string[] = [];
    for (let c = cookie; ; ) {
      const page = entriesOf(vfs.readdir(d.ino, fh, c, 4));
      if (page.length === 0) break;
      rest.push(...page.map((e) => e[1]));
      c = page.at(-1)![0];
    }
    const all = [...first.map((e) => e[1]), ...rest];
    expect(new Set(all).size).toBe(all.length);
    expect(all.filter((n) => n.startsWith('f')).sort()).toEqual(
      Array.from({ length: 20 }, (_, k) => `f${k}`).filter((n) => n !== 'f10').sort(),
    );
    // Returning to a cookie given out earlier gives the same entries from there.
    expect(entriesOf(vfs.readdir(d.ino, fh, first[3]![0], 3)).map((e) => e[1])).toEqual(first.slice(4, 7).map((e) => e[1]));
    vfs.releasedir(fh);
    expect(() => vfs.readdir(d.ino, fh, 0, 5)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('lets only the owner (or root) pin or unpin', async () => {
    const f = await writeFile(ROOT_INO, 'f', '');
    const other = { uid: 2000, gid: 2000, pid: 1 };
    const root = { uid: 0, gid: 0, pid: 1 };
    expect(() => vfs.setxattr(other, f, 'user.tierfs.pin', Buffer.from('warm'), 0)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    vfs.setxattr(caller, f, 'user.tierfs.pin', Buffer.from('warm'), 0);
    expect(() => vfs.removexattr(other, f, 'user.tierfs.pin')).toThrow(expect.objectContaining({ code: 'EPERM' }));
    vfs.removexattr(root, f, 'user.tierfs.pin');
    vfs.setxattr(root, f, 'user.tierfs.pin', Buffer.from('warm'), 0);
    expect(vfs.getxattr(f, 'user.tierfs.pin').toString()).toBe('warm');
    // Other user.* names stay the kernel's business (write permission).
    vfs.setxattr(other, f, 'user.note', Buffer.from('x'), 0);
  });

  it('keeps a name whose backing file cannot be removed (the backing goes first, the name after)', async () => {
    const d = vfs.mkdir(caller, ROOT_INO, 'd', 0o755);
    await writeFile(d.ino, 'f', 'keep');
    // Something the daemon cannot unlink where the backing file was: unlink fails.
    const backing = join(dir.path, 'hot', 'd', 'f');
    fs.rmSync(backing);
    fs.mkdirSync(join(backing, 'sub'), { recursive: true });
    // The backing file's own error: a directory stands where the file was.
    expect(() => vfs.unlink(d.ino, 'f')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(vfs.lookup(d.ino, 'f').ino).toBeGreaterThan(0);
  });

  it('leaves a replaced file whole when the backing rename fails', async () => {
    // The target lives on warm (hot was full when it was written), the source on hot.
    const small = tier('hot', join(dir.path, 'hot'), 100);
    const v2 = new Vfs(catalog, locals(small, warm), recorder);
    const d = v2.mkdir(caller, ROOT_INO, 'd', 0o755);
    const filler = await v2.create(caller, ROOT_INO, 'filler', 0o644, O_RDWR);
    await v2.write(filler.fh, Buffer.alloc(95), 0);
    v2.release(filler.fh);
    const target = await v2.create(caller, d.ino, 't', 0o644, O_RDWR);
    await v2.write(target.fh, Buffer.from('precious'), 0);
    v2.release(target.fh);
    expect(v2.getattr(target.ino).tier).toBe('warm');
    v2.unlink(ROOT_INO, 'filler');
    const src = await v2.create(caller, ROOT_INO, 's', 0o644, O_RDWR);
    v2.release(src.fh);
    expect(v2.getattr(src.ino).tier).toBe('hot');
    // The source's volume cannot get the directory the new name needs (mkdir made it there: replace it).
    fs.rmdirSync(join(dir.path, 'hot', 'd'));
    fs.writeFileSync(join(dir.path, 'hot', 'd'), 'in the way');
    // The backing rename's own error: a file stands where the directory should be.
    expect(() => v2.rename(ROOT_INO, 's', d.ino, 't', 0)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(v2.lookup(d.ino, 't').ino).toBe(target.ino);
    expect(fs.readFileSync(join(dir.path, 'warm', 'd', 't'), 'utf8')).toBe('precious');
    expect(v2.lookup(ROOT_INO, 's').ino).toBe(src.ino);
    v2.closeAll();
  });

  it('gives back the descriptor and the writer mark of an open that fails after taking them', async () => {
    const f = await writeFile(ROOT_INO, 'f', 'some bytes');
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const spy = vi.spyOn(catalog, 'updateData').mockImplementation(() => {
      throw new Error('database or disk is full');
    });
    try {
      await expect(vfs.open(f, O_RDWR | fs.constants.O_TRUNC)).rejects.toThrow(/disk is full/);
    } finally {
      spy.mockRestore();
    }
    expect(vfs.isOpenForWrite(f)).toBe(false);
    expect(fds()).toBe(before);
  });

  it('keeps .tierfs-tmp at the root out of the namespace', async () => {
    expect(() => vfs.mkdir(caller, ROOT_INO, '.tierfs-tmp', 0o755)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    await expect(vfs.create(caller, ROOT_INO, '.tierfs-tmp', 0o644, O_RDWR)).rejects.toMatchObject({ code: 'EPERM' });
    expect(() => vfs.lookup(ROOT_INO, '.tierfs-tmp')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => vfs.rmdir(ROOT_INO, '.tierfs-tmp')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const d = vfs.mkdir(caller, ROOT_INO, 'd', 0o755);
    expect(vfs.mkdir(caller, d.ino, '.tierfs-tmp', 0o755).ino).toBeGreaterThan(0);
  });

  it('records opens and reads, and bounds the log', async () => {
    const f = await writeFile(ROOT_INO, 'f', 'abcdef');
    const h = await vfs.open(f, fs.constants.O_RDONLY);
    await vfs.read(h.fh, 3, 2);
    vfs.release(h.fh);
    recorder.flush();
    const s = catalog.accessStats(f)!;
    expect(s.opens).toBe(2); // the create, then the open
    expect(s.reads).toBe(1);
    expect(s.readBytes).toBe(3);
    expect(s.writes).toBe(1);
    const traced = () => catalog.tracePage(0, 0, catalog.lastAccessId(), 1_000_000);
    const rows = traced();
    expect(rows.map((r) => r.op)).toEqual(['open', 'write', 'open', 'read']);
    expect(rows[3]).toMatchObject({ path: 'f', offset: 2, length: 3, size: 6 });
    const h2 = await vfs.open(f, fs.constants.O_RDONLY);
    for (let i = 0; i < 150; i++) await vfs.read(h2.fh, 1, i % 6);
    vfs.release(h2.fh);
    recorder.flush();
    expect(traced()).toHaveLength(100); // logMaxRows
    expect(catalog.accessStats(f)!.reads).toBe(151); // the counts are not bounded
  });
});

describe('reconcile', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  it('imports existing files, keeps hard links, reports duplicates and missing bytes', () => {
    const hotDir = join(dir.path, 'hot');
    const warmDir = join(dir.path, 'warm');
    fs.mkdirSync(join(hotDir, 'p', 'q'), { recursive: true });
    fs.mkdirSync(join(warmDir, 'p'), { recursive: true });
    fs.writeFileSync(join(hotDir, 'p', 'q', 'a'), 'A');
    fs.linkSync(join(hotDir, 'p', 'q', 'a'), join(hotDir, 'p', 'a-link'));
    fs.writeFileSync(join(warmDir, 'p', 'b'), 'BB');
    fs.writeFileSync(join(warmDir, 'p', 'a-link'), 'dup');
    fs.symlinkSync('q/a', join(hotDir, 'p', 'sym'));
    const catalog = new Catalog(join(dir.path, 'c.db'));
    const tiers = [tier('hot', hotDir), tier('warm', warmDir)];
    const vfs = new Vfs(catalog, locals(...tiers), new AccessRecorder(catalog, { enabled: false, flushIntervalMs: 1, logMaxRows: 0 }));
    const r = reconcile(catalog, tiers);
    expect(r.duplicates).toBe(1);
    const p = vfs.lookup(ROOT_INO, 'p');
    const a = vfs.lookup(vfs.lookup(p.ino, 'q').ino, 'a');
    expect(vfs.lookup(p.ino, 'a-link').ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
    expect(vfs.lookup(p.ino, 'b')).toMatchObject({ tier: 'warm', size: 2 });
    expect(vfs.readlink(vfs.lookup(p.ino, 'sym').ino)).toBe('q/a');
    expect(catalog.conflicts()).toEqual([expect.objectContaining({ path: 'p/a-link', kind: 'duplicate' })]);

    // A second pass changes nothing; a file changed behind tierfs's back is picked up; a lost one is reported.
    fs.writeFileSync(join(warmDir, 'p', 'b'), 'BBBB');
    fs.rmSync(join(hotDir, 'p', 'q', 'a'));
    fs.rmSync(join(hotDir, 'p', 'a-link'));
    const r2 = reconcile(catalog, tiers);
    expect(r2).toMatchObject({ imported: 0, updated: 1, missing: 1 });
    expect(vfs.lookup(p.ino, 'b').size).toBe(4);
    expect(vfs.getattr(a.ino).state).toBe('missing');
    // Its bytes back where the catalog keeps them: no longer missing, the report cleared.
    fs.writeFileSync(join(hotDir, catalog.getInode(a.ino)!.dataPath!), 'A');
    expect(reconcile(catalog, tiers)).toMatchObject({ missing: 0 });
    expect(vfs.getattr(a.ino).state).toBe('ok');
    expect(catalog.conflicts().filter((c) => c.kind === 'missing')).toEqual([]);
    catalog.close();
  });

  // Each directory is scanned on a native thread while the one before it is compared with
  // the catalog (and a large one is stat-ed on several threads): every entry is still
  // met once, under its own directory.
  it('imports a tree of sibling and nested directories, a large one among them, and finds a change deep in it', () => {
    const hotDir = join(dir.path, 'hot');
    const expected = new Map<string, number>();
    for (let d = 0; d < 4; d++) {
      for (const sub of ['', '/x', '/x/y']) {
        const rel = `d${d}${sub}`;
        fs.mkdirSync(join(hotDir, rel), { recursive: true });
        const count = d === 2 && sub === '/x' ? 1500 : 3;
        for (let i = 0; i < count; i++) {
          fs.writeFileSync(join(hotDir, rel, `f${i}`), 'z'.repeat((d + i) % 7));
          expected.set(`${rel}/f${i}`, (d + i) % 7);
        }
      }
    }
    const catalog = new Catalog(join(dir.path, 'c.db'));
    const tiers = [tier('hot', hotDir)];
    const vfs = new Vfs(catalog, locals(...tiers), new AccessRecorder(catalog, { enabled: false, flushIntervalMs: 1, logMaxRows: 0 }));
    expect(reconcile(catalog, tiers)).toMatchObject({ imported: expected.size + 12, duplicates: 0, missing: 0 });
    const lookupPath = (path: string) => path.split('/').reduce((ino, name) => vfs.lookup(ino, name).ino, ROOT_INO);
    for (const [path, size] of expected) expect(vfs.getattr(lookupPath(path))).toMatchObject({ size, tier: 'hot' });
    fs.writeFileSync(join(hotDir, 'd3/x/y/f1'), 'longer than before');
    expect(reconcile(catalog, tiers)).toMatchObject({ imported: 0, updated: 1, missing: 0 });
    expect(vfs.getattr(lookupPath('d3/x/y/f1')).size).toBe(18);
    catalog.close();
  });

  it('drops a file unlinked while open whose daemon died before the last close; a cold one\'s objects go to the garbage list', () => {
    const catalog = new Catalog(join(dir.path, 'c.db'));
    const t = 1_000_000_000n;
    const attrs = { mode: 0o100644, uid: 0, gid: 0, nlink: 0, rdev: 0, size: 5, atimeNs: t, mtimeNs: t, ctimeNs: t, volume: null, dataPath: null, target: null };
    const layout = JSON.stringify({ tier: 'cold', fileId: 'f1', size: 5 });
    const cold = catalog.createInode({ ...attrs, tier: 'cold', layout });
    const local = catalog.createInode({ ...attrs, tier: 'hot', volume: join(dir.path, 'hot') });
    expect(reconcile(catalog, [tier('hot', join(dir.path, 'hot'))]).orphansRemoved).toBe(2);
    expect(catalog.getInode(cold)).toBeUndefined();
    expect(catalog.getInode(local)).toBeUndefined();
    expect(catalog.garbage().map((g) => ({ ino: g.ino, tier: g.tier, location: JSON.parse(g.location) }))).toEqual([
      { ino: cold, tier: 'cold', location: { layout: JSON.parse(layout) } },
    ]);
    catalog.close();
  });
});
