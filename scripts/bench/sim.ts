// npm run bench -- sim [--events N] [--sqlite-events N] [--files N] [--days N] [--pass-interval DURATION] [--json]
//   (defaults: --events 10000000 --sqlite-events 1000000 --files 100000 --days 30 --pass-interval 1h)
//
// Events per second of the policy simulator on a generated Zipf workload, one row per
// simulation fed alone (each row's time includes generating its events): the generator
// and the trace reader (a generic CSV written to a temporary file, then read back), each
// baseline, the offline bound, and the daemon's policy — the real classifier on the
// simulator's in-memory catalog; its cost is per classification pass, per file that
// changed in a pass and per move, with a pass over every file once a simulated day. The
// last row runs the policy on the SQLite catalog (tierfs sim --catalog sqlite) over a
// workload of --sqlite-events events over the same days (0: skipped), as the simulator
// ran before the in-memory catalog. Target: 10 M events in under a minute.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/units.js';
import { BaselineSimulation } from '../../src/sim/baselines.js';
import { PolicySimulation, type Simulation } from '../../src/sim/engine.js';
import { generate, genericLine } from '../../src/sim/generate.js';
import { OfflineBound } from '../../src/sim/offline-bound.js';
import { simTiers } from '../../src/sim/setup.js';
import { readTrace, GENERIC_HEADER } from '../../src/sim/traces/index.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const json = args.includes('--json');
const events = Number(opt('--events', '10000000'));
const files = Number(opt('--files', '100000'));
const days = Number(opt('--days', '30'));
const passIntervalMs = parseDuration(opt('--pass-interval', '1h'));
const sqliteEvents = Number(opt('--sqlite-events', '1000000'));

const { config } = loadConfig(undefined, tmpdir());
const policy = { ...config, policy: { ...config.policy, fullPassInterval: Math.max(config.policy.fullPassInterval, passIntervalMs) } };
const tiers = simTiers(policy, new Map([['hot', files * 2 ** 20 * 0.2]]));
const setup = { config: policy, tiers, misplacementWindowMs: 7 * 86_400_000, passIntervalMs };
const workload = (n = events) => generate('zipf', { events: n, files, days, seed: 1 });

const rows: { what: string; events: number; seconds: number; perSecond: number; rssMiB: number }[] = [];
async function measure(what: string, run: () => Promise<number> | number): Promise<void> {
  const t0 = performance.now();
  const n = await run();
  const seconds = (performance.now() - t0) / 1000;
  rows.push({ what, events: n, seconds, perSecond: n / seconds, rssMiB: process.memoryUsage().rss / 2 ** 20 });
  if (!json) process.stderr.write(`${what}: ${n} events in ${seconds.toFixed(1)} s\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'tierfs-bench-sim-'));
const file = join(dir, 'trace.csv');
try {
  await measure('generate + write CSV', async () => {
    const out = createWriteStream(file);
    out.write(`${GENERIC_HEADER}\n`);
    let n = 0;
    let chunk = '';
    for (const e of workload()) {
      chunk += genericLine(e);
      n++;
      if (chunk.length > 1 << 16) {
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        chunk = '';
      }
    }
    out.write(chunk);
    await new Promise((r) => out.end(r));
    return n;
  });
  await measure('read CSV', async () => {
    let n = 0;
    for await (const _ of readTrace(file)) n++;
    return n;
  });
  const feed = (sim: Simulation, count = events) => () => {
    let n = 0;
    for (const e of workload(count)) (sim.event(e), n++);
    sim.finish();
    return n;
  };
  for (const b of ['lru', 'lfu', 'idle-age'] as const) await measure(b, feed(new BaselineSimulation(b, setup)));
  await measure('offline-bound', feed(new OfflineBound(tiers)));
  const passes = `passes ${opt('--pass-interval', '1h')}, full ${policy.policy.fullPassInterval / 3_600_000} h`;
  await measure(`tierfs policy (${passes})`, feed(new PolicySimulation(setup)));
  if (sqliteEvents > 0) await measure(`tierfs policy, SQLite catalog (${sqliteEvents.toLocaleString('en')} events)`, feed(new PolicySimulation({ ...setup, catalog: 'sqlite' }), sqliteEvents));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (json) process.stdout.write(`${JSON.stringify({ events, files, days, rows }, null, 2)}\n`);
else {
  process.stdout.write(`${events} Zipf events over ${files} files and ${days} days\n`);
  for (const r of rows) process.stdout.write(`${r.what.padEnd(48)} ${r.seconds.toFixed(1).padStart(7)} s  ${Math.round(r.perSecond).toLocaleString('en').padStart(11)} events/s  rss ${r.rssMiB.toFixed(0)} MiB\n`);
  const policyRow = rows.find((r) => r.what.startsWith('tierfs policy ('))!;
  const perTenMillion = (10_000_000 / policyRow.perSecond).toFixed(0);
  process.stdout.write(`\ntarget: 10 M events through the policy in under 60 s — ${perTenMillion} s at this rate: ${Number(perTenMillion) < 60 ? 'met' : 'MISSED'}\n`);
}
