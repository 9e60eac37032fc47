// What one user can do to others through a shared mount (allowOther), and what the
// volumes show of the mount: backing directories as private as the mount's, no symlink
// in a backing path followed by the daemon, tierfs's own names out of reach, pins only
// by owners.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { TierfsMount } from '../helpers/tierfs.js';
import { runAsNobody } from '../helpers/mount.js';

const NOBODY = 65534;
let t: TierfsMount;
const m = (...p: string[]) => join(t.mnt, ...p);
const mode = (path: string) => statSync(path).mode & 0o7777;

beforeAll(async () => {
  t = await new TierfsMount({ allowOther: true }).start();
  await fs.mkdir(m('shared'));
  await fs.chmod(m('shared'), 0o777);
});
afterAll(async () => {
  await t?.dispose();
});

async function asNobody(script: string) {
  const r = await runAsNobody('sh', ['-c', script]);
  return { ...r, out: r.stdout + r.stderr };
}

describe('backing directories', () => {
  it('are made with the mode and owner of the mount’s directory; the volume root is root’s alone', async () => {
    const made = await asNobody(`mkdir -m 700 ${m('shared', 'mine')} && echo private > ${m('shared', 'mine', 'f')}`);
    expect(made.out).toBe('');
    expect(made.code).toBe(0);
    const backing = join(t.hot, 'shared', 'mine');
    expect(mode(backing)).toBe(0o700);
    expect(statSync(backing).uid).toBe(NOBODY);
    expect(mode(join(t.hot, 'shared'))).toBe(0o777);
    expect(statSync(join(t.hot, 'shared')).uid).toBe(0);
    expect(mode(t.hot)).toBe(0o700);
    expect(statSync(t.hot).uid).toBe(0);
    expect(mode(t.warm)).toBe(0o700);
  });

  it('follow chmod and chown of their directory on every volume', async () => {
    await fs.mkdir(m('shared', 'both'));
    await fs.writeFile(m('shared', 'both', 'f'), 'x');
    // The same directory on the warm tier, as a file moved there would have made it.
    mkdirSync(join(t.warm, 'shared', 'both'), { recursive: true });
    await fs.chmod(m('shared', 'both'), 0o710);
    await fs.chown(m('shared', 'both'), 1234, 5678);
    for (const vol of [t.hot, t.warm]) {
      const st = statSync(join(vol, 'shared', 'both'));
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o710, 1234, 5678]);
    }
    // A user's chmod of their own directory reaches the volume too.
    const own = await asNobody(`chmod 755 ${m('shared', 'mine')}`);
    expect(own.code).toBe(0);
    expect(mode(join(t.hot, 'shared', 'mine'))).toBe(0o755);
  });
});

describe('backing files', () => {
  it("are created with the mode the mount's file has, whatever the daemon's umask", async () => {
    const made = await asNobody(`umask 002 && touch ${m('shared', 'group-writable')}`);
    expect(made.code).toBe(0);
    expect(mode(m('shared', 'group-writable'))).toBe(0o664);
    const backing = join(t.hot, 'shared', 'group-writable');
    expect([mode(backing), statSync(backing).uid]).toEqual([0o664, NOBODY]);
  });
});

