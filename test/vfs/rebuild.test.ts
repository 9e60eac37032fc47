// `tierfs fsck --rebuild` when several manifests name one path: it must restore the
// newest copy whose cells are there, and never one the catalog has handed to garbage
// collection. The states are made by real moves between two object tiers, with a read
// handle keeping the old copy from being collected, and the daemon killed.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { newestFirst } from '../../src/vfs/rebuild.js';
import type { ManifestInfo } from '../../src/tiers/object/types.js';

const CHUNK = 64 * 1024;
const STORES = ['cold-a', 'cold-b', 'archive-a', 'archive-b'];
let t: TierfsMount | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const objectTier = (name: string) => `  - name: ${name}
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: ${CHUNK}
    smallFileThreshold: 4KiB
    backends:
      - { name: ${name}-a, type: fs, root: ./${name}-a }
      - { name: ${name}-b, type: fs, root: ./${name}-b }
`;

function mountWithTwoObjectTiers(): TierfsMount {
  return new TierfsMount({ moreTiers: objectTier('cold') + objectTier('archive'), extraYaml: 'cache: { memory: 0, disk: 0 }\n' });
}

/** Object files per copy (fileId) in the stores, as "store:relative path". */
function objectsOf(m: TierfsMount): Map<string, string[]> {
  const byCopy = new Map<string, string[]>();
  const walk = (store: string, dir: string, rel: string[]) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue; // .tierfs: the mounts' heartbeats, not the filesystem's data
      if (e.isDirectory()) walk(store, join(dir, e.name), [...rel, e.name]);
      else if (rel.length >= 2) byCopy.set(rel[1]!, [...(byCopy.get(rel[1]!) ?? []), join(store, ...rel, e.name)]);
    }
  };
  for (const s of STORES) walk(s, join(m.root, s), []);
  return byCopy;
}

async function where(m: TierfsMount, path: string): Promise<{ tier: string }> {
  const r = await m.cli(['where', '--json', join(m.mnt, path)]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout)[0];
}

