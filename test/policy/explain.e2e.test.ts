// What a user asks of placement through the CLI: why is this file here, what would
// move it, and has the policy been right.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount;
beforeAll(async () => {
  t = await new TierfsMount({
    extraYaml: `policy:
  interval: 1s
  minResidency: 1h
  rules:
    - { name: keep-critical, match: { class: [critical] }, target: hot }
    - { name: tmp-to-warm, match: { path: ["*.tmp"] }, target: warm }
`,
  }).start();
});
afterAll(async () => {
  await t?.dispose();
});

const where = async (p: string) => JSON.parse((await t.cli(['where', '--json', join(t.mnt, p)])).stdout)[0];

it('explains the rule, the reason and what holds the move back; the class xattr feeds the rules', async () => {
  await fs.writeFile(join(t.mnt, 'scratch.tmp'), 'x');
  await fs.writeFile(join(t.mnt, 'vital.tmp'), 'y');
  execFileSync('setfattr', ['-n', 'user.tierfs.class', '-v', 'critical', join(t.mnt, 'vital.tmp')]);

  const scratch = await where('scratch.tmp');
  expect(scratch.tier).toBe('hot');
  expect(scratch.placement).toMatchObject({ rule: 'tmp-to-warm', target: 'warm', reason: 'path matches *.tmp' });
  expect(scratch.placement.hold).toMatch(/^minimum residency on hot until /);

  const vital = await where('vital.tmp');
  expect(vital.placement).toMatchObject({ rule: 'keep-critical', target: 'hot', hold: null });
  expect(vital.placement.reason).toBe('class critical');

  const text = (await t.cli(['where', join(t.mnt, 'scratch.tmp')])).stdout;
  expect(text).toMatch(/placement: rule tmp-to-warm → warm \(path matches \*\.tmp\)/);
  expect(text).toMatch(/not moved yet: minimum residency on hot until/);

  // A manual move is not held back by residency; then the stored decision is there too.
  await t.cli(['move', join(t.mnt, 'scratch.tmp'), '--to', 'warm']);
  await new Promise((r) => setTimeout(r, 2500)); // a classification pass
  const moved = await where('scratch.tmp');
  expect(moved.tier).toBe('warm');
  expect(moved.placement).toMatchObject({ rule: 'tmp-to-warm', target: 'warm', hold: null });
  expect(moved.lastDecision).toMatchObject({ rule: 'tmp-to-warm', target: 'warm' });

  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  expect(status.queue).toEqual({ length: 0, heldBack: null, slowedBy: null });
  expect(status.placement.map((p: { tier: string }) => p.tier)).toEqual(['hot', 'warm']);
});
