// Plain `tierfs fsck` (no --rebuild) checks the catalog against the manifests. With no
// usable catalog there is nothing to check against: it must say so, name the command
// that rebuilds it and fail — never report "0 manifests, 0 cold files consistent" and
// exit 0 while the tiers hold manifests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deleteCatalog, mountWithCold, moveTo, truncateCatalog, type ColdMount } from './fixture.js';

let c: ColdMount;
beforeAll(async () => {
  c = mountWithCold('catalog: { backup: { enabled: false } }\n');
  await c.t.start();
  writeFileSync(join(c.t.mnt, 'cold.bin'), Buffer.alloc(100_000, 7));
  await moveTo(c.t, 'cold.bin', 'cold');
  await c.t.stop();
}, 120_000);
afterAll(() => c?.dispose());

const fsck = (...args: string[]) => c.t.cli(['fsck', '--config', c.t.configFile, ...args]);

describe('fsck without a usable catalog', () => {
  it('a healthy catalog checks clean (the baseline)', async () => {
    const r = await fsck();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^1 manifests, 1 cold files consistent$/m);
  });

  it.each([
    ['corrupt', truncateCatalog, /is damaged/],
    ['empty', (t: ColdMount['t']) => {
      deleteCatalog(t);
      new Database(join(t.dataDir, 'catalog.db')).close(); // a database with no filesystem in it
    }, /is empty/],
    ['missing', deleteCatalog, /is missing/],
  ])('%s: says so, names fsck --rebuild and exits non-zero', async (what, damage, state) => {
    damage(c.t);
    const r = await fsck();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(state);
    expect(r.stdout).toContain(`rebuild it with: tierfs fsck --rebuild --config ${c.t.configFile}`);
    expect(r.stdout).not.toMatch(/consistent/);
    if (what !== 'missing') return;
    const json = await fsck('--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ catalog: what, command: `tierfs fsck --rebuild --config ${c.t.configFile}` });
  });
});