async function move(m: TierfsMount, path: string, to: string): Promise<string> {
  const r = await m.cli(['move', join(m.mnt, path), '--to', to, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout)[0].state;
}

/**
 * Move `path` from the object tier it is on to `to` while a reader holds the old copy
 * open: the move commits, the old copy waits in the garbage table, and the daemon is
 * killed before it goes. Returns the fileIds of the old and the new copy.
 */
async function moveKeepingOldCopy(m: TierfsMount, path: string, to: string, during?: () => Promise<void>): Promise<{ old: string; now: string }> {
  const before = new Set(objectsOf(m).keys());
  const reader = await fs.open(join(m.mnt, path), 'r');
  await reader.read(Buffer.alloc(1), 0, 1, 0);
  expect(await move(m, path, to)).toBe('committed'); // not 'done': the old copy is being read
  await during?.();
  await m.kill9();
  await reader.close().catch(() => undefined); // the connection is gone with the daemon
  const after = [...objectsOf(m).keys()];
  expect(after).toHaveLength(2);
  return { old: [...before][0]!, now: after.find((id) => !before.has(id))! };
}

function deleteCatalog(m: TierfsMount): void {
  for (const f of readdirSync(m.dataDir)) if (f.startsWith('catalog.db')) rmSync(join(m.dataDir, f));
}

async function rebuild(m: TierfsMount): Promise<{ restored: string[]; skipped: string[] }> {
  const r = await m.cli(['fsck', '--config', m.configFile, '--rebuild', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).manifests;
}

describe('fsck --rebuild with several copies of a path', () => {
  it('restores the newest of two copies with one generation (a move from cold to archive keeps it)', async () => {
    t = await mountWithTwoObjectTiers().start();
    const data = randomBytes(3 * CHUNK + 17);
    await fs.writeFile(join(t.mnt, 'f'), data);
    expect(await move(t, 'f', 'cold')).toBe('done');
    await moveKeepingOldCopy(t, 'f', 'archive');

    deleteCatalog(t);
    expect((await rebuild(t)).restored).toEqual(['f']);
    await t.start();
    expect((await where(t, 'f')).tier).toBe('archive');
    expect((await fs.readFile(join(t.mnt, 'f'))).equals(data)).toBe(true);
  });

  it('passes over a copy whose manifest outlived its cells and restores the intact one', async () => {
    t = await mountWithTwoObjectTiers().start();
    const data = randomBytes(3 * CHUNK + 17);
    await fs.writeFile(join(t.mnt, 'f'), data);
    expect(await move(t, 'f', 'archive')).toBe('done');
    const copies = await moveKeepingOldCopy(t, 'f', 'cold');
    // The newer copy (on cold, listed first) loses its cells and keeps its manifest, as a
    // collection that deletes cells before manifests leaves a copy when it is cut short.
    const dead = objectsOf(t).get(copies.now)!;
    for (const o of dead) if (!o.endsWith('manifest~')) rmSync(join(t.root, o));
    expect(objectsOf(t).get(copies.now)!.every((o) => o.endsWith('manifest~'))).toBe(true);

    deleteCatalog(t);
    const report = await rebuild(t);
    expect(report.restored).toEqual(['f']);
    expect(report.skipped).toEqual([expect.stringContaining(`copy ${copies.now} on cold has 0 of the 2 cells`)]);
    await t.start();
    expect((await where(t, 'f')).tier).toBe('archive');
    expect((await fs.readFile(join(t.mnt, 'f'))).equals(data)).toBe(true);
  });

  it('never brings back a copy waiting in the garbage table of an existing catalog', async () => {
    t = await mountWithTwoObjectTiers().start();
    const data = randomBytes(2 * CHUNK);
    await fs.writeFile(join(t.mnt, 'p'), data);
    expect(await move(t, 'p', 'cold')).toBe('done');
    // Renamed after the move: the old copy's manifest names a path that is free now.
    const copies = await moveKeepingOldCopy(t, 'p', 'archive', () => fs.rename(join(t!.mnt, 'p'), join(t!.mnt, 'q')));

    const report = await rebuild(t);
    expect(report.restored).toEqual([]);
    expect(report.skipped).toEqual([expect.stringContaining(`copy ${copies.old} on cold is waiting for garbage collection`)]);
    await t.start();
    await expect(fs.stat(join(t.mnt, 'p'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.readFile(join(t.mnt, 'q'))).equals(data)).toBe(true);
    // The mount finishes what the killed daemon left: the old copy is collected.
    expect([...objectsOf(t).keys()]).toEqual([copies.now]);
  });
});

describe('which copy of a path is newest', () => {
  const copy = (name: string, ino: number, generation: number, writeSequence?: number, ctimeNs = '0') => ({
    name,
    info: { fsid: 'f', ino, generation, writeSequence, path: 'p', mode: 0o100644, uid: 0, gid: 0, atimeNs: '0', mtimeNs: '0', ctimeNs } as ManifestInfo,
  });
  const order = (...copies: ReturnType<typeof copy>[]) => newestFirst(copies).map((c) => c.name);

  it('one generation: the later write', () => {
    expect(order(copy('cold', 5, 3, 100), copy('archive', 5, 3, 200))).toEqual(['archive', 'cold']);
  });

  it('one inode: the higher generation, even if its copy began earlier (a slow move of older bytes finished last)', () => {
    expect(order(copy('stale', 5, 3, 300), copy('fresh', 5, 4, 200))).toEqual(['fresh', 'stale']);
  });

  it('another inode at the path (deleted and created again): the one written last, whatever the generations', () => {
    expect(order(copy('deleted', 5, 9, 100), copy('recreated', 8, 1, 200), copy('deleted-older', 5, 8, 50))).toEqual([
      'recreated', 'deleted', 'deleted-older',
    ]);
  });

  it('another inode renamed onto the path (mv q p): the one that came last, though its bytes were written first', () => {
    // p's copy written at sequence 200, q's at 100; then `mv q p` (q's ctime moves), p's
    // manifest left behind while a reader held it.
    expect(order(copy('replaced p', 5, 1, 200, '1700000000000000000'), copy('q renamed to p', 8, 1, 100, '1700000000500000000'))).toEqual([
      'q renamed to p', 'replaced p',
    ]);
  });

  it('manifests without a sequence: older than any with one, and by generation among themselves', () => {
    expect(order(copy('old-a', 5, 2), copy('new', 6, 1, 10), copy('old-b', 7, 3))).toEqual(['new', 'old-b', 'old-a']);
  });
});
