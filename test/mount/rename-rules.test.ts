// A file renamed, or a directory moved, to where a path rule applies follows the rule at
// the next classification pass (every second here) — not at the next full pass (hourly).
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

let t: TierfsMount;
const m = (p: string) => join(t.mnt, p);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  t = await new TierfsMount({
    extraYaml: `policy:
  interval: 1s
  minResidency: 0s
  rules:
    - name: archive
      match: { path: ['archive/**'] }
      target: warm
    - name: rest
      target: hot
`,
  }).start();
  await fs.mkdir(m('archive'));
});
afterAll(async () => {
  await t?.dispose();
});

/** Waits until each path is on warm (and gone from hot), then reads it through the mount. */
async function onWarm(paths: Record<string, string>): Promise<void> {
  const there = () => Object.keys(paths).every((p) => existsSync(join(t.warm, p)) && !existsSync(join(t.hot, p)));
  await waitFor(there, 20_000, () => `not moved to warm: ${Object.keys(paths).filter((p) => !existsSync(join(t.warm, p))).join(', ')}`);
  for (const [p, content] of Object.entries(paths)) expect(await fs.readFile(m(p), 'utf8')).toBe(content);
}

it('a file renamed into a directory that a path rule names moves to its tier', async () => {
  await fs.writeFile(m('report.txt'), 'quarterly');
  // Classified where it is (rest → hot), and no longer marked by its own write.
  await sleep(2500);
  expect(existsSync(join(t.hot, 'report.txt'))).toBe(true);
  await fs.rename(m('report.txt'), m('archive/report.txt'));
  await onWarm({ 'archive/report.txt': 'quarterly' });
});

it('a directory moved under that path takes every file below it along', async () => {
  await fs.mkdir(m('project/src'), { recursive: true });
  await fs.writeFile(m('project/README'), 'readme');
  await fs.writeFile(m('project/src/main.c'), 'int main;');
  await sleep(2500);
  expect(existsSync(join(t.hot, 'project/src/main.c'))).toBe(true);
  await fs.rename(m('project'), m('archive/project'));
  await onWarm({ 'archive/project/README': 'readme', 'archive/project/src/main.c': 'int main;' });
});
