// A file's backing copy gets its times through utimes (a move between local tiers, a
// restored file): Node takes seconds as a double, and Node 20's libuv also cuts them to
// the microsecond, so they come back up to about 1.2 µs off the catalog's nanoseconds
// (Node 24's keeps the nanoseconds: only the double's rounding, ~100 ns, remains). Reconcile must not take that for a
// change of the data (which bumps the generation and drops the recorded hash).
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { utimeSeconds } from '../../src/tiers/local/copy.js';
import { reconcile } from '../../src/vfs/reconcile.js';
import { tempDir } from '../helpers/tmp.js';

let dir: ReturnType<typeof tempDir> | undefined;
afterEach(() => dir?.remove());

it('a backing file whose times were set through utimes is not a changed file', () => {
  dir = tempDir();
  const volume = join(dir.path, 'hot');
  const hot = new LocalTier({ name: 'hot', kind: 'local', volumes: [{ path: volume }], watermarks: { high: 0.9, low: 0.75 } });
  const catalog = new Catalog(join(dir.path, 'catalog.db'));
  // A time whose microsecond cut and double rounding together are more than 1 µs off (Node 20).
  const mtimeNs = 1796057890778812021n;
  fs.writeFileSync(join(volume, 'f'), 'bytes');
  const fd = fs.openSync(join(volume, 'f'), 'r+');
  fs.futimesSync(fd, utimeSeconds(mtimeNs), utimeSeconds(mtimeNs));
  fs.closeSync(fd);
  const onDisk = fs.statSync(join(volume, 'f'), { bigint: true }).mtimeNs;
  expect(mtimeNs - onDisk).toBeGreaterThan(process.versions.node.startsWith('20.') ? 1000n : 0n);
  const ino = catalog.createInode(
    { mode: 0o100644, uid: 0, gid: 0, nlink: 1, rdev: 0, size: 5, atimeNs: mtimeNs, mtimeNs, ctimeNs: mtimeNs, tier: 'hot', volume, dataPath: 'f', target: null },
    ROOT_INO,
    'f',
  );
  catalog.recordHash(ino, 0, 'ab'.repeat(32));

  expect(reconcile(catalog, [hot]).updated).toBe(0);
  expect(catalog.getInode(ino)).toMatchObject({ mtimeNs, generation: 0, sha256: 'ab'.repeat(32) });
  catalog.close();
});
