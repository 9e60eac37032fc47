// Names that do not exist are remembered by the kernel (negative entries) for
// mount.negativeTimeout: a search path probed again and again stays in the kernel. Names
// appear only through the mount, so what the mount creates is seen at once all the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

const lookups = (t: TierfsMount) => t.metric('tierfs_fuse_requests_total', { op: 'lookup' });

/** Lookups of `name` (missing) that reached the daemon when it is stat-ed `times` times. */
async function lookupsOfMissing(t: TierfsMount, name: string, times: number): Promise<number> {
  const before = await lookups(t);
  for (let i = 0; i < times; i++) expect(existsSync(join(t.mnt, name))).toBe(false);
  return (await lookups(t)) - before;
}

describe.each([
  ['60s', true],
  ['0s', false],
])('mount.negativeTimeout %s', (timeout, remembered) => {
  let t: TierfsMount;
  beforeAll(async () => {
    t = new TierfsMount({ metrics: true });
    const yaml = await fs.readFile(t.configFile, 'utf8');
    await fs.writeFile(t.configFile, yaml.replace('mount:\n', `mount:\n  negativeTimeout: ${timeout}\n`));
    await t.start();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it(remembered ? 'a missing name probed 50 times reaches the daemon once' : 'every probe of a missing name reaches the daemon', async () => {
    expect(await lookupsOfMissing(t, 'probe', 50)).toBe(remembered ? 1 : 50);
  });

  it('what the mount creates, renames, links or removes is seen at once in place of a remembered absence', async () => {
    const m = (p: string) => join(t.mnt, p);
    for (const name of ['new', 'dir', 'renamed', 'link', 'sym']) expect(existsSync(m(name))).toBe(false);
    await fs.writeFile(m('new'), 'one');
    expect(await fs.readFile(m('new'), 'utf8')).toBe('one');
    await fs.mkdir(m('dir'));
    expect((await fs.stat(m('dir'))).isDirectory()).toBe(true);
    await fs.rename(m('new'), m('renamed'));
    expect(existsSync(m('new'))).toBe(false);
    expect(await fs.readFile(m('renamed'), 'utf8')).toBe('one');
    await fs.link(m('renamed'), m('link'));
    await fs.symlink('renamed', m('sym'));
    expect(await fs.readFile(m('link'), 'utf8')).toBe('one');
    expect(await fs.readFile(m('sym'), 'utf8')).toBe('one');
    await fs.unlink(m('renamed'));
    expect(existsSync(m('renamed'))).toBe(false);
    // Inside a directory made after its name was remembered as missing.
    expect(existsSync(m('dir/inner'))).toBe(false);
    await fs.writeFile(m('dir/inner'), 'two');
    expect(await fs.readFile(m('dir/inner'), 'utf8')).toBe('two');
  });
});
