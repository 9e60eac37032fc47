// setuid and setgid do not survive a write or truncate by another user, as on a
// local filesystem — also with direct I/O (pageCache: none), where the kernel
// leaves clearing them to the filesystem. Long cache timeouts: the kernel's
// cached mode must be refreshed too (exec trusts it).
import * as fs from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TierfsMount } from '../helpers/tierfs.js';
import { run, runAsNobody } from '../helpers/mount.js';

let t: TierfsMount;
const m = (name: string) => join(t.mnt, name);

beforeAll(async () => {
  t = await new TierfsMount({ allowOther: true, pageCache: 'none', cacheTimeout: '60s' }).start();
});
afterAll(async () => {
  await t?.dispose();
});

/** A root-owned file with this mode (written, then chmod: the umask must not take bits away). */
async function rootFile(name: string, mode: number): Promise<void> {
  await fs.writeFile(m(name), 'original');
  await fs.chmod(m(name), mode);
}

/** The mode as the kernel reports it (statx asks for the mode only) and as the backing file has it. */
async function modes(name: string): Promise<{ mount: string; backing: string }> {
  const r = await run('stat', ['-c', '%a', m(name)]);
  return { mount: r.stdout.trim(), backing: (statSync(join(t.hot, name)).mode & 0o7777).toString(8) };
}

async function asNobody(script: string): Promise<void> {
  const r = await runAsNobody('sh', ['-c', script]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

describe('kill setuid/setgid (direct I/O)', () => {
  it('a write by another user clears setuid and setgid', async () => {
    await rootFile('w', 0o6777);
    expect(await modes('w')).toEqual({ mount: '6777', backing: '6777' });
    await asNobody(`printf more >> ${m('w')}`);
    expect(await modes('w')).toEqual({ mount: '777', backing: '777' });
    expect(await fs.readFile(m('w'), 'utf8')).toBe('originalmore');
  });

  it('a write by root keeps them', async () => {
    await rootFile('r', 0o6777);
    await fs.appendFile(m('r'), 'more');
    expect(await modes('r')).toEqual({ mount: '6777', backing: '6777' });
  });

  it('keeps setgid without group execute (it does not grant the group)', async () => {
    await rootFile('g', 0o6766);
    await asNobody(`printf more >> ${m('g')}`);
    expect(await modes('g')).toEqual({ mount: '2766', backing: '2766' });
  });

  it('a truncate by another user clears them', async () => {
    await rootFile('t1', 0o6777);
    await asNobody(`truncate -s 2 ${m('t1')}`);
    expect(await modes('t1')).toEqual({ mount: '777', backing: '777' });
    expect((await fs.stat(m('t1'))).size).toBe(2);
  });

  it('so does an open with O_TRUNC by another user', async () => {
    await rootFile('t2', 0o6777);
    await asNobody(`: > ${m('t2')}`);
    expect(await modes('t2')).toEqual({ mount: '777', backing: '777' });
    expect((await fs.stat(m('t2'))).size).toBe(0);
  });
});
