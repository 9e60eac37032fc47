// A backend wiped clean (a bucket emptied, a disk replaced): `tierfs scrub --repair`
// puts back every object it held — the cells, rebuilt from parity or from another
// replica, and its copy of each manifest — reports both, and the next scrub is clean.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../../helpers/tierfs.js';
import { tempDir } from '../../helpers/tmp.js';

const KiB = 1024;
const backends = [0, 1, 2].map((i) => tempDir(`tierfs-scrub-b${i}-`));
let t: TierfsMount;

/** Every object file under a backend's root, relative to it. */
function objects(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue; // .tierfs: the mounts' heartbeats, not the filesystem's data
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

beforeAll(async () => {
  t = await new TierfsMount({
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: 64KiB
    smallFileThreshold: 8KiB
    backends:
${backends.map((b, i) => `      - { name: b${i}, type: fs, root: ${b.path} }\n`).join('')}`,
    extraYaml: 'cache: { memory: 0, disk: 0 }\n',
  }).start();
}, 60_000);

afterAll(async () => {
  await t?.dispose();
  for (const b of backends) b.remove();
});

it('scrub --repair after a backend is wiped restores its cells and manifests; a second scrub is clean', async () => {
  const files = { striped: randomBytes(150 * KiB), small: randomBytes(3 * KiB) };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(t.mnt, name), data);
  const moved = await t.cli(['move', join(t.mnt, 'striped'), join(t.mnt, 'small'), '--to', 'cold']);
  expect(moved.code, moved.stderr).toBe(0);

  // The move may mark the manifests to be written again with the file's final attributes
  // (manifest-sync, every second), which would put back a wiped copy before the scrub
  // runs: wait for two runs of it to finish, so one began after the move.
  const syncRuns = async () => {
    const s = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout) as { background: { tasks: { name: string; runs: number }[] } };
    return s.background.tasks.find((x) => x.name === 'manifest-sync')!.runs;
  };
  const runsAfterMove = await syncRuns();
  while ((await syncRuns()) < runsAfterMove + 2) await new Promise((r) => setTimeout(r, 500));
  const wiped = backends[1]!.path;
  const before = objects(wiped);
  expect(before.length).toBeGreaterThan(2); // cells of both files and their manifests
  for (const e of readdirSync(wiped)) rmSync(join(wiped, e), { recursive: true });

  const repair = await t.cli(['scrub', t.mnt, '--repair', '--json']);
  expect(repair.code, repair.stdout + repair.stderr).toBe(0);
  const report = JSON.parse(repair.stdout);
  expect(report).toMatchObject({ files: 2, manifestsBad: 2, manifestsRepaired: 2, stripesLost: 0 });
  expect(report.cellsBad).toBeGreaterThan(0);
  expect(report.cellsRepaired).toBe(report.cellsBad);
  expect(report.damaged.join('\n')).toMatch(/^striped: 1 missing or bad manifest copies, 1 written again$/m);
  // Every object the backend held is back, under the same key.
  expect(objects(wiped)).toEqual(before);
  for (const p of before) expect(statSync(join(wiped, p)).size).toBeGreaterThan(0);
  for (const [name, data] of Object.entries(files)) expect((await readFile(join(t.mnt, name))).equals(data)).toBe(true);

  const again = await t.cli(['scrub', t.mnt]);
  expect(again.code, again.stdout + again.stderr).toBe(0);
  expect(again.stdout).toMatch(/scrubbed 2 files: \d+ cells checked, 0 bad, 0 repaired, 0 stripes lost; 6 manifest copies checked, 0 bad, 0 repaired/);
});
