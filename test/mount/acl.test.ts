// POSIX ACLs and trusted/security xattrs through the mount, side by side with a plain
// ext4 directory: the same script of setfacl, chmod, file creation under a default ACL
// and access by another user (nobody) must print the same on both, and so must getfacl.
// The ACLs then survive moves of the file to another local tier, to an object tier and
// back, and a remount, and the kernel keeps enforcing them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { run, runAsNobody } from '../helpers/mount.js';

let t: TierfsMount;
let cold: ReturnType<typeof tempDir>;
let plain: ReturnType<typeof tempDir>;

beforeAll(async () => {
  cold = tempDir('tierfs-acl-cold-');
  plain = tempDir('tierfs-acl-plain-');
  chmodSync(plain.path, 0o755); // nobody must reach it, as the mount
  t = await new TierfsMount({ allowOther: true, moreTiers: fsObjectTier(cold.path), extraYaml: 'cache: { memory: 0, disk: 0 }\n' }).start();
});

afterAll(async () => {
  await t?.dispose();
  cold?.remove();
  plain?.remove();
});

const sh = async (root: string, script: string) => {
  const r = await run('sh', ['-c', `cd '${root}' && umask 022 && ${script}`]);
  return `${r.code} ${r.stdout}${r.stderr.replaceAll(root, 'ROOT')}`;
};
const shAsNobody = async (root: string, script: string) => {
  const r = await runAsNobody('sh', ['-c', `cd '${root}' && ${script}`]);
  return `${r.code} ${r.stdout}${r.stderr.replaceAll(root, 'ROOT')}`;
};
/** Runs a step as root and as nobody on both trees; both must print the same. */
async function same(asRoot: string, asNobody?: string): Promise<string> {
  const want = [await sh(plain.path, asRoot), asNobody ? await shAsNobody(plain.path, asNobody) : ''];
  const got = [await sh(t.mnt, asRoot), asNobody ? await shAsNobody(t.mnt, asNobody) : ''];
  expect(got, `${asRoot} / ${asNobody ?? ''}`).toEqual(want);
  return want.join('\n');
}

const NOBODY_READS = 'cat d/f 2>&1 | sed "s/^cat: //"; echo more >> d/new 2>&1 | sed "s/^.*: //"; true';

it('setfacl, getfacl, default ACLs and chmod behave as on ext4, and the kernel enforces them for another user', { timeout: 120_000 }, async () => {
  await same('mkdir d && chmod 750 d && echo secret > d/f && chmod 640 d/f && echo ok');
  const locked = await same('true', NOBODY_READS);
  expect(locked).toMatch(/Permission denied/);

  await same('setfacl -m u:nobody:rx d && setfacl -m u:nobody:r d/f && setfacl -d -m u:nobody:rw d && touch d/new && stat -c "%A" d d/f d/new');
  const allowed = await same('getfacl -n d d/f d/new', NOBODY_READS);
  expect(allowed).toContain('user:65534:r--');
  expect(allowed).toContain('default:user:65534:rw-');
  expect(allowed).toContain('secret'); // nobody reads d/f now, and appends to d/new through its inherited ACL

  // chmod narrows the mask: the named entry is no longer effective.
  await same('chmod 600 d/f && getfacl -n d/f && stat -c "%A" d/f', 'cat d/f 2>&1 | sed "s/^cat: //"; true');
  await same('chmod 640 d/f && setfacl -b d/new && getfacl -n d/new && stat -c "%A" d/new');
  // The mask and a named entry in one go; a default ACL on a file is refused as ext4 refuses it.
  await same('setfacl -m m::rwx,u:nobody:rwx d/f && getfacl -n d/f; setfacl -d -m u:nobody:r d/f; echo $?');
});

it('trusted.* and security.* xattrs are stored; nobody may not read trusted ones', { timeout: 60_000 }, async () => {
  await same('touch x && setfattr -n trusted.t -v one x && setfattr -n security.s -v two x && getfattr -n trusted.t x && getfattr -n security.s x');
  await same('true', 'getfattr -n trusted.t x 2>&1 | sed "s/^.*: //"; true');
});

it('ACLs move with the file between tiers and survive a remount', { timeout: 120_000 }, async () => {
  const acl = async () => (await run('getfacl', ['-n', join(t.mnt, 'd/f')])).stdout;
  expect((await run('setfacl', ['--set', 'u::rw,u:nobody:r,g::r,m::r,o::-', join(t.mnt, 'd/f')])).code).toBe(0);
  const before = await acl();
  expect(before).toContain('user:65534:r--');
  for (const to of ['warm', 'cold', 'hot']) {
    const r = await t.cli(['move', join(t.mnt, 'd/f'), '--to', to]);
    expect(r.code, r.stderr).toBe(0);
    expect(await acl(), `after a move to ${to}`).toBe(before);
    expect((await runAsNobody('cat', [join(t.mnt, 'd/f')])).stdout).toBe('secret\n');
  }
  expect((await run('getfacl', ['-n', join(t.hot, 'd/f')])).stdout).toContain('user:65534:r--'); // carried on the backing file too
  await t.stop();
  await t.start();
  expect(await acl()).toBe(before);
  expect((await runAsNobody('cat', [join(t.mnt, 'd/f')])).stdout).toBe('secret\n');
});

it("setfacl by a file's owner who is not in its group clears setgid, as chmod would (posix_acl_update_mode, which Linux leaves to FUSE daemons)", async () => {
  // Root gives nobody a file of group 100 with setgid; nobody, not in group 100, then sets its ACL.
  await same('mkdir g && chmod 777 g && echo x > g/f && chown nobody:100 g/f && chmod 2644 g/f && stat -c "%A" g/f');
  const after = await same('true', 'setfacl -m g::rx,m::rx g/f; stat -c "%A" g/f');
  expect(after).not.toMatch(/[sS]/);
  // Root (CAP_FSETID) keeps it.
  const root = await same('chmod 2644 g/f && setfacl -m g::rx,m::rx g/f && stat -c "%A" g/f');
  expect(root).toMatch(/r-s/);
});
