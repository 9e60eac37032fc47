// tierfs sim: replay a trace against the policy of a tierfs.yaml (the daemon's own code,
// in simulated time), the baselines and the offline bound; sweeps, plots, synthetic
// workloads (sim generate) and a suggested policy (policy suggest).
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { parseBytes, parseDuration } from '../config/units.js';
import { simulatedCost } from '../sim/cost.js';
import { generate, genericLine, GENERATE_DEFAULTS, KINDS, type WorkloadKind } from '../sim/generate.js';
import { lineChart } from '../sim/plot-svg.js';
import type { PolicyResult, TierLatency } from '../sim/results.js';
import { best, runVariants, type VariantResult } from '../sim/run.js';
import { DEFAULT_MISPLACEMENT_WINDOW } from '../sim/setup.js';
import { parseSweep, variants, type SweepAxis } from '../sim/sweep.js';
import { readTrace, TraceStats, type TraceFormat } from '../sim/traces/index.js';
import { GENERIC_HEADER } from '../sim/traces/index.js';
import { CliError, formatBytes, printJson, table } from './output.js';

const collect = (v: string, prev: string[]) => [...prev, v];

function pairs(list: string[], flag: string): [string, string][] {
  return list.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new CliError(`${flag} ${s}: want NAME=VALUE`);
    return [s.slice(0, eq), s.slice(eq + 1)];
  });
}

/** --latency hot=0.1ms:1.5GB (first byte, then bytes per second) */
function latencies(list: string[]): Map<string, TierLatency> {
  return new Map(
    pairs(list, '--latency').map(([tier, v]) => {
      const [first, rate] = v.split(':');
      const firstByteMs = parseDuration(first!);
      return [tier, { firstByteMs, bytesPerSecond: rate ? parseBytes(rate.replace(/\/s$/, '')) : 1e9 }];
    }),
  );
}

interface SimOpts {
  config?: string;
  trace: string;
  format?: TraceFormat;
  extent: string;
  capacity: string[];
  latency: string[];
  sweep: string[];
  pin: string[];
  passInterval?: string;
  misplacementWindow?: string;
  baselines: boolean;
  bound: boolean;
  catalog: string;
  json?: boolean;
  plot?: string;
}

const pct = (r: number) => (Number.isFinite(r) ? `${(r * 100).toFixed(1)}%` : '-');

