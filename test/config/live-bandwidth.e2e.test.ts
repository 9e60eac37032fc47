// The mover's bandwidth changed while a move runs: the running move follows the new
// rate at once (within 10%), through the same admin call `tierfs config set` makes.
import { afterEach, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { adminJson, socketPathOf } from '../../src/admin/client.js';
import type { ApplyAnswer } from '../../src/config/manager.js';
import { TierfsMount } from '../helpers/tierfs.js';

const MiB = 1 << 20;

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

interface Moves {
  active: { id: number; bytes: number; total: number }[];
  recent: { state: string; bytes: number }[];
}

it('a move running at 4 MiB/s goes on at 1 MiB/s once the bandwidth is lowered, then at full speed once it is lifted', async () => {
  t = await new TierfsMount({
    extraYaml: `policy:\n  interval: 1s\n  minResidency: 0s\n  rules:\n    - name: rest\n      target: warm\nmover:\n  bandwidth: 4MiB\n`,
  }).start();
  const socket = socketPathOf(t.dataDir);
  const moves = () => adminJson<Moves>(socket, 'GET', '/v1/moves?limit=5');
  const setBandwidth = async (value: string) => {
    const text = readFileSync(t!.configFile, 'utf8').replace(/bandwidth: .*/, `bandwidth: ${value}`);
    const a = await adminJson<ApplyAnswer>(socket, 'POST', '/v1/config/apply', { text, message: `bandwidth ${value}`, caller: { uid: 0, user: 'test' } });
    expect(a.applied).toBe(true);
  };
  // Room for a slow apply: the pieces measured at 1 MiB/s may begin past 12 MiB.
  const data = randomBytes(24 * MiB);
  await fs.writeFile(join(t.mnt, 'big.bin'), data);

  // Progress is reported per MiB piece: the times each piece is first seen give the rate.
  const seen = new Map<number, number>();
  const progress = async () => {
    const a = (await moves()).active[0];
    if (a && !seen.has(a.bytes)) seen.set(a.bytes, performance.now());
    return a?.bytes ?? 0;
  };
  for (const end = Date.now() + 20_000; (await progress()) < 4 * MiB; ) {
    if (Date.now() > end) throw new Error(`the move did not start\n${t.output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await setBandwidth('1MiB');
  // A piece that begins after the apply has returned is paid for wholly at the new rate
  // (the apply itself, with its fsyncs, may outlast a piece at the old one): the piece after
  // the first one seen ending since.
  const applied = await progress();
  let next = applied;
  while ((next = await progress()) === applied) await new Promise((r) => setTimeout(r, 20));
  const from = next + MiB;
  expect(from + 3 * MiB, 'the apply took so long that the move is nearly done').toBeLessThan(data.length);
  while ((await progress()) < from + 3 * MiB) await new Promise((r) => setTimeout(r, 20));
  const rate = (3 * MiB) / ((seen.get(from + 3 * MiB)! - seen.get(from)!) / 1000);
  expect(rate / MiB, `${(rate / MiB).toFixed(3)} MiB/s`).toBeGreaterThan(0.9);
  expect(rate / MiB).toBeLessThan(1.1);

  // Lifted: the rest (about 14 MiB) goes in well under the time it would take at 1 MiB/s.
  const rest = data.length - Math.max(...seen.keys());
  const lifted = performance.now();
  await setBandwidth('0');
  for (;;) {
    const m = await moves();
    if (m.active.length === 0 && m.recent.some((r) => r.state === 'done')) break;
    if (performance.now() - lifted > 20_000) throw new Error('the move did not finish');
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(performance.now() - lifted).toBeLessThan((0.5 * 1000 * rest) / MiB);
  expect(existsSync(join(t.warm, 'big.bin'))).toBe(true);
  expect(readFileSync(join(t.warm, 'big.bin')).equals(data)).toBe(true);
}, 60_000);
