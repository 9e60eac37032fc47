// `tierfs status`'s "automatic placement" counts only what the policy moved; a move a
// person asked for is shown apart, in its own table.
import { afterEach, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

async function eventually(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Counts { promotions: number; demotions: number; misplacements: number; manualIn: number; manualOut: number }

it('counts one automatic demotion as automatic and one manual move apart', async () => {
  t = await new TierfsMount({
    extraYaml: `policy:\n  interval: 1s\n  minResidency: 0s\n  rules:\n    - { name: scratch, match: { path: ["scratch/**"] }, target: warm }\n`,
  }).start();
  await mkdir(join(t.mnt, 'scratch'));
  writeFileSync(join(t.mnt, 'scratch', 'auto.bin'), 'moved by the rule');
  writeFileSync(join(t.mnt, 'manual.bin'), 'moved by a person');
  const moved = await t.cli(['move', join(t.mnt, 'manual.bin'), '--to', 'warm']);
  expect(moved.code, moved.stderr).toBe(0);
  await eventually(() => existsSync(join(t!.warm, 'scratch', 'auto.bin')) && existsSync(join(t!.warm, 'manual.bin')), 30_000, 'both files on warm');

  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout) as { placement: { tier: string; day: Counts; week: Counts }[] };
  const hot = status.placement.find((p) => p.tier === 'hot')!;
  const warm = status.placement.find((p) => p.tier === 'warm')!;
  expect(hot.day).toEqual({ promotions: 0, demotions: 1, misplacements: 0, manualIn: 0, manualOut: 1 });
  expect(warm.day).toEqual({ promotions: 0, demotions: 0, misplacements: 0, manualIn: 1, manualOut: 0 });

  const text = (await t.cli(['status', t.mnt])).stdout;
  const automatic = text.slice(text.indexOf('automatic placement'));
  // tier, day: in, out, misplaced, week: in, out, misplaced
  expect(automatic).toMatch(/^hot\s+0\s+1\s+0\s+0\s+1\s+0\s*$/m);
  const other = text.slice(text.indexOf('other moves'));
  expect(text.indexOf('other moves')).toBeGreaterThan(0);
  expect(other).toMatch(/^hot\s+0\s+1\s+0\s+1\s*$/m);
  expect(other).toMatch(/^warm\s+1\s+0\s+1\s+0\s*$/m);
});
