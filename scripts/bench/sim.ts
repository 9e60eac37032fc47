// npm run bench -- sim [--events N] [--sqlite-events N] [--files N] [--days N] [--pass-interval DURATION] [--json] [--row NAME]
//   (defaults: --events 10000000 --sqlite-events 1000000 --files 100000 --days 30 --pass-interval 1h)
//   --row NAME runs one row alone and prints it as JSON (csv, lru, lfu, idle-age, bound,
//   policy, sqlite): how the bench runs each row, in a process of its own
//
// Events per second of the policy simulator on a generated Zipf workload, one row per
// simulation fed alone, each in a process of its own (each row's time includes
// generating its events): the generator and the trace reader (a generic CSV written to
// a temporary file, then read back), each baseline, the offline bound, and the daemon's policy — the real classifier on the
// simulator's in-memory catalog; its cost is per classification pass, per file that
// changed in a pass and per move, with a pass over every file once a simulated day. The
// last row runs the policy on the SQLite catalog (tierfs sim --catalog sqlite) over a
// workload of --sqlite-events events over the same days (0: skipped), as the simulator
// ran before the in-memory catalog. Target: 10 M events in under a minute.
import { spawnSync } from 'node:child_process';
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

interface Row {
  what: string;
  events: number;
  seconds: number;
  perSecond: number;
  rssMiB: number;
}

async function measure(what: string, run: () => Promise<number> | number): Promise<Row> {
  const t0 = performance.now();
  const n = await run();
  const seconds = (performance.now() - t0) / 1000;
  return { what, events: n, seconds, perSecond: n / seconds, rssMiB: process.memoryUsage().rss / 2 ** 20 };
}

/** A row: a simulation made in the row's own process, fed the workload. */
const feed = (what: string, make: () => Simulation, count = events) => async (): Promise<Row[]> => [
  await measure(what, () => {
    const sim = make();
    let n = 0;
    for (const e of workload(count)) (sim.event(e), n++);
    sim.finish();
    return n;
  }),
];

// Each row runs in a process of its own: one simulation's heap (the offline bound's is
// the largest) must not be collected on the next one's time.
const passes = `passes ${opt('--pass-interval', '1h')}, full ${policy.policy.fullPassInterval / 3_600_000} h`;
const POLICY_ROW = `tierfs policy (${passes})`;
const ROWS: Record<string, () => Promise<Row[]>> = {
  csv: csvRoundTrip,
  lru: feed('lru', () => new BaselineSimulation('lru', setup)),
  lfu: feed('lfu', () => new BaselineSimulation('lfu', setup)),
  'idle-age': feed('idle-age', () => new BaselineSimulation('idle-age', setup)),
  bound: feed('offline-bound', () => new OfflineBound(tiers)),
  policy: feed(POLICY_ROW, () => new PolicySimulation(setup)),
  sqlite: feed(`tierfs policy, SQLite catalog (${sqliteEvents.toLocaleString('en')} events)`, () => new PolicySimulation({ ...setup, catalog: 'sqlite' }), sqliteEvents),
};

/** The generic CSV written and read back: the trace reader's speed (one row each). */
async function csvRoundTrip(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tierfs-bench-sim-'));
  const file = join(dir, 'trace.csv');
  try {
    const write = await measure('generate + write CSV', async () => {
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
    const read = await measure('read CSV', async () => {
      let n = 0;
      for await (const _ of readTrace(file)) n++;
      return n;
    });
    return [write, read];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const only = opt('--row', '');
if (only) {
  const run = ROWS[only];
  if (!run) throw new Error(`no row ${only} (rows: ${Object.keys(ROWS).join(', ')})`);
  process.stdout.write(`${JSON.stringify(await run())}\n`);
  process.exit(0);
}

const rows: Row[] = [];
for (const key of Object.keys(ROWS)) {
  if (key === 'sqlite' && sqliteEvents <= 0) continue;
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...args, '--row', key], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status !== 0) {
    process.stderr.write(`row ${key}: failed (exit ${child.status}): ${child.stderr.trim().split('\n').at(-1)}\n`);
    continue;
  }
  for (const r of JSON.parse(child.stdout) as Row[]) {
    rows.push(r);
    if (!json) process.stderr.write(`${r.what}: ${r.events} events in ${r.seconds.toFixed(1)} s\n`);
  }
}

if (json) process.stdout.write(`${JSON.stringify({ events, files, days, rows }, null, 2)}\n`);
else {
  process.stdout.write(`${events} Zipf events over ${files} files and ${days} days\n`);
  for (const r of rows) process.stdout.write(`${r.what.padEnd(48)} ${r.seconds.toFixed(1).padStart(7)} s  ${Math.round(r.perSecond).toLocaleString('en').padStart(11)} events/s  rss ${r.rssMiB.toFixed(0)} MiB\n`);
  const policyRow = rows.find((r) => r.what === POLICY_ROW);
  const perTenMillion = policyRow ? (10_000_000 / policyRow.perSecond).toFixed(0) : undefined;
  process.stdout.write(`\ntarget: 10 M events through the policy in under 60 s — ${perTenMillion === undefined ? 'no policy row (it failed): MISSED' : `${perTenMillion} s at this rate: ${Number(perTenMillion) < 60 ? 'met' : 'MISSED'}`}\n`);
}
