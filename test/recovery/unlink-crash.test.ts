// An unlink of a local file is answered before its catalog change commits: its backing
// name waits in the volume's temp directory, under a name that says which catalog name it
// was, until the commit. The daemon is killed within the group's delay: the next mount
// must finish the unlinks it was answered for — the names gone, nothing reported missing
// or imported again, a hard link's other name whole — and leave no name set aside.
import { afterEach, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const setAside = (m: TierfsMount) => readdirSync(join(m.hot, '.tierfs-tmp')).filter((n) => n.startsWith('unlinking-'));

it('finishes the unlinks that were answered and then lost with their uncommitted group', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start();
  const kept = randomBytes(40_000);
  await fs.mkdir(join(t.mnt, 'd'));
  for (let i = 0; i < 20; i++) await fs.writeFile(join(t.mnt, 'd', `f${i}`), randomBytes(1000));
  await fs.writeFile(join(t.mnt, 'linked'), kept);
  await fs.link(join(t.mnt, 'linked'), join(t.mnt, 'd', 'other-name'));
  await new Promise((r) => setTimeout(r, 1500)); // all of that committed
  for (let i = 0; i < 20; i++) await fs.unlink(join(t.mnt, 'd', `f${i}`));
  await fs.unlink(join(t.mnt, 'linked'));
  expect(setAside(t)).toHaveLength(21); // answered; the group has not committed yet
  await t.kill9(); // within the group's second

  await t.start();
  expect(t.output).toContain('finished an unlink the daemon had died in');
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  expect(status.conflicts).toEqual([]);
  expect(await fs.readdir(t.mnt)).toEqual(['d']);
  expect(await fs.readdir(join(t.mnt, 'd'))).toEqual(['other-name']);
  expect((await fs.readFile(join(t.mnt, 'd', 'other-name'))).equals(kept)).toBe(true);
  expect((await fs.stat(join(t.mnt, 'd', 'other-name'))).nlink).toBe(1);
  expect(setAside(t)).toEqual([]);
});

it('removes the names set aside once the unlinks commit', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 200ms }\n' }).start();
  for (let i = 0; i < 5; i++) await fs.writeFile(join(t.mnt, `f${i}`), 'x');
  for (let i = 0; i < 5; i++) await fs.unlink(join(t.mnt, `f${i}`));
  await waitFor(() => setAside(t!).length === 0, 10_000, () => `still set aside: ${setAside(t!).join(' ')}`);
  expect(await fs.readdir(t.mnt)).toEqual([]);
  expect(readdirSync(t.hot)).toEqual(['.tierfs-tmp']);
});

// A move's old copy is removed as it commits; its garbage row, which says to remove it
// should that fail, may outlive a crash and be collected at the next mount, before
// reconcile has put files whose creates were lost with their group back in the catalog.
it('keeps a file made under a moved file’s old name when the move’s garbage is collected after a crash', { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: 'catalog: { commitDelay: 1s }\n' }).start({ TIERFS_TEST_PAUSE_AT: 'committed' });
  const fresh = randomBytes(20_000);
  await fs.writeFile(join(t.mnt, 'a'), randomBytes(30_000));
  const moving = t.cli(['move', join(t.mnt, 'a'), '--to', 'warm']);
  const marker = join(t.dataDir, 'paused-committed');
  await waitFor(() => existsSync(marker), 20_000, () => `the move never paused\n${t!.output}`);
  expect(existsSync(join(t.hot, 'a'))).toBe(false); // the commit removed the old copy; its garbage row stays
  await fs.unlink(join(t.mnt, 'a'));
  await fs.writeFile(join(t.mnt, 'a'), fresh); // on hot, where the old copy was
  expect(existsSync(join(t.hot, 'a'))).toBe(true);
  await t.kill9(); // within the group's second
  await moving;

  await t.start();
  expect(await fs.readdir(t.mnt)).toEqual(['a']);
  expect((await fs.readFile(join(t.mnt, 'a'))).equals(fresh)).toBe(true);
});
