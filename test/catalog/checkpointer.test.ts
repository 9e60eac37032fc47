// WAL checkpoints by a worker thread (catalog/checkpointer.ts): the daemon's connection
// makes none in its commits, the log is still copied into the catalog file as it grows,
// a worker that cannot run hands the job back, and a close leaves no log behind.
import { afterEach, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { Checkpointer } from '../../src/catalog/checkpointer.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

const until = async (ok: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  return ok();
};

/** The catalog file's size once it stops growing (the worker has copied all there was). */
async function settled(path: string): Promise<number> {
  for (let last = -1; ; ) {
    const size = statSync(path).size;
    if (size === last) return size;
    last = size;
    await new Promise((r) => setTimeout(r, 1500));
  }
}

/** About `mib` MiB of log: files with long names, a transaction per 500. */
function write(c: Catalog, mib: number, from: number): void {
  const pad = 'n'.repeat(200);
  for (let i = from; i < from + mib * 4000; i += 500) {
    c.tx(() => {
      for (let j = i; j < i + 500; j++) {
        const t = BigInt(j);
        c.createInode({ mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, tier: null, volume: null, dataPath: null, target: null }, ROOT_INO, `${pad}-${j}`);
      }
    });
  }
}

it('the log is copied into the catalog file by the worker, not in the commits, and a close leaves none', { timeout: 30_000 }, async () => {
  const d = tempDir();
  dirs.push(d);
  const path = join(d.path, 'catalog.db');
  const c = new Catalog(path, { checkpointInBackground: true });
  try {
    expect(c.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(path).size;
    write(c, 12, 0);
    // Only a checkpoint writes the catalog file: the worker's, since the commits make none.
    expect(await until(() => statSync(path).size - before > 4 * 2 ** 20, 5000)).toBe(true);
    // Once copied whole, the log is written again from its start, no larger than it was:
    // what is committed then is copied too.
    const copied = await settled(path);
    write(c, 2, 48_000);
    expect(await until(() => statSync(path).size - copied > 2 ** 20, 5000)).toBe(true);
    expect(c.db.prepare('SELECT count(*) FROM dirents WHERE parent = ?').pluck().get(ROOT_INO)).toBe(56_000);
  } finally {
    c.close();
  }
  expect(existsSync(`${path}-wal`)).toBe(false);
  const again = new Catalog(path);
  expect(again.db.prepare('SELECT count(*) FROM dirents WHERE parent = ?').pluck().get(ROOT_INO)).toBe(56_000);
  again.close();
});

it('a worker that cannot open the catalog says so: the catalog connection takes checkpoints back', { timeout: 30_000 }, async () => {
  const d = tempDir();
  dirs.push(d);
  let told: Error | undefined;
  const lost = new Checkpointer(join(d.path, 'no-such.db'), (err) => (told = err));
  expect(await until(() => told !== undefined, 10_000)).toBe(true);
  expect(told!.message).toMatch(/SQLITE_CANTOPEN|does not exist/);
  lost.close();
});
