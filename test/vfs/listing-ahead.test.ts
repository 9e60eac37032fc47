// Which directory is read ahead of a walk by name, and what a wrong guess costs
// (vfs/listing-ahead.ts); through the vfs, with a real catalog. What a user sees through
// the mount is in test/mount/listing-ahead.test.ts.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { Catalog, ROOT_INO } from '../../src/catalog/catalog.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { TierSet } from '../../src/tiers/tier-set.js';
import { AccessRecorder } from '../../src/vfs/access-recorder.js';
import { Vfs } from '../../src/vfs/vfs.js';
import { entriesOf } from '../helpers/joined-names.js';
import { tempDir } from '../helpers/tmp.js';

const caller = { uid: 0, gid: 0, pid: 1 };
let dir: ReturnType<typeof tempDir>;
let catalog: Catalog;
let vfs: Vfs;

beforeEach(() => {
  dir = tempDir();
  catalog = new Catalog(join(dir.path, 'catalog.db'));
  const hot = new LocalTier({ name: 'hot', kind: 'local', volumes: [{ path: join(dir.path, 'hot') }], watermarks: { high: 0.9, low: 0.75 } });
  vfs = new Vfs(catalog, new TierSet([{ kind: 'local', name: 'hot', local: hot }]), new AccessRecorder(catalog, { enabled: false, flushIntervalMs: 10_000, logMaxRows: 10 }));
});
afterEach(() => {
  vfs.closeAll();
  catalog.close();
  dir.remove();
});

/** A tree: a/{x/{p}, y}, b, c, with a file in each directory. */
async function tree(): Promise<Record<string, number>> {
  const ino: Record<string, number> = {};
  const mk = (parent: number, name: string) => (ino[name] = vfs.mkdir(caller, parent, name, 0o755).ino);
  mk(ROOT_INO, 'a');
  mk(ino.a!, 'x');
  mk(ino.x!, 'p');
  mk(ino.a!, 'y');
  mk(ROOT_INO, 'b');
  mk(ROOT_INO, 'c');
  for (const [name, d] of Object.entries(ino)) vfs.release((await vfs.create(caller, d, `in-${name}`, 0o644, 0)).fh);
  return ino;
}

/** A listing by name of d's first page, as the adapter asks for it; then the turn in which the next one is read. */
async function list(d: number): Promise<string[]> {
  const fh = vfs.opendir(d);
  const names = entriesOf(vfs.readdir(d, fh, 0, 64)).map((e) => e[1]);
  vfs.releasedir(fh);
  await turn();
  return names;
}

it('a depth-first walk gets each directory after the first read ahead: into subdirectories, on to siblings, up and on', async () => {
  const ino = await tree();
  const order = ['a', 'x', 'p', 'y', 'b', 'c'];
  const listings: string[][] = [];
  for (const name of order) listings.push(await list(ino[name]!));
  expect(listings.map((l) => l.filter((n) => n.startsWith('in-')))).toEqual(order.map((n) => [`in-${n}`]));
  expect(listings[0]).toEqual(['.', '..', 'x', 'y', 'in-a']);
  expect(vfs.listingAhead.counts).toEqual({ used: order.length - 1, unused: 0 });
});

it('a walk in another order costs at most every other listing one read nobody asks for, and each listing is right', async () => {
  const ino = await tree();
  const order = ['c', 'b', 'y', 'p', 'x', 'a'];
  for (const name of order) expect((await list(ino[name]!)).filter((n) => n.startsWith('in-'))).toEqual([`in-${name}`]);
  const { used, unused } = vfs.listingAhead.counts;
  expect(used).toBe(0);
  expect(unused).toBeLessThanOrEqual(order.length / 2);
});
