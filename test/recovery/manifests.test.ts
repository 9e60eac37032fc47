// Manifests follow their files (issue 18, point 1): a cold file renamed (itself or by a
// directory above it), chmod/chown-ed, given xattrs, a class or a pin, has a manifest
// that says so — also when the daemon is killed between the change and the rewrite —
// so a rebuild without the catalog and without a backup brings the file back as it is.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { objectPath } from '../../src/objectstore/fs-layout.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';
import { eventually } from '../helpers/mount.js';
import { createObjectStore } from '../../src/objectstore/index.js';
import { backendConfigSchema } from '../../src/config/backends.js';
import { decodeManifest } from '../../src/tiers/object/manifest.js';
import type { ManifestInfo } from '../../src/tiers/object/types.js';
import { deleteCatalog, mountWithCold, moveTo, setXattr, type ColdMount } from './fixture.js';


/** Several mounts, moves and CLI runs each: minutes on a loaded two-core machine. */
const HEAVY = 360_000;
let c: ColdMount | undefined;
afterEach(async () => {
  await c?.dispose();
  c = undefined;
});

/** Every manifest on backend "a" of the cold tier, by the path it names. */
async function manifests(cm: ColdMount): Promise<Map<string, ManifestInfo>> {
  const store = createObjectStore(backendConfigSchema.parse({ type: 'fs', root: join(cm.coldRoot, 'a') }), { bodyChecksums: false });
  const out = new Map<string, ManifestInfo>();
  for await (const e of store.list('')) {
    if (!e.key.endsWith('/manifest')) continue;
    const { info } = decodeManifest((await store.get(e.key)).data);
    out.set(info.path, info);
  }
  return out;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

it('a kill -9 between a cold file’s rename and its manifest rewrite: the next mount finishes it, and a rebuild gives the new name', async () => {
  c = mountWithCold('catalog: { backup: { enabled: false } }\n');
  const { t } = c;
  const m = (p: string) => join(t.mnt, p);
  await t.start({ TIERFS_TEST_HOLD_MANIFEST_SYNC: '1' });
  await fs.mkdir(m('d'));
  await fs.mkdir(m('e'));
  await fs.mkdir(m('dir1'));
  await fs.writeFile(m('d/f'), randomBytes(150_000));
  await fs.writeFile(m('dir1/x'), randomBytes(2000));
  setXattr(m('d/f'), 'user.color', 'red');
  await moveTo(t, 'd/f', 'cold');
  await moveTo(t, 'dir1/x', 'cold');

  await fs.rename(m('d/f'), m('e/g'));
  await fs.chmod(m('e/g'), 0o600);
  await fs.chown(m('e/g'), 5, 6);
  setXattr(m('e/g'), 'user.color', 'green');
  setXattr(m('e/g'), 'user.tierfs.class', 'critical');
  setXattr(m('e/g'), 'user.tierfs.pin', 'cold');
  await fs.rename(m('dir1'), m('dir2'));
  const before = await snapshotTree(t.mnt);
  await t.kill9();

  // The window: the catalog has the new name, the manifests the old ones.
  expect([...(await manifests(c)).keys()].sort()).toEqual(['d/f', 'dir1/x']);

  await t.start();
  let now = new Map<string, ManifestInfo>();
  for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    now = await manifests(c);
    if (now.has('e/g') && now.has('dir2/x')) break;
  }
  expect([...now.keys()].sort()).toEqual(['dir2/x', 'e/g']);
  expect(now.get('e/g')).toMatchObject({
    mode: 0o100600,
    uid: 5,
    gid: 6,
    pin: 'cold',
    xattrs: { 'user.color': b64('green'), 'user.tierfs.class': b64('critical') },
  });
  await t.stop();

  deleteCatalog(t);
  await t.start();
  expect(diffTrees(before, await snapshotTree(t.mnt), { ignore: ['dir.mtime'] })).toEqual([]);
  expect(execFileSync('getfattr', ['--only-values', '-n', 'user.tierfs.pin', m('e/g')]).toString()).toBe('cold');
}, HEAVY);

/** What the manifest of the cold tier's one copy on backend ("a", "b", "c") names, and its file there. */
async function manifestOn(cm: ColdMount, backend: string): Promise<{ path: string; file?: string }> {
  const root = join(cm.coldRoot, backend);
  const store = createObjectStore(backendConfigSchema.parse({ type: 'fs', root }), { bodyChecksums: false });
  try {
    for await (const e of store.list('')) {
      if (e.key.endsWith('/manifest')) return { path: decodeManifest((await store.get(e.key)).data).info.path, file: objectPath(root, e.key).file };
    }
  } catch {
    // not there, or not readable: as none
  }
  return { path: '(none)' };
}

it('a rename while the stores are away, or while one refuses the new manifest, reaches every manifest once they are back', async () => {
  c = mountWithCold('catalog: { backup: { enabled: false } }\n');
  const { t } = c;
  const m = (p: string) => join(t.mnt, p);
  await t.start();
  await fs.writeFile(m('f'), randomBytes(150_000));
  await moveTo(t, 'f', 'cold');
  const paths = async () => Promise.all(['a', 'b', 'c'].map(async (b) => (await manifestOn(c!, b)).path));
  const allSay = async (name: string) => (await paths()).every((p) => p === name);
  await eventually(() => allSay('f'), 5000, () => 'manifests of f');

  // Every store away (an outage longer than the retries): the rename waits for them.
  for (const b of ['a', 'b', 'c']) renameSync(join(c.coldRoot, b), join(c.coldRoot, `${b}.away`));
  await fs.rename(m('f'), m('g'));
  await new Promise((r) => setTimeout(r, 3000)); // several rounds of the sync (every second)
  for (const b of ['a', 'b', 'c']) renameSync(join(c.coldRoot, `${b}.away`), join(c.coldRoot, b));
  await eventually(() => allSay('g'), 10_000, () => 'manifests of g after the outage');

  // One store refuses the new manifest (a directory where its file goes) after another took it.
  const onB = (await manifestOn(c, 'b')).file!;
  rmSync(onB);
  mkdirSync(onB);
  await fs.rename(m('g'), m('h'));
  await eventually(async () => (await manifestOn(c!, 'a')).path === 'h', 10_000, () => 'manifest of h on a');
  rmdirSync(onB);
  await eventually(() => allSay('h'), 10_000, () => 'manifests of h on every backend');
}, HEAVY);
