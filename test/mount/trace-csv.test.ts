// `tierfs trace` is opened in spreadsheets: a file name (any user of the mount chooses
// one) must not become a formula there, and the simulator must still read the names back.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { eventually } from '../helpers/mount.js';
import { readTrace } from '../../src/sim/traces/index.js';
import { splitCsv } from '../../src/sim/traces/lines.js';

let t: TierfsMount;
const NAMES = ['=1+1', '+cmd', '-rf', '@SUM(A1)', '\tTAB', "'quoted", '=HYPERLINK("evil","y")', 'plain', 'dir/=inside'];

beforeAll(async () => {
  t = await new TierfsMount().start();
});

afterAll(async () => {
  await t?.dispose();
});

it('writes a path a spreadsheet would take for a formula after a quote, which the simulator takes off', async () => {
  await fs.mkdir(join(t.mnt, 'dir'));
  for (const name of NAMES) await fs.writeFile(join(t.mnt, name), 'x');
  const traced = async () => {
    const out = (await t.cli(['trace', t.mnt])).stdout;
    return { out, paths: new Set(out.trim().split('\n').slice(1).map((l) => splitCsv(l)[1])) };
  };
  await eventually(async () => (await traced()).paths.size >= NAMES.length, 10_000, () => `not every file in the trace`);
  const { out, paths } = await traced();
  for (const p of paths) expect(p, `path cell ${JSON.stringify(p)}`).not.toMatch(/^[=+\-@\t\r]/);
  expect(paths).toContain("'=1+1");
  expect(paths).toContain("''quoted");
  expect(paths).toContain('plain');
  expect(paths).toContain('dir/=inside');
  const file = join(t.root, 'trace.csv');
  writeFileSync(file, out);
  const read = new Set<string>();
  for await (const e of readTrace(file)) read.add(e.path);
  expect(read).toEqual(new Set(NAMES));
});
