// Mounting the way a machine does at boot: an /etc/fstab line of type fuse.tierfs that
// mount(8) hands to our helper (installed by scripts/install.sh as
// /sbin/mount.fuse.tierfs), and the systemd unit in contrib/systemd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/tierfs.js';
import { forceUnmount, isMounted, run, waitFor } from '../helpers/mount.js';
import { tempDir } from '../helpers/tmp.js';
import { tierfsMounts } from '../../src/cli/mounts.js';

const dir = tempDir('tierfs-install-');
const SBIN_LINKS = ['/sbin/mount.fuse.tierfs', '/sbin/mount.tierfs'];
/** What the links were before the test (another checkout's install, or nothing), to put back. */
const before = new Map<string, string | null>();
const env = process.env;

function writeConfig(name: string): { config: string; mnt: string; hot: string; dataDir: string } {
  const root = join(dir.path, name);
  const mnt = join(root, 'mnt');
  mkdirSync(mnt, { recursive: true });
  const config = join(root, 'tierfs.yaml');
  writeFileSync(config, 'dataDir: ./data\ntiers:\n  - { name: hot, kind: local, volumes: [./hot] }\n  - { name: warm, kind: local, volumes: [./warm] }\nmetrics: { listen: "off" }\n');
  return { config, mnt, hot: join(root, 'hot'), dataDir: join(root, 'data') };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  for (const l of SBIN_LINKS) before.set(l, existsSync(l) ? readlinkSync(l) : null);
  // The command goes to a scratch directory: only the helpers' paths are fixed (mount(8) looks in /sbin).
  const r = spawnSync(join(REPO, 'scripts', 'install.sh'), [], { env: { ...env, BINDIR: join(dir.path, 'bin') }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});

afterAll(() => {
  for (const [l, target] of before) {
    rmSync(l, { force: true });
    if (target !== null) symlinkSync(target, l);
  }
  dir.remove();
});

describe('install', () => {
  it('links the command and the mount helpers to this checkout', () => {
    expect(readlinkSync(join(dir.path, 'bin', 'tierfs'))).toBe(join(REPO, 'bin', 'tierfs.js'));
    for (const l of SBIN_LINKS) expect(readlinkSync(l)).toBe(join(REPO, 'bin', 'mount.tierfs.js'));
    const version = spawnSync(join(dir.path, 'bin', 'tierfs'), ['--help'], { env, encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/Usage: tierfs/);
  });
});

describe('an /etc/fstab line', () => {
  it('mounts with `mount MOUNTPOINT`, files land on the tier, `umount` ends the daemon', async () => {
    const { config, mnt, hot, dataDir } = writeConfig('fstab');
    const fstab = join(dir.path, 'fstab.test');
    writeFileSync(fstab, `# a test fstab\n${config} ${mnt} fuse.tierfs defaults,_netdev 0 0\n`);
    try {
      const m = await run('mount', ['--fstab', fstab, mnt], { env, timeoutMs: 60_000 });
      expect(m.code, m.stdout + m.stderr).toBe(0);
      expect(tierfsMounts().some((x) => x.mountpoint === mnt)).toBe(true);
      writeFileSync(join(mnt, 'through-fstab.txt'), 'written through the fstab mount\n');
      expect(readFileSync(join(hot, 'through-fstab.txt'), 'utf8')).toBe('written through the fstab mount\n');
      const pid = Number(readFileSync(join(dataDir, 'daemon.pid'), 'utf8'));
      expect(alive(pid)).toBe(true);

      const u = await run('umount', [mnt], { timeoutMs: 30_000 });
      expect(u.code, u.stderr).toBe(0);
      expect(isMounted(mnt)).toBe(false);
      await waitFor(() => !alive(pid), 30_000, () => `the daemon ${pid} did not exit after umount`);
      expect(readFileSync(join(hot, 'through-fstab.txt'), 'utf8')).toBe('written through the fstab mount\n');
    } finally {
      forceUnmount(mnt);
    }
  }, 120_000);

  it('the helper refuses an option it does not know, naming it, and mounts nothing', () => {
    const { config, mnt } = writeConfig('bad-option');
    const r = spawnSync('/sbin/mount.fuse.tierfs', [config, mnt, '-o', 'defaults,nonemtpy'], { env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown option nonemtpy');
    expect(isMounted(mnt)).toBe(false);
  });
});

describe('the systemd unit', () => {
  const unitFile = join(REPO, 'contrib', 'systemd', 'tierfs@.service');
  const unit = readFileSync(unitFile, 'utf8');
  const directive = (name: string) => unit.split('\n').find((l) => l.startsWith(`${name}=`))!.slice(name.length + 1);

  it('passes systemd-analyze verify', () => {
    const which = spawnSync('sh', ['-c', 'command -v systemd-analyze']);
    if (which.status !== 0) return; // no systemd here: the command lines are still run below
    const installed = join(dir.path, 'units');
    mkdirSync(installed, { recursive: true });
    const r = spawnSync(join(REPO, 'scripts', 'install.sh'), ['--systemd'], {
      env: { ...env, BINDIR: join(dir.path, 'bin'), UNITDIR: installed },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    // verify wants an instance: the template copied under an instance's name.
    const instance = join(dir.path, 'tierfs@mnt-data.service');
    writeFileSync(instance, readFileSync(join(installed, 'tierfs@.service')));
    const v = spawnSync('systemd-analyze', ['verify', instance], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
  });

  it('its ExecStart mounts in the foreground and its ExecStop unmounts and ends it', async () => {
    const { config, mnt, hot } = writeConfig('systemd');
    // The specifiers as systemd fills them for instance "mnt-data": %i the instance, %f
    // the mountpoint; /etc/tierfs and the command's path point into the test's directory.
    const expand = (line: string) =>
      line
        .replace('/usr/local/bin/tierfs', join(REPO, 'bin', 'tierfs.js'))
        .replace('/etc/tierfs/%i.yaml', config)
        .replaceAll('%f', mnt)
        .split(' ');
    const [startCmd, ...startArgs] = expand(directive('ExecStart'));
    const [stopCmd, ...stopArgs] = expand(directive('ExecStop'));
    expect(startArgs).toEqual(['mount', '--foreground', '--config', config, mnt]);
    const service = spawn(startCmd!, startArgs, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    service.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => service.on('exit', (code) => r(code)));
    try {
      await waitFor(() => log.includes('tierfs: mounted'), 60_000, () => `ExecStart did not mount:\n${log}`);
      writeFileSync(join(mnt, 'through-systemd.txt'), 'x');
      expect(existsSync(join(hot, 'through-systemd.txt'))).toBe(true);
      const stop = await run(stopCmd!, stopArgs, { env, timeoutMs: 60_000 });
      expect(stop.code, stop.stderr).toBe(0);
      expect(await exited).toBe(0);
      expect(isMounted(mnt)).toBe(false);
    } finally {
      service.kill('SIGKILL');
      forceUnmount(mnt);
    }
  }, 120_000);
});
