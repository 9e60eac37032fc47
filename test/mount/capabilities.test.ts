// File capabilities (security.capability) through the mount: the kernel looks for one
// before the first write to a file and removes it on a write, as on a local filesystem.
// A file the mount has just created has none, so that look is answered by the binding:
// creating files costs no trip into JavaScript for it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { parseExposition } from '../helpers/exposition.js';

// cap_net_raw, permitted and effective (a version 2 vfs_cap_data)
const CAP = '0x0100000200200000000000000000000000000000';

let t: TierfsMount;
const m = (p: string) => join(t.mnt, p);

beforeAll(async () => {
  t = await new TierfsMount({ extraYaml: `metrics:\n  listen: 127.0.0.1:0\n` }).start();
});
afterAll(async () => {
  await t?.dispose();
});

async function getxattrs(): Promise<number> {
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout) as { metrics: { url: string } };
  return parseExposition(await (await fetch(status.metrics.url)).text()).value('tierfs_fuse_requests_total', { op: 'getxattr' }) ?? 0;
}

const capabilityOf = (path: string) => {
  try {
    return execFileSync('getfattr', ['--absolute-names', '-e', 'hex', '--only-values', '-n', 'security.capability', path], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return null;
  }
};

it('files created and written through the mount ask JavaScript for no capability', async () => {
  const before = await getxattrs();
  for (let i = 0; i < 20; i++) await fs.writeFile(m(`new-${i}`), `file ${i}`);
  for (let i = 0; i < 20; i++) await fs.appendFile(m(`new-${i}`), ' and more');
  expect(await getxattrs()).toBe(before);
  expect(await fs.readFile(m('new-3'), 'utf8')).toBe('file 3 and more');
});

it('a capability given to a new file is kept until the next write removes it', async () => {
  await fs.writeFile(m('tool'), 'binary');
  execFileSync('setfattr', ['-n', 'security.capability', '-v', CAP, m('tool')]);
  expect(capabilityOf(m('tool'))).not.toBeNull();
  await fs.appendFile(m('tool'), ' patched');
  expect(capabilityOf(m('tool'))).toBeNull();
  expect(await fs.readFile(m('tool'), 'utf8')).toBe('binary patched');
});