describe('symlinks in backing paths', () => {
  /** A root-only file outside the volumes, as /etc/shadow is. */
  function outsideFile(name: string, content: string): string {
    const path = join(t.root, name);
    writeFileSync(path, content);
    chmodSync(path, 0o600);
    return path;
  }

  async function refused(p: Promise<unknown>) {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as NodeJS.ErrnoException | undefined;
    expect(err, 'the operation should fail').toBeDefined();
    expect(['ELOOP', 'EIO']).toContain(err!.code);
  }

  it('are not followed when a backing file is swapped for one', async () => {
    const target = outsideFile('shadow-like', 'root only\n');
    const before = statSync(target);
    await fs.writeFile(m('swapped'), 'mine\n');
    rmSync(join(t.hot, 'swapped'));
    symlinkSync(target, join(t.hot, 'swapped'));

    await refused(fs.chmod(m('swapped'), 0o666));
    await refused(fs.chown(m('swapped'), NOBODY, NOBODY));
    await refused(fs.utimes(m('swapped'), new Date(0), new Date(0)));
    await refused(fs.truncate(m('swapped'), 0));
    await refused(fs.readFile(m('swapped')));
    await refused(fs.writeFile(m('swapped'), 'overwritten'));

    const after = statSync(target);
    expect(after.mode & 0o7777).toBe(0o600);
    expect([after.uid, after.gid]).toEqual([0, 0]);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(readFileSync(target, 'utf8')).toBe('root only\n');
    expect(t.output).toMatch(/refused to follow a symlink in a backing path/);
  });

  it('are not followed when a backing directory is swapped for one', async () => {
    const outsideDir = join(t.root, 'outside-dir');
    mkdirSync(outsideDir);
    const target = join(outsideDir, 'g');
    writeFileSync(target, 'root only\n');
    chmodSync(target, 0o600);
    await fs.mkdir(m('dd'));
    await fs.writeFile(m('dd', 'g'), 'mine\n');
    rmSync(join(t.hot, 'dd'), { recursive: true });
    symlinkSync(outsideDir, join(t.hot, 'dd'));

    await refused(fs.chmod(m('dd', 'g'), 0o666));
    await refused(fs.readFile(m('dd', 'g')));
    await refused(fs.writeFile(m('dd', 'g'), 'overwritten'));
    // Removing the name must not remove the file the link leads to.
    await refused(fs.unlink(m('dd', 'g')));
    expect(mode(target)).toBe(0o600);
    expect(readFileSync(target, 'utf8')).toBe('root only\n');
  });
});

describe('names tierfs keeps for itself', () => {
  it('cannot be made, found or removed at the mount root, so moves keep their copies', async () => {
    // A copy a move is assembling, as the mover leaves it between steps.
    const inflight = join(t.hot, '.tierfs-tmp', 'copy-in-progress');
    mkdirSync(join(t.hot, '.tierfs-tmp'), { recursive: true });
    writeFileSync(inflight, 'half a file');

    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);
    expect(await code(fs.mkdir(m('.tierfs-tmp')))).toBe('EPERM');
    expect(await code(fs.writeFile(m('.tierfs-tmp'), 'x'))).toBe('EPERM');
    expect(await code(fs.symlink('elsewhere', m('.tierfs-tmp')))).toBe('EPERM');
    await fs.writeFile(m('plain-file'), 'p');
    expect(await code(fs.rename(m('plain-file'), m('.tierfs-tmp')))).toBe('EPERM');
    expect(await code(fs.link(m('plain-file'), m('.tierfs-tmp')))).toBe('EPERM');
    expect(await code(fs.stat(m('.tierfs-tmp')))).toBe('ENOENT');
    expect(await code(fs.rmdir(m('.tierfs-tmp')))).toBe('ENOENT');
    expect(await fs.readdir(t.mnt)).not.toContain('.tierfs-tmp');
    expect(existsSync(inflight)).toBe(true);
    // Below the root the name is an ordinary one.
    await fs.mkdir(m('shared', '.tierfs-tmp'));
    await fs.rmdir(m('shared', '.tierfs-tmp'));
  });
});

describe('pins', () => {
  it('need ownership of the file or directory (or root), not just write permission', async () => {
    await fs.mkdir(m('shared', 'pins'));
    await fs.chmod(m('shared', 'pins'), 0o777);
    await fs.writeFile(m('shared', 'pins', 'writable'), 'w');
    await fs.chmod(m('shared', 'pins', 'writable'), 0o666);
    await fs.writeFile(m('shared', 'pins', 'readonly'), 'r');
    await fs.chmod(m('shared', 'pins', 'readonly'), 0o644);
    const pin = (path: string) => asNobody(`setfattr -n user.tierfs.pin -v warm ${path}`);

    // A directory nobody may write in, a file nobody may write: writing is not owning.
    for (const path of [m('shared', 'pins'), m('shared', 'pins', 'writable')]) {
      const r = await pin(path);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/Operation not permitted/);
    }
    expect((await pin(m('shared', 'pins', 'readonly'))).code).not.toBe(0);
    const pinned = await runAsNobody('getfattr', ['--only-values', '-n', 'user.tierfs.pin', m('shared', 'pins', 'writable')]);
    expect(pinned.code).not.toBe(0); // nothing pinned it, not even by inheritance

    // Their own file, they may pin and unpin.
    const own = await asNobody(
      `echo mine > ${m('shared', 'pins', 'own')} && setfattr -n user.tierfs.pin -v warm ${m('shared', 'pins', 'own')} && getfattr --only-values -n user.tierfs.pin ${m('shared', 'pins', 'own')} && setfattr -x user.tierfs.pin ${m('shared', 'pins', 'own')}`,
    );
    expect(own.stdout).toBe('warm');
    expect(own.code).toBe(0);

    // A pin root set stays: nobody cannot remove it.
    await fs.writeFile(m('shared', 'pins', 'rootpinned'), 'x');
    await fs.chmod(m('shared', 'pins', 'rootpinned'), 0o666);
    execFileSync('setfattr', ['-n', 'user.tierfs.pin', '-v', 'warm', m('shared', 'pins', 'rootpinned')]);
    const unpin = await asNobody(`setfattr -x user.tierfs.pin ${m('shared', 'pins', 'rootpinned')}`);
    expect(unpin.out).toMatch(/Operation not permitted/);
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.tierfs.pin', m('shared', 'pins', 'rootpinned')]).toString()).toBe('warm');
  });
});

