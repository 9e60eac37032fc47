// `tierfs trace` is opened in spreadsheets: a file name (any user of the mount chooses
// one) must not become a formula there, and the simulator must still read every name
// back, one with a line break too.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { eventually } from '../helpers/mount.js';
import { readTrace, TraceStats } from '../../src/sim/traces/index.js';

let t: TierfsMount;
const NAMES = ['=1+1', '+cmd', '-rf', '@SUM(A1)', '\tTAB', "'quoted", '=HYPERLINK("evil","y")', 'two\nlines', 'plain', 'dir/=inside'];

beforeAll(async () => {
  t = await new TierfsMount().start();
});

afterAll(async () => {
  await t?.dispose();
});

it('writes a path a spreadsheet would take for a formula after a quote, which the simulator takes off', async () => {
  await fs.mkdir(join(t.mnt, 'dir'));
  for (const name of NAMES) await fs.writeFile(join(t.mnt, name), 'x');
  const file = join(t.root, 'trace.csv');
  const read = async () => {
    const out = (await t.cli(['trace', t.mnt])).stdout;
    writeFileSync(file, out);
    const stats = new TraceStats();
    const paths = new Set<string>();
    for await (const e of readTrace(file, {}, stats)) paths.add(e.path);
    return { out, paths, stats };
  };
  await eventually(async () => (await read()).paths.size >= NAMES.length, 10_000, () => 'not every file in the trace');
  const { out, paths, stats } = await read();
  expect(paths).toEqual(new Set(NAMES));
  expect(stats.malformed).toBe(0);
  // No record's path cell (the second) begins with what a spreadsheet evaluates.
  expect(out).not.toMatch(/^[^,\n]*,"?[=+\-@\t\r]/m);
  expect(out).toContain(",'=1+1,");
  expect(out).toContain(",''quoted,");
  expect(out).toContain(',"\'=HYPERLINK(""evil"",""y"")",');
  expect(out).toContain(',"two\nlines",');
  expect(out).toContain(',dir/=inside,');
});
