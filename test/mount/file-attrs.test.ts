// A regular file's attributes, answered by the binding: JavaScript hands them over with a
// lookup's or getattr's reply and after a writer's release, and drops them before it
// replies to anything that changes them (native/fuse/file-attrs.h). The mount keeps no
// attributes in the kernel (0 s) but keeps names (1 h): every stat here is a getattr that
// reaches the daemon, with no lookup before it whose reply would bring fresh attributes;
// whoever answers it, it must show the change just made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

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