describe('xattrs', () => {
  it('a trusted.* name is listed to root only (the kernel keeps its value from others, not its name)', async () => {
    await fs.writeFile(m('shared', 'tagged'), 'x');
    await fs.chmod(m('shared', 'tagged'), 0o644);
    execFileSync('setfattr', ['-n', 'trusted.origin', '-v', 'vendor', m('shared', 'tagged')]);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'hello', m('shared', 'tagged')]);
    const list = `python3 -c "import os, sys; print(sorted(os.listxattr(sys.argv[1])))" ${m('shared', 'tagged')}`;
    const asRoot = execFileSync('sh', ['-c', list], { encoding: 'utf8' });
    expect(asRoot).toContain('trusted.origin');
    const other = await asNobody(list);
    expect(other.code, other.out).toBe(0);
    expect(other.out).toContain('user.note');
    expect(other.out).not.toContain('trusted.origin');
  });
});

describe('names', () => {
  it('cannot command the terminal of an admin who prints them: control characters show as \\xNN, JSON keeps them exact', async () => {
    const name = 'evil\x1b]52;c;aGk=\x07\r\x9bname';
    const made = await asNobody(`printf 'x' > "${m('shared')}/$(printf 'evil\\033]52;c;aGk=\\007\\r\\302\\233name')"`);
    expect(made.code, made.out).toBe(0);
    const text = await t.cli(['move', m('shared', name), '--to', 'warm']);
    expect(text.stdout).toContain('evil\\x1b]52;c;aGk=\\x07\\x0d\\x9bname');
    expect(text.stdout).not.toMatch(/[\x1b\x07\r\x9b]/);
    const json = await t.cli(['move', '--json', m('shared', name), '--to', 'hot']);
    expect(json.stdout).not.toMatch(/[\x1b\x07\r\x9b]/);
    expect(JSON.parse(json.stdout)[0].path).toBe(join('shared', name));
    // … and on standard error, where errors quote what they are about
    const missing = await t.cli(['where', m('shared', `${name}-gone`)]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('evil\\x1b]52;c;aGk=\\x07\\x0d\\x9bname-gone');
    expect(missing.stderr).not.toMatch(/[\x1b\x07\r\x9b]/);
  });
});

describe('the data directory', () => {
  it('is root’s alone, made so again at mount: the catalog, the recall cache and the log are out of others’ reach', async () => {
    await t.stop();
    chmodSync(t.dataDir, 0o755); // as a data directory made by hand, or by an older tierfs
    await t.start();
    expect(t.output).toContain('data directory was reachable by others: mode 0700 now');
    expect(mode(t.dataDir)).toBe(0o700);
    expect(statSync(t.dataDir).uid).toBe(0);
    const read = await asNobody(`cat ${join(t.dataDir, 'catalog.db')} > /dev/null`);
    expect(read.code).not.toBe(0);
    expect(read.out).toMatch(/Permission denied/);
  });

  it('is not taken over from another user: it may hold what they left for root (a token they know, a symlink)', async () => {
    await t.stop();
    chownSync(t.dataDir, 65534, 65534);
    try {
      await expect(t.start()).rejects.toThrow(/data directory .* is owned by uid 65534, not by root/);
    } finally {
      chownSync(t.dataDir, 0, 0);
    }
    await t.start();
  });
});
