// A put is durable only if every directory it created is: its entry lives in its parent,
// so the parent of each new directory must be fsynced too, not only the innermost one.
// Which directories get fsynced is watched through node:fs/promises.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const synced: string[] = [];

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (path, ...rest) => {
    const handle = await real.open(path, ...rest);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      if (!String(path).includes('~tmp-')) synced.push(String(path));
      return sync();
    };
    return handle;
  };
  return { ...real, open, default: { ...real, open } };
});

const { FsStore } = await import('../../src/objectstore/fs.js');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tierfs-fs-durable-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  synced.length = 0;
});

const rel = (paths: string[]) => paths.map((p) => (p === root ? '.' : p.slice(root.length + 1))).sort();

describe('fs store durability', () => {
  it('fsyncs the parent of every directory a put creates, up to the root', async () => {
    const store = new FsStore({ root });
    await store.put('fsid/file/s0/c0', Buffer.from('cell'));
    // New: fsid/, fsid/file/, fsid/file/s0/. Their parents: the root, fsid, fsid/file; and s0 for the rename.
    expect(rel(synced)).toEqual(['.', 'fsid', 'fsid/file', 'fsid/file/s0']);
  });

  it('fsyncs only the object directory when every directory was there already', async () => {
    const store = new FsStore({ root });
    await store.put('fsid/file/s0/c1', Buffer.from('cell'));
    expect(rel(synced)).toEqual(['fsid/file/s0']);
    synced.length = 0;
    await store.put('fsid/file/s1/c0', Buffer.from('cell'));
    expect(rel(synced)).toEqual(['fsid/file', 'fsid/file/s1']);
  });

  it('makes the root durable too when the first put creates it', async () => {
    const fresh = join(root, 'fresh', 'store');
    const store = new FsStore({ root: fresh });
    await store.put('k', Buffer.from('v'));
    expect(rel(synced)).toEqual(['.', 'fresh', 'fresh/store']);
  });
});
