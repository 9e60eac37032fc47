// tierfs tier drain: every file on a tier is moved off it through the mover, after
// which a configuration without the tier is no longer refused for the files it holds;
// a drain that a rule or a pin would undo is refused up front.
import { afterEach, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { adminJson, socketPathOf } from '../../src/admin/client.js';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const FILES = ['a.bin', 'dir/b.bin', 'dir/sub/c.bin'];
const content = (p: string) => Buffer.alloc(10_000 + p.length * 1000, p);

it('drains every file off a tier; the tier can then leave the configuration', async () => {
  t = await new TierfsMount({ extraYaml: 'policy:\n  interval: 1s\n  minResidency: 0s\n' }).start();
  const socket = socketPathOf(t.dataDir);
  const apply = (text: string) => adminJson(socket, 'POST', '/v1/config/apply', { text }).catch((err: Error & { code?: string }) => err);
  await fs.mkdir(join(t.mnt, 'dir/sub'), { recursive: true });
  for (const p of FILES) await fs.writeFile(join(t.mnt, p), content(p));
  await adminJson(socket, 'POST', '/v1/move', { paths: FILES, to: 'warm', wait: true });
  for (const p of FILES) expect(existsSync(join(t.warm, p)), p).toBe(true);

  const original = readFileSync(t.configFile, 'utf8');
  const withoutWarm = original.replace(/ {2}- name: warm\n.*\n.*\n/, '');
  expect(await apply(withoutWarm)).toMatchObject({ code: 'ECONFIGREFUSED', message: expect.stringContaining('tier warm holds 3 files') });

  // Refused while a rule or a pin would bring files back.
  expect(await apply(original.replace('policy:\n', 'policy:\n  rules:\n    - { name: keep, match: { path: ["*.bin"] }, target: warm }\n'))).toMatchObject({ applied: true });
  const byRule = await adminJson(socket, 'POST', '/v1/tier/drain', { tier: 'warm', to: 'hot' }).catch((err: Error) => err);
  expect(byRule).toMatchObject({ message: expect.stringContaining('rule keep sends files to warm') });
  expect(await apply(original)).toMatchObject({ applied: true });
  await adminJson(socket, 'POST', '/v1/pin', { path: 'dir/sub', tier: 'warm' });
  const byPin = await adminJson(socket, 'POST', '/v1/tier/drain', { tier: 'warm', to: 'hot' }).catch((err: Error) => err);
  expect(byPin).toMatchObject({ message: expect.stringContaining('1 pin to warm (/dir/sub)') });
  await adminJson(socket, 'POST', '/v1/pin', { path: 'dir/sub', tier: null });

  const r = await t.cli(['tier', 'drain', 'warm', '--to', 'hot', '--json', '--mount', t.mnt]);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ tier: 'warm', to: 'hot', queued: 3, bytes: FILES.reduce((a, p) => a + content(p).length, 0), failed: [], left: 0 });
  for (const p of FILES) {
    expect(existsSync(join(t.hot, p)), p).toBe(true);
    expect(existsSync(join(t.warm, p)), p).toBe(false);
    expect((await fs.readFile(join(t.mnt, p))).equals(content(p)), p).toBe(true);
  }
  // Empty now: what is left is the remount a new tier set needs.
  const refusal = await apply(withoutWarm);
  expect(refusal).toMatchObject({ message: expect.stringContaining('removing tier warm needs a remount') });
  expect((refusal as Error).message).not.toContain('holds');
}, 180_000);

it('a mount whose tierfs.yaml leaves out a tier that holds files is refused, naming it; with the tier back it mounts', async () => {
  t = await new TierfsMount().start();
  await fs.writeFile(join(t.mnt, 'kept.bin'), content('kept.bin'));
  await adminJson(socketPathOf(t.dataDir), 'POST', '/v1/move', { paths: ['kept.bin'], to: 'warm', wait: true });
  await t.stop();
  const original = readFileSync(t.configFile, 'utf8');
  writeFileSync(t.configFile, original.replace(/ {2}- name: warm\n.*\n.*\n/, ''));
  const refused = await t.start().then(
    () => 'mounted',
    (err: Error) => err.message,
  );
  expect(refused).toMatch(/tier warm holds 1 file \(\d+ bytes\), but the configuration has no such tier: put it back/);
  writeFileSync(t.configFile, original);
  await t.start();
  expect((await fs.readFile(join(t.mnt, 'kept.bin'))).equals(content('kept.bin'))).toBe(true);
}, 120_000);
