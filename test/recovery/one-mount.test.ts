// One filesystem, one mount. A second tierfs given the object tiers of a mounted one — a
// new data directory, whose missing catalog would be rebuilt from those tiers — refuses to
// mount and names the first, whose copies stay untouched (before, it took the filesystem
// over and its garbage collection deleted the first mount's copies: found by the recall
// bench, two mounts over one bucket). Once the first unmounts, the second takes over.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { moveTo, tierOf } from './fixture.js';

const mounts: TierfsMount[] = [];
const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(async () => {
  for (const m of mounts.splice(0)) await m.dispose();
  for (const d of dirs.splice(0)) d.remove();
});

it('a second mount over the object tiers of a mounted filesystem refuses and names it; after that one unmounts, it takes the filesystem over', async () => {
  const cold = tempDir('tierfs-one-mount-cold-');
  dirs.push(cold);
  const options = { moreTiers: fsObjectTier(cold.path), extraYaml: 'cache: { memory: 0, disk: 0 }\n' };
  const a = new TierfsMount(options);
  mounts.push(a);
  await a.start();
  const data = randomBytes(300_000);
  await fs.writeFile(join(a.mnt, 'f'), data);
  await moveTo(a, 'f', 'cold');

  const b = new TierfsMount(options);
  mounts.push(b);
  const refused = await b.start().then(() => null, (err: Error) => err.message);
  expect(refused).toMatch(/filesystem [0-9a-f-]{36} on these object tiers is mounted elsewhere right now/);
  expect(refused).toContain(`data directory ${a.dataDir}`);
  expect(refused).toContain(`mounted at ${a.mnt}`);
  // Nothing of the first mount was touched.
  expect(await tierOf(a, 'f')).toBe('cold');
  expect((await fs.readFile(join(a.mnt, 'f'))).equals(data)).toBe(true);

  // A clean unmount frees the filesystem at once: the second mount rebuilds its catalog from the tiers.
  await a.stop();
  await b.start();
  expect(await tierOf(b, 'f')).toBe('cold');
  expect((await fs.readFile(join(b.mnt, 'f'))).equals(data)).toBe(true);
});
