// Mounting with the catalog lost (issue 18, point 4): deleted, damaged or truncated
// while the tiers hold the filesystem. The mount rebuilds it from the tiers (or refuses
// with the command that does) — never a new, empty filesystem that hides the cold data.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { diffTrees, snapshotTree } from '../helpers/tree.js';
import { damageCatalogPage, deleteCatalog, mountWithCold, tierOf, truncateCatalog, writeFiles, type ColdMount } from './fixture.js';


/** Several mounts, moves and CLI runs each: minutes on a loaded two-core machine. */
const HEAVY = 360_000;
let c: ColdMount | undefined;
afterEach(async () => {
  await c?.dispose();
  c = undefined;
});

/** Directories come back with the times of their rebuild; everything else must be equal. */
const SAME_FILES = { ignore: ['dir.mtime'] };

const status = async (cm: ColdMount) => {
  const r = await cm.t.cli(['status', '--json', cm.t.mnt]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('a mount whose catalog is lost while the tiers hold the filesystem', () => {
  it('deleted: the mount rebuilds the catalog from the tiers under the same filesystem id, and says so', async () => {
    c = mountWithCold('catalog: { backup: { enabled: false } }\n');
    const { t } = c;
    await t.start();
    const cold = await writeFiles(t);
    const fsid = (await status(c)).fsid;
    const before = await snapshotTree(t.mnt);
    await t.stop();

    deleteCatalog(t);
    await t.start();
    expect(diffTrees(before, await snapshotTree(t.mnt), SAME_FILES)).toEqual([]);
    for (const p of cold) expect(await tierOf(t, p)).toBe('cold');
    const s = await status(c);
    expect(s.fsid).toBe(fsid);
    expect(s.catalog.recoveredAtThisMount).toBe(true);
    expect(s.catalog.lastRecovery.why).toBe('catalog missing at mount');
    expect(s.catalog.lastRecovery.manifests.restored.sort()).toEqual([...cold].sort());
    expect(s.catalog.lastRecovery.lost).toEqual([]);
    expect(t.output).toContain('catalog rebuilt');
    const text = await t.cli(['status', t.mnt]);
    expect(text.stdout).toContain('the catalog was lost and rebuilt before this mount');
  }, HEAVY);

  it('with catalog.recovery: refuse, the mount stops and prints the command; that command brings everything back', async () => {
    c = mountWithCold('catalog: { recovery: refuse, backup: { enabled: false } }\n');
    const { t } = c;
    await t.start();
    await writeFiles(t);
    const before = await snapshotTree(t.mnt);
    await t.stop();

    deleteCatalog(t);
    await expect(t.start()).rejects.toThrow(/Mounting now would start a new, empty filesystem/);
    const command = `tierfs fsck --rebuild --config ${t.configFile}`;
    expect(t.output).toContain(command);
    // Nothing was created meanwhile: the refusal leaves no catalog behind.
    expect(readdirSync(t.dataDir).filter((f) => f.startsWith('catalog.db'))).toEqual([]);

    const r = await t.cli(command.split(' ').slice(1));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('catalog rebuilt');
    await t.start();
    expect(diffTrees(before, await snapshotTree(t.mnt), SAME_FILES)).toEqual([]);
  }, HEAVY);

  it.each([
    ['a damaged page', damageCatalogPage],
    ['truncated', truncateCatalog],
  ])('%s: the catalog is kept aside byte for byte and the mount rebuilds it', async (_what, damage) => {
    c = mountWithCold('catalog: { backup: { enabled: false } }\n');
    const { t } = c;
    await t.start();
    await writeFiles(t);
    const before = await snapshotTree(t.mnt);
    await t.stop();

    damage(t);
    const damaged = createHash('sha256').update(readFileSync(join(t.dataDir, 'catalog.db'))).digest('hex');
    await t.start();
    expect(diffTrees(before, await snapshotTree(t.mnt), SAME_FILES)).toEqual([]);
    const aside = readdirSync(t.dataDir).filter((f) => /^catalog\.db\.corrupt-\d{8}T\d{9}Z$/.test(f));
    expect(aside).toHaveLength(1);
    expect(createHash('sha256').update(readFileSync(join(t.dataDir, aside[0]!))).digest('hex')).toBe(damaged);
    const s = await status(c);
    expect(s.catalog.lastRecovery.why).toMatch(/^catalog damaged \(SQLITE_CORRUPT|^catalog damaged \(quick_check/);
    expect(s.catalog.lastRecovery.catalogKeptAs).toBe(join(t.dataDir, aside[0]!));
  }, HEAVY);

  it('the tiers hold two filesystems: the mount refuses and names both, with the command for each', async () => {
    c = mountWithCold('catalog: { backup: { enabled: false } }\n');
    const { t } = c;
    await t.start();
    await writeFiles(t);
    const fsid = (await status(c)).fsid;
    await t.stop();
    // Another filesystem's objects on the same store (as if two shared the bucket).
    const other = randomUUID();
    for (const b of ['a', 'b', 'c']) cpSync(join(c.coldRoot, b, fsid), join(c.coldRoot, b, other), { recursive: true });

    deleteCatalog(t);
    await expect(t.start()).rejects.toThrow(/several filesystems/);
    for (const id of [fsid, other]) expect(t.output).toContain(`tierfs fsck --rebuild --config ${t.configFile} --fsid ${id}`);
  }, HEAVY);

  it('a new filesystem over empty tiers is just mounted: nothing to recover', async () => {
    c = mountWithCold();
    await c.t.start();
    const s = await status(c);
    expect(s.catalog.recoveredAtThisMount).toBe(false);
    expect(s.catalog.lastRecovery).toBeNull();
  }, HEAVY);
});