async function simulate(o: SimOpts, axes: SweepAxis[], baselines = o.baselines) {
  if (!o.trace) throw new CliError('--trace FILE is required (tierfs trace > FILE, or tierfs sim generate KIND --out FILE)', 2);
  const { config } = loadConfig(o.config);
  const caps = new Map(pairs(o.capacity, '--capacity').map(([t, v]) => [t, parseBytes(v)]));
  let vs;
  try {
    vs = variants(config, caps, latencies(o.latency), axes);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (o.catalog !== 'memory' && o.catalog !== 'sqlite') throw new CliError(`--catalog ${o.catalog}: want memory or sqlite`, 2);
  const stats = new TraceStats();
  const t0 = performance.now();
  const results = await runVariants(readTrace(o.trace, { format: o.format, extentBytes: parseBytes(o.extent) }, stats), vs, {
    baselines,
    bound: o.bound,
    misplacementWindowMs: o.misplacementWindow ? parseDuration(o.misplacementWindow) : DEFAULT_MISPLACEMENT_WINDOW,
    passIntervalMs: o.passInterval ? parseDuration(o.passInterval) : undefined,
    pins: new Map(pairs(o.pin, '--pin').map(([p, t]) => [p.replace(/^\/+|\/+$/g, ''), t])),
    // The configuration's price model (cost:); without one, cost is null.
    cost: simulatedCost(config),
    catalog: o.catalog,
  });
  return { config, results, stats, seconds: (performance.now() - t0) / 1000 };
}

function printResults(results: VariantResult[], stats: TraceStats, seconds: number): void {
  const out: string[] = [`trace: ${stats.events} events from ${stats.lines} lines in ${seconds.toFixed(1)}s${stats.malformed ? `; ${stats.malformed} malformed lines skipped` : ''}`];
  for (const ex of stats.examples) out.push(`  line ${ex.line}: ${ex.why}: ${ex.text}`);
  for (const v of results) {
    out.push('', v.label ? `── ${v.label}` : '──');
    const tiers = v.results[0]!.tiers.map((t) => t.tier);
    out.push(
      table(
        ['policy', ...tiers.map((t) => `${t} bytes`), `${tiers[0]} reqs`, 'promoted', 'demoted', 'misplaced', 'latency', 'cost'],
        v.results.map((r) => [
          r.policy,
          ...tiers.map((t) => pct(r.tiers.find((x) => x.tier === t)?.byteHitRatio ?? NaN)),
          pct(r.tiers[0]!.requestHitRatio),
          formatBytes(r.promotions.bytes),
          formatBytes(r.demotions.bytes),
          r.misplacements,
          Number.isFinite(r.meanReadLatencyMs) ? `${r.meanReadLatencyMs.toFixed(2)}ms` : '-',
          r.cost === null ? '-' : r.cost.toFixed(2),
        ]),
      ),
    );
    for (const r of v.results) if (r.note) out.push(`  ${r.policy}: ${r.note}`);
  }
  if (results.length > 1) out.push('', `best: ${best(results).label} (${tiersHit(best(results).results[0]!)})`);
  process.stdout.write(`${out.join('\n')}\n`);
}

const tiersHit = (r: PolicyResult) => `${r.tiers[0]!.tier} serves ${pct(r.tiers[0]!.byteHitRatio)} of bytes read`;

const GiB = 2 ** 30;
const day = (ms: number, t0: number) => (ms - t0) / 86_400_000;

function writePlots(dir: string, results: VariantResult[]): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, svg: string) => {
    writeFileSync(join(dir, name), svg);
    written.push(join(dir, name));
  };
  const first = results[0]!;
  const timed = first.results.filter((r) => r.timeline.length > 0);
  const t0 = timed[0]?.timeline[0]?.timeMs ?? 0;
  const hot = first.results[0]!.tiers[0]!.tier;
  write(
    'hit-ratio-over-time.svg',
    lineChart({
      title: `${hot} byte hit ratio over time${first.label ? ` (${first.label})` : ''}`,
      xLabel: 'days',
      yLabel: `share of bytes read served by ${hot}`,
      yMin: 0,
      yMax: 1,
      yFormat: (v) => `${Math.round(v * 100)}%`,
      series: timed.map((r) => ({ name: r.policy, points: r.timeline.map((p) => [day(p.timeMs, t0), p.byteHit[0]!] as [number, number]) })),
    }),
  );
  const policy = first.results[0]!;
  write(
    'tier-usage-over-time.svg',
    lineChart({
      title: `use of each tier over time, ${policy.policy}`,
      xLabel: 'days',
      yLabel: 'GiB',
      series: policy.tiers.map((t, i) => ({ name: t.tier, points: policy.timeline.map((p) => [day(p.timeMs, t0), p.usedBytes[i]! / GiB] as [number, number]) })),
    }),
  );
  const capacities = new Set(results.map((r) => r.hotCapacity));
  if (capacities.size > 1) {
    // per policy, the best over the other axes at each capacity
    const names = first.results.map((r) => r.policy);
    write(
      'hit-ratio-vs-capacity.svg',
      lineChart({
        title: `${hot} byte hit ratio against ${hot} capacity`,
        xLabel: `${hot} capacity, GiB`,
        yLabel: `share of bytes read served by ${hot}`,
        yMin: 0,
        yMax: 1,
        yFormat: (v) => `${Math.round(v * 100)}%`,
        series: names.map((name, i) => ({
          name,
          points: [...capacities]
            .sort((a, b) => a - b)
            .map((c) => [c / GiB, Math.max(...results.filter((r) => r.hotCapacity === c).map((r) => r.results[i]!.tiers[0]!.byteHitRatio))] as [number, number]),
        })),
      }),
    );
  }
  return written;
}

function simOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'tierfs.yaml whose tiers and policy are simulated (default: the embedded default)')
    .option('--trace <file>', 'tierfs trace CSV, generic CSV, Common/Combined Log Format or MSR Cambridge CSV (.gz read as a stream)')
    .option('--format <format>', 'tierfs | generic | clf | msr (default: told from the first line)')
    .option('--extent <bytes>', 'block traces: bytes per extent, each extent a file', '1MiB')
    .option('--capacity <tier=bytes>', 'a tier\'s capacity (repeatable); local tiers without one are unlimited', collect, [])
    .option('--latency <tier=ms:rate>', 'a tier\'s first-byte time and bytes per second, e.g. warm=8ms:160MB (repeatable)', collect, [])
    .option('--pin <path=tier>', 'a file or directory pinned to a tier, as tierfs pin (repeatable)', collect, [])
    .option('--pass-interval <duration>', 'classification passes this often in simulated time (default: policy.interval, as the daemon; coarser is faster)')
    .option('--misplacement-window <duration>', 'a demotion read again within this is a misplacement', '7d')
    .option('--no-bound', 'skip the offline bound (it keeps 12 bytes per read in memory)')
    .option('--catalog <kind>', 'the catalog the policy runs on: memory (fast), or sqlite (the daemon\'s own, several times slower: a check of the first)', 'memory')
    .option('--json', 'results as JSON');
}

