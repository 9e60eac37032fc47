// Crash safety of moves onto an object tier, and the catalog rebuilt from the tiers.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount, type CliResult } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

const CHUNK = 128 * 1024;
let t: TierfsMount | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

function mountWithColdTier(): TierfsMount {
  return new TierfsMount({
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 3, m: 2 }
    chunkSize: ${CHUNK}
    smallFileThreshold: 4KiB
    backends:
      - { name: a, type: fs, root: ./cold-a }
      - { name: b, type: fs, root: ./cold-b }
`,
    extraYaml: 'cache: { memory: 0, disk: 0 }\n',
  });
}

/** Every object key in the cold tier's two fs stores. */
function coldObjects(m: TierfsMount): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue; // .tierfs: the mounts' heartbeats, not the filesystem's data
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  walk(join(m.root, 'cold-a'), 'a:');
  walk(join(m.root, 'cold-b'), 'b:');
  return out.sort();
}

describe('crash during a move to an object tier', () => {
  // Paused at a step and killed there, or killed by the daemon itself halfway through
  // the copy, where no pause can stop it: the tier stores stripes in batches of 16 MiB
  // and reports progress after each, so that file is one stripe more than a batch.
  const points: { step: string; env: Record<string, string> }[] = [
    ...(['intent', 'copied', 'verified', 'committed'] as const).map((step) => ({ step, env: { TIERFS_TEST_PAUSE_AT: step } })),
    { step: 'copying', env: { TIERFS_TEST_CRASH_AT: 'copying' } },
  ];
  for (const { step, env } of points) {
    it(`at step "${step}": the file reads back exactly and no orphan object remains`, async () => {
      t = await mountWithColdTier().start(env);
      const BATCH = 16 * 1024 * 1024;
      const data = randomBytes(step === 'copying' ? BATCH + 100 : 3 * CHUNK + 100);
      const stripes = Math.ceil(data.length / CHUNK);
      await fs.writeFile(join(t.mnt, 'f'), data);
      const moving: Promise<CliResult> = t.cli(['move', join(t.mnt, 'f'), '--to', 'cold']);
      if (env.TIERFS_TEST_PAUSE_AT) {
        await waitFor(() => existsSync(join(t!.dataDir, `paused-${step}`)), 30_000, () => `move never paused\n${t!.output}`);
      } else {
        await waitFor(() => t!.output.includes(`test hook: crashing at ${step}`), 30_000, () => `move never crashed\n${t!.output}`);
        await moving;
        // The first batch's cells are stored (5 per stripe), no manifest yet: the orphans recovery must find.
        expect(coldObjects(t)).toHaveLength((BATCH / CHUNK) * 5);
      }
      await t.kill9();
      await moving;
      rmSync(join(t.dataDir, `paused-${step}`), { force: true });
      await t.start();
      await t.drainQueue(); // the queued request runs again
      expect((await fs.readFile(join(t.mnt, 'f'))).equals(data)).toBe(true);
      const w = JSON.parse((await t.cli(['where', '--json', join(t.mnt, 'f')])).stdout)[0];
      expect(w.tier).toBe('cold');
      expect(existsSync(join(t.hot, 'f'))).toBe(false);
      // Exactly one copy's objects: 5 cells a stripe + a manifest on each backend.
      const objects = coldObjects(t);
      const fileIds = new Set(objects.map((k) => k.split('/')[1]));
      expect(fileIds.size, objects.join('\n')).toBe(1);
      expect(objects).toHaveLength(stripes * 5 + 2);
    });
  }
});

describe('fsck', () => {
  it('rebuilds the namespace of cold files from an empty catalog', async () => {
    t = await mountWithColdTier().start();
    await fs.mkdir(join(t.mnt, 'projects', 'old'), { recursive: true });
    const a = randomBytes(2 * CHUNK);
    const b = randomBytes(1000);
    await fs.writeFile(join(t.mnt, 'projects', 'old', 'a.bin'), a);
    await fs.writeFile(join(t.mnt, 'projects', 'b.txt'), b);
    await fs.chmod(join(t.mnt, 'projects', 'b.txt'), 0o640);
    const r = await t.cli(['move', join(t.mnt, 'projects'), '--to', 'cold', '--json']);
    expect(JSON.parse(r.stdout).map((x: { state: string }) => x.state)).toEqual(['done', 'done']);
    const check = await t.cli(['fsck', '--config', t.configFile, '--json']);
    expect(check.code).not.toBe(0); // refused while mounted
    expect(check.stderr).toMatch(/unmount it first/);
    await t.stop();

    const ok = JSON.parse((await t.cli(['fsck', '--config', t.configFile, '--json'])).stdout);
    expect(ok).toMatchObject({ manifests: 2, consistent: 2, missingManifest: [], unknownManifests: [] });

    for (const f of readdirSync(t.dataDir)) if (f.startsWith('catalog.db')) rmSync(join(t.dataDir, f));
    const rebuilt = await t.cli(['fsck', '--config', t.configFile, '--rebuild', '--json']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(JSON.parse(rebuilt.stdout).manifests.restored.sort()).toEqual(['projects/b.txt', 'projects/old/a.bin']); // the report is per kind now
    await t.start();
    expect((await fs.readFile(join(t.mnt, 'projects', 'old', 'a.bin'))).equals(a)).toBe(true);
    expect((await fs.readFile(join(t.mnt, 'projects', 'b.txt'))).equals(b)).toBe(true);
    expect((await fs.stat(join(t.mnt, 'projects', 'b.txt'))).mode & 0o777).toBe(0o640);
  });
});
