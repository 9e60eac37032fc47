// `tierfs dashboard --open` starts the desktop's browser on a one-time login link. A
// command line is every local user's to read (/proc/PID/cmdline): the link must not be
// one, or another user could spend the code first and have the session. The browser is
// given a page only the caller can read, which goes on to the link.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/mount.js';
import { dashboardMount, type DashboardMount } from './setup.js';

let d: DashboardMount;
const bin = tempDir('tierfs-fake-xdg-open-');
beforeAll(async () => {
  d = await dashboardMount();
});
afterAll(async () => {
  await d?.dispose();
  bin.remove();
});

it('--open gives the browser a page of the caller\'s alone, never the link on a command line', async () => {
  // An xdg-open that writes down what it was started with.
  const said = join(bin.path, 'argv');
  writeFileSync(join(bin.path, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${said}\n`);
  chmodSync(join(bin.path, 'xdg-open'), 0o755);
  const tmp = tempDir('tierfs-login-tmp-');
  try {
    const r = await runCli(['dashboard', '--open', d.t.mnt], { cwd: d.t.root, env: { DISPLAY: ':99', PATH: `${bin.path}:${process.env.PATH}`, TMPDIR: tmp.path } });
    expect(r.code, r.stderr).toBe(0);
    const link = /login \(once, until [^)]*\): (\S+)/.exec(r.stdout)![1]!;
    expect(link).toMatch(/\/login\?code=/);
    await waitFor(() => { try { return readFileSync(said, 'utf8').length > 0; } catch { return false; } }, 5000, () => 'xdg-open was not started');
    const argv = readFileSync(said, 'utf8').trim().split('\n');
    expect(argv).toHaveLength(1);
    expect(argv[0]).not.toContain('code=');
    const page = argv[0]!;
    expect(page.startsWith(tmp.path)).toBe(true);
    expect(statSync(page).mode & 0o777).toBe(0o600);
    expect(statSync(join(page, '..')).mode & 0o777).toBe(0o700);
    expect(readFileSync(page, 'utf8')).toContain(`url=${link.replace(/&/g, '&amp;')}`);
  } finally {
    tmp.remove();
  }
});