export function registerSimCommands(program: Command): void {
  const sim = simOptions(program.command('sim'))
    .description('replay a trace against the policy of a tierfs.yaml, LRU, LFU, an idle-age rule and the offline bound')
    .option('--sweep <key=v1,v2>', 'run every combination (repeatable): halfLife, minResidency, hysteresis, TIER.capacity, rule.NAME.heatAbove, mover.bandwidth ...', collect, [])
    .option('--no-baselines', 'only the policy (and the bound)')
    .option('--plot <dir>', 'write SVG charts there')
    .action(async (o: SimOpts) => {
      const axes = o.sweep.map((s) => {
        try {
          return parseSweep(s);
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      });
      const { results, stats, seconds } = await simulate(o, axes);
      const plots = o.plot ? writePlots(o.plot, results) : [];
      if (o.json) printJson({ trace: { lines: stats.lines, events: stats.events, malformed: stats.malformed, examples: stats.examples }, seconds, variants: results, best: results.length > 1 ? best(results).label : undefined, plots });
      else {
        printResults(results, stats, seconds);
        for (const p of plots) process.stdout.write(`wrote ${p}\n`);
      }
    });

  sim
    .command('generate')
    .argument('<kind>', KINDS.join(' | '))
    .description('write a synthetic workload as generic CSV (time, path, size, op, bytes), seeded and reproducible')
    .option('--seed <n>', 'random seed', String(GENERATE_DEFAULTS.seed))
    .option('--files <n>', 'files', String(GENERATE_DEFAULTS.files))
    .option('--events <n>', 'accesses', String(GENERATE_DEFAULTS.events))
    .option('--days <n>', 'simulated days the accesses span', String(GENERATE_DEFAULTS.days))
    .option('--alpha <x>', 'Zipf exponent', String(GENERATE_DEFAULTS.alpha))
    .option('--median-size <bytes>', 'median file size (lognormal)', '1MiB')
    .option('--shift-every <duration>', 'shift: a new hot set this often', '10d')
    .option('--scan-every <duration>', 'scan: a full archive read this often', '7d')
    .option('--scan-files <n>', 'scan: files in the archive', String(GENERATE_DEFAULTS.scanFiles))
    .option('--out <file>', 'write here instead of stdout')
    .action(async (kind: string, o: Record<string, string>) => {
      if (!(KINDS as readonly string[]).includes(kind)) throw new CliError(`unknown workload ${kind} (${KINDS.join(', ')})`);
      const int = (k: string) => {
        const n = Number(o[k]);
        if (!Number.isFinite(n) || n <= 0) throw new CliError(`--${k}: not a positive number: ${o[k]}`);
        return n;
      };
      const out = o.out ? createWriteStream(o.out) : process.stdout;
      const write = (s: string) => (out.write(s) ? undefined : new Promise<void>((r) => out.once('drain', () => r())));
      await write(`${GENERIC_HEADER}\n`);
      let chunk = '';
      for (const e of generate(kind as WorkloadKind, {
        seed: int('seed'),
        files: int('files'),
        events: int('events'),
        days: int('days'),
        alpha: int('alpha'),
        medianSize: parseBytes(o.medianSize!),
        shiftEveryMs: parseDuration(o.shiftEvery!),
        scanEveryMs: parseDuration(o.scanEvery!),
        scanFiles: int('scanFiles'),
      })) {
        chunk += genericLine(e);
        if (chunk.length > 1 << 16) {
          await write(chunk);
          chunk = '';
        }
      }
      await write(chunk);
      if (o.out) await new Promise<void>((r) => (out as ReturnType<typeof createWriteStream>).end(r));
    });

  const policy = program.commands.find((c) => c.name() === 'policy') ?? program.command('policy').description('study and tune the placement policy');
  simOptions(policy.command('suggest'))
    .description('sweep policy parameters on a trace and write a commented policy section with the best found')
    .option('--sweep <key=v1,v2>', 'the grid (repeatable); default: halfLife=1d,3d,7d,14d, hysteresis=10%,25%,50% and the first heatAbove rule\'s threshold', collect, [])
    .action(async (o: SimOpts & { sweep: string[] }) => {
      const { config } = loadConfig(o.config);
      const axes = o.sweep.length ? o.sweep.map(parseSweep) : defaultGrid(config);
      const { results, stats } = await simulate({ ...o, bound: o.bound }, axes, false);
      const pick = best(results);
      if (o.json) return printJson({ best: pick, variants: results.map((r) => ({ label: r.label, result: r.results[0] })) });
      process.stdout.write(suggestion(config, pick, results, stats, o.trace));
    });
}

function defaultGrid(config: Config): SweepAxis[] {
  const axes: SweepAxis[] = [
    { key: 'halfLife', values: ['1d', '3d', '7d', '14d'] },
    { key: 'hysteresis', values: ['10%', '25%', '50%'] },
  ];
  const rule = config.policy.rules.find((r) => r.match.heatAbove !== undefined);
  if (rule) {
    const h = rule.match.heatAbove!;
    axes.push({ key: `rule.${rule.name}.heatAbove`, values: [h / 2, h, h * 2].map(String) });
  }
  return axes;
}

const fmtDuration = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 1000}s`);

const matchValue = (key: string, v: unknown) => (/^(age|idle)/.test(key) ? fmtDuration(v as number) : JSON.stringify(v));

/** The policy section of tierfs.yaml with the best variant's values, and why. */
function suggestion(config: Config, pick: VariantResult, all: VariantResult[], stats: TraceStats, trace: string): string {
  const vs = variants(config, new Map(), new Map(), Object.entries(pick.params).map(([key, v]) => ({ key, values: [v] })))[0]!;
  const p = vs.config.policy;
  const r = pick.results[0]!;
  const bound = r && pick.results.find((x) => x.policy === 'offline-bound');
  const ranked = [...all].sort((a, b) => b.results[0]!.tiers[0]!.byteHitRatio - a.results[0]!.tiers[0]!.byteHitRatio);
  const lines = [
    `# Suggested by tierfs policy suggest on ${trace} (${stats.events} events).`,
    `# ${all.length} combinations tried; the best: ${pick.label || 'the current policy'}.`,
    `# With it ${tiersHit(r)}, ${r.tiers.slice(1).map((t) => `${t.tier} ${pct(t.byteHitRatio)}`).join(', ')};`,
    `# ${formatBytes(r.promotions.bytes)} promoted, ${formatBytes(r.demotions.bytes)} demoted, ${r.misplacements} misplacements, mean read ${r.meanReadLatencyMs.toFixed(2)} ms.`,
    ...(bound ? [`# The offline bound (upper bound, fractional Belady) is ${pct(bound.tiers[0]!.byteHitRatio)}.`] : []),
    `# Runners-up: ${ranked.slice(1, 4).map((v) => `${v.label} ${pct(v.results[0]!.tiers[0]!.byteHitRatio)}`).join('; ') || 'none'}.`,
    `# Check it before applying: tierfs config apply --dry-run`,
    'policy:',
    `  halfLife: ${fmtDuration(p.halfLife)}`,
    `  minResidency: ${fmtDuration(p.minResidency)}`,
    `  hysteresis: ${Math.round(p.hysteresis * 100)}%`,
    `  interval: ${fmtDuration(p.interval)}`,
    '  rules:',
    ...p.rules.flatMap((rule) => [
      `    - name: ${rule.name}`,
      ...(Object.keys(rule.match).length ? [`      match: { ${Object.entries(rule.match).map(([k, v]) => `${k}: ${matchValue(k, v)}`).join(', ')} }`] : []),
      ...(rule.target ? [`      target: ${rule.target}`] : []),
      ...(rule.setClass ? [`      setClass: ${rule.setClass}`] : []),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}
