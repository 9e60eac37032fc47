// The simulator drives the daemon's own policy: a workload run on a real mount, its
// access trace exported with `tierfs trace`, and the same trace replayed by the
// simulator under the mount's own tierfs.yaml end with every file on the same tier.
// Two policies (heat thresholds of 3.5 and 6.5 opens) place the files differently on the
// mount, and the simulator follows each. No hysteresis: a file's tier at the end then
// depends on its final heat only, not on when passes ran during the workload.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { loadConfig } from '../../src/config/load.js';
import { PolicySimulation } from '../../src/sim/engine.js';
import { simTiers } from '../../src/sim/setup.js';
import { readTrace } from '../../src/sim/traces/index.js';
import { eventually } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const policy = (heat: number) => `policy:
  interval: 1s
  minResidency: 0s
  hysteresis: 0%
  halfLife: 1d
  rules:
    - name: busy
      match: { heatAbove: ${heat} }
      target: hot
    - name: rest
      target: warm
mover:
  retryDelay: 1s
`;


/** Files f0..f7; file i opened and read i+1 times after it was written. */
async function workload(m: TierfsMount): Promise<string[]> {
  const names = Array.from({ length: 8 }, (_, i) => `f${i}.bin`);
  for (const [i, n] of names.entries()) await fs.writeFile(join(m.mnt, n), Buffer.alloc(32 * 1024 + i * 1000, i + 1));
  for (const [i, n] of names.entries()) for (let k = 0; k <= i; k++) await fs.readFile(join(m.mnt, n));
  return names;
}

describe('the simulator and the daemon agree', () => {
  for (const heat of [3.5, 6.5]) {
    it(`final placement under heatAbove ${heat} is the mount's`, async () => {
      t = await new TierfsMount({ hotCapacity: '256MiB', extraYaml: policy(heat) }).start();
      const m = t;
      const names = await workload(m);
      const tierOf = (n: string) => (existsSync(join(m.hot, n)) ? 'hot' : existsSync(join(m.warm, n)) ? 'warm' : 'none');
      // The daemon settles: no move queued or running, and the files where they are, for two
      // whole classification passes.
      const url = await m.metricsUrl();
      const passes = async () => (await m.scrape(url)).value('tierfs_classifier_pass_seconds_count', {}) ?? 0;
      const placement = () => JSON.stringify(names.map(tierOf));
      let quiet: { since: number; placed: string } | undefined;
      await eventually(
        async () => {
          const q = JSON.parse((await m.cli(['moves', '--json', m.mnt])).stdout) as { queueLength: number; active: unknown[] };
          const placed = placement();
          if (q.queueLength > 0 || q.active.length > 0 || names.some((n) => tierOf(n) === 'none') || placed !== quiet?.placed) {
            quiet = { since: await passes(), placed };
            return false;
          }
          return (await passes()) >= quiet.since + 2;
        },
        30_000,
        () => `not settled: ${placement()}`,
      );
      const mounted = new Map(names.map((n) => [n, tierOf(n)]));
      const settledAt = Date.now();

      const trace = await m.cli(['trace', m.mnt]);
      expect(trace.code).toBe(0);
      const file = join(m.root, 'trace.csv');
      writeFileSync(file, trace.stdout);

      const { config } = loadConfig(m.configFile);
      const sim = new PolicySimulation({ config, tiers: simTiers(config), misplacementWindowMs: 86_400_000 });
      for await (const e of readTrace(file)) sim.event(e);
      sim.runUntil(settledAt);
      const simulated = new Map(names.map((n) => [n, sim.tierOf(n)]));
      expect(simulated).toEqual(mounted);
      // the policy made a difference, so the comparison says something
      expect(new Set(mounted.values())).toEqual(new Set(['hot', 'warm']));
    }, 90_000);
  }
});
