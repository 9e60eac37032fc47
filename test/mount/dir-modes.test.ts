// Directory modes users rely on, through a real mount shared with another user: a
// setgid directory hands its group down, a sticky one keeps others from removing
// what is not theirs. And a sparse file keeps its holes when it moves between tiers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { run } from '../helpers/mount.js';

let t: TierfsMount;
const m = (...p: string[]) => join(t.mnt, ...p);
const GROUP = 4242;
const OTHER = 4343;

/** A shell script as user OTHER (uid = gid = 4343, no other groups). */
const asOther = (script: string) => run('sh', ['-c', script], { user: OTHER });

beforeAll(async () => {
  t = await new TierfsMount({ allowOther: true }).start();
});
afterAll(async () => {
  await t?.dispose();
});

describe('setgid directories', () => {
  it('new files and directories take the directory group; subdirectories keep setgid', async () => {
    await fs.mkdir(m('sg'));
    await fs.chown(m('sg'), 0, GROUP);
    await fs.chmod(m('sg'), 0o2777);
    await fs.writeFile(m('sg', 'by-root'), 'x');
    const made = await asOther(`echo y > ${m('sg', 'by-other')} && mkdir ${m('sg', 'sub')}`);
    expect(made.code, made.stderr).toBe(0);
    const st = async (p: string) => {
      const s = await fs.stat(m('sg', p));
      return { uid: s.uid, gid: s.gid, setgid: (s.mode & 0o2000) !== 0 };
    };
    expect(await st('by-root')).toEqual({ uid: 0, gid: GROUP, setgid: false });
    expect(await st('by-other')).toEqual({ uid: OTHER, gid: GROUP, setgid: false });
    expect(await st('sub')).toEqual({ uid: OTHER, gid: GROUP, setgid: true });
    // The backing entries carry the same owner and group.
    expect(statSync(join(t.hot, 'sg', 'by-other')).gid).toBe(GROUP);
  });
});

describe('sticky directories', () => {
  it('others may not remove or rename away what is not theirs; owners may', async () => {
    await fs.mkdir(m('tmp'));
    await fs.chmod(m('tmp'), 0o1777);
    await fs.writeFile(m('tmp', 'roots'), 'r');
    await fs.chmod(m('tmp', 'roots'), 0o666); // writable by all: the sticky bit still guards its name
    const own = await asOther(`echo o > ${m('tmp', 'mine')} && mv ${m('tmp', 'mine')} ${m('tmp', 'mine2')} && rm ${m('tmp', 'mine2')}`);
    expect(own.code, own.stderr).toBe(0);
    const rm = await asOther(`rm -f ${m('tmp', 'roots')}`);
    expect(rm.stderr).toMatch(/Operation not permitted/);
    const mv = await asOther(`mv ${m('tmp', 'roots')} ${m('tmp', 'taken')}`);
    expect(mv.stderr).toMatch(/Operation not permitted/);
    expect(await fs.readFile(m('tmp', 'roots'), 'utf8')).toBe('r');
    // Writing its bytes is allowed (mode 666): sticky is about names only.
    const write = await asOther(`echo w > ${m('tmp', 'roots')}`);
    expect(write.code, write.stderr).toBe(0);
    // Without the sticky bit the same removal goes through.
    await fs.chmod(m('tmp'), 0o777);
    expect((await asOther(`rm -f ${m('tmp', 'roots')}`)).code).toBe(0);
  });
});

describe('holes', () => {
  it('a sparse file keeps its holes (st_blocks) and bytes across moves hot → warm → hot', async () => {
    const fh = await fs.open(m('sparse'), 'w');
    await fh.write(Buffer.alloc(4096, 1), 0, 4096, 0);
    await fh.write(Buffer.alloc(4096, 2), 0, 4096, 64 << 20); // 64 MiB of hole between
    await fh.close();
    // The holes are the backing file's: the mount's st_blocks is derived from the size
    // (src/fuse/adapter.ts), so only the tiers' copies can show them.
    const size = (await fs.stat(m('sparse'))).size;
    expect(size).toBe((64 << 20) + 4096);
    const blocks = statSync(join(t.hot, 'sparse')).blocks;
    expect(blocks * 512).toBeLessThan(1 << 20); // sparse on the hot tier
    for (const to of ['warm', 'hot']) {
      const r = await t.cli(['move', '--json', m('sparse'), '--to', to]);
      expect(JSON.parse(r.stdout)[0], r.stderr).toMatchObject({ state: 'done' });
      expect(statSync(join(to === 'warm' ? t.warm : t.hot, 'sparse')).blocks, `blocks of the copy on ${to}`).toBe(blocks);
      expect((await fs.stat(m('sparse'))).size).toBe(size);
    }
    const data = await fs.readFile(m('sparse'));
    expect(data.subarray(0, 4096).every((b) => b === 1)).toBe(true);
    expect(data.subarray(4096, 64 << 20).every((b) => b === 0)).toBe(true);
    expect(data.subarray(64 << 20).every((b) => b === 2)).toBe(true);
  });
});
