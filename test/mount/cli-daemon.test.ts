// The CLI as a user drives a daemon: `tierfs mount` without --foreground returns once
// the mount is ready and leaves the daemon running, with its allocator settings;
// `config show` prints what it runs with; a mount without allowOther refuses other
// users; a pin set with setfattr moves the file; `tierfs umount` ends the daemon. One
// mount serves all of it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { TierfsMount, runCli } from '../helpers/tierfs.js';
import { forceUnmount, isMounted, runAsNobody } from '../helpers/mount.js';
import { heapAdvisedHuge, thpMode } from '../helpers/proc.js';

let t: TierfsMount;
let pid = 0;
const m = (p: string) => join(t.mnt, p);
const alive = (p: number) => {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  // Only the configuration and directories: the daemon is started by the CLI below.
  // Classification every second, so that a pin takes effect within the test.
  t = new TierfsMount({ allowOther: false, extraYaml: 'policy:\n  interval: 1s\n  minResidency: 0s\n' });
});

afterAll(async () => {
  if (isMounted(t.mnt)) await runCli(['umount', t.mnt]);
  if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  forceUnmount(t.mnt);
  await t.dispose();
});

it('mount without --foreground returns once mounted and leaves the daemon running', async () => {
  const r = await runCli(['mount', '--config', t.configFile, t.mnt], { cwd: t.root });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`tierfs mounted on ${t.mnt}`);
  // Ready when the CLI returns: no wait needed before the first use.
  expect(isMounted(t.mnt)).toBe(true);
  pid = Number(readFileSync(join(t.dataDir, 'daemon.pid'), 'utf8'));
  expect(pid).not.toBe(process.pid);
  expect(alive(pid)).toBe(true);
  // started with the allocator settings of src/malloc-tunables.ts, which glibc applied
  // (seen in the heap's flags where the kernel's huge pages are "madvise", the default)
  if (thpMode() === 'madvise') expect(heapAdvisedHuge(pid)).toBe(true);
  await fs.writeFile(m('f'), 'served by a daemon in the background');
  expect(readFileSync(join(t.hot, 'f'), 'utf8')).toBe('served by a daemon in the background');
});

it('config show prints the configuration the mount runs with, defaults filled in', async () => {
  const r = await runCli(['config', 'show', t.configFile], { cwd: t.root });
  expect(r.code, r.stderr).toBe(0);
  const c = JSON.parse(r.stdout);
  expect(c.tiers.map((x: { name: string; kind: string }) => [x.name, x.kind])).toEqual([['hot', 'local'], ['warm', 'local']]);
  expect(c.mount).toMatchObject({ allowOther: false, fastPath: true });
  // A key the file does not set comes with its default.
  expect(c.tiers[0].watermarks).toMatchObject({ high: expect.any(Number), low: expect.any(Number) });
});

it('allowOther: false refuses every other user, whatever the modes say', async () => {
  await fs.chmod(m('f'), 0o666);
  const ls = await runAsNobody('ls', [t.mnt]);
  expect(ls.code).not.toBe(0);
  expect(ls.stderr).toMatch(/Permission denied/);
  const cat = await runAsNobody('cat', [m('f')]);
  expect(cat.stderr).toMatch(/Permission denied/);
  // The user who mounted it still gets in.
  expect(await fs.readFile(m('f'), 'utf8')).toBe('served by a daemon in the background');
});

it('a pin set with setfattr user.tierfs.pin moves the file to that tier at the next classification', async () => {
  execFileSync('setfattr', ['-n', 'user.tierfs.pin', '-v', 'warm', m('f')]);
  expect(execFileSync('getfattr', ['--only-values', '-n', 'user.tierfs.pin', m('f')]).toString()).toBe('warm');
  // Done when the catalog says so: the copy's name on warm appears before the commit, the
  // old copy on hot goes with it (a look at the names alone could fall between the two).
  const tier = () => execFileSync('getfattr', ['--only-values', '-n', 'user.tierfs.tier', m('f')]).toString();
  const end = Date.now() + 20_000;
  while (tier() !== 'warm' && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  expect(tier()).toBe('warm');
  expect(readFileSync(join(t.warm, 'f'), 'utf8')).toBe('served by a daemon in the background');
  expect(existsSync(join(t.hot, 'f'))).toBe(false);
});

it('umount ends the daemon and returns once it has exited', async () => {
  const r = await runCli(['umount', t.mnt]);
  expect(r.code, r.stderr).toBe(0);
  expect(isMounted(t.mnt)).toBe(false);
  expect(alive(pid)).toBe(false);
  // Unmounted in order: the file is where the pin put it, with its bytes.
  expect(readFileSync(join(t.warm, 'f'), 'utf8')).toBe('served by a daemon in the background');
});
