// npm run bench -- all [--quick] [--only a,b] [--out FILE] [--charts]
//   (default: every bench at its own defaults, the report written to docs/PERFORMANCE.md)
//
// Runs every benchmark, one after another, and writes one report: the machine and kernel,
// then each bench's own table — tierfs beside its peers, measured in the same run — with
// what it measures, how long it took, and the lines where it skipped a peer that is not
// installed. --quick runs each at small sizes (minutes, not the better part of an hour):
// the ratios are indicative, the absolute figures are not. A bench that fails is reported
// with the end of its output, and the others still run. With --only, the named benches'
// sections of an existing report are replaced and the others kept; each section says the
// commit and day it was measured at. Each section's ratios are drawn as an SVG chart
// beside the report (perf/NAME.svg, lib/ratio-chart.ts); --charts draws them again from the
// report as it stands (each section's first table, its latest run) and runs no bench.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ratioChart, ratiosIn } from './lib/ratio-chart.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const QUICK = args.includes('--quick');
const CHARTS_ONLY = args.includes('--charts');
const dir = dirname(fileURLToPath(import.meta.url));
const repo = join(dir, '..', '..');
const OUT = opt('--out') ?? join(repo, 'docs', 'PERFORMANCE.md');

/** Each bench and the arguments of a --quick run (its defaults otherwise). */
const QUICK_ARGS: Record<string, string[]> = {
  ec: ['--rounds', '3', '--ram-mib', '128'],
  fuse: ['--size-mib', '256', '--files', '3000', '--rounds', '3'],
  'fuse-binding': ['--size-mib', '256', '--rand-seconds', '4'],
  moves: ['--size-mib', '256', '--rounds', '3'],
  objectstore: [],
  recall: ['--size-mib', '64', '--reads', '50', '--rounds', '1'],
  placement: ['--files', '100000', '--read-seconds', '4'],
  scale: ['--files', '50000', '--dirs', '100', '--sample', '2000'],
  walk: ['--files', '50000', '--dirs', '50', '--rounds', '1'],
  sim: ['--events', '1000000', '--sqlite-events', '1000000'],
};
const ORDER = ['ec', 'fuse', 'fuse-binding', 'moves', 'objectstore', 'recall', 'placement', 'scale', 'walk', 'sim'];
const present = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'all.ts').map((f) => f.slice(0, -3));
const only = opt('--only')?.split(',');
const benches = [...ORDER.filter((b) => present.includes(b)), ...present.filter((b) => !ORDER.includes(b)).sort()].filter((b) => !only || only.includes(b));

/** What a bench measures: the paragraph after its usage line in its own --help. */
function about(name: string): string {
  const help = execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'bench.ts'), name, '--help'], { cwd: repo, encoding: 'utf8' });
  const paragraphs = help.split(/\n\s*\n/);
  return (paragraphs[0]!.includes('npm run bench') && paragraphs[1] ? paragraphs[1] : paragraphs[0]!).trim();
}

function sh(cmd: string): string {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

interface Ran {
  name: string;
  args: string[];
  code: number | null;
  seconds: number;
  stdout: string;
  stderr: string;
}

function run(name: string, extra: string[]): Promise<Ran> {
  const started = Date.now();
  process.stderr.write(`── ${name} ${extra.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'bench.ts'), name, ...extra], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on('exit', (code) => resolve({ name, args: extra, code, seconds: (Date.now() - started) / 1000, stdout, stderr }));
  });
}

/** What a bench said on the way that a reader of the report needs: peers skipped, warnings. */
function notes(stderr: string): string[] {
  // Node's own warnings (the AWS SDK's notice that it will want a newer Node) say nothing of the bench.
  return stderr
    .split('\n')
    .filter((l) => /skip|not installed|warning|missing|cannot/i.test(l) && !/NodeVersionSupportWarning|--trace-warnings/.test(l))
    .map((l) => l.trim());
}

/**
 * Draws the chart of a section's table (its output) beside the report, and returns the
 * line that shows it, or '' when the table has no ratios.
 */
function chartOf(name: string, output: string): string {
  const svg = ratioChart(`${name}: the ratios of its table`, ratiosIn(output));
  if (!svg) return '';
  mkdirSync(join(dirname(OUT), 'perf'), { recursive: true });
  writeFileSync(join(dirname(OUT), 'perf', `${name}.svg`), svg);
  return `![${name}: the ratios of the table above, on a log scale around 1.0×](perf/${name}.svg)`;
}

if (CHARTS_ONLY) {
  // Each section's first table is its latest run; its chart line follows that table.
  const parts = readFileSync(OUT, 'utf8').trimEnd().split(/\n(?=## )/);
  const drawn = parts.map((part) => {
    if (!part.startsWith('## ')) return part;
    const name = part.slice(3, part.indexOf('\n'));
    const block = /```\n([\s\S]*?)\n```\n?/.exec(part);
    const withoutChart = part.replace(new RegExp(`\\n\\n!\\[[^\\]]*\\]\\(perf/${name}\\.svg\\)`), '');
    if (!block) return withoutChart;
    const line = chartOf(name, block[1]!);
    const end = withoutChart.indexOf(block[0]) + block[0].trimEnd().length;
    return line ? `${withoutChart.slice(0, end)}\n\n${line}${withoutChart.slice(end)}` : withoutChart;
  });
  writeFileSync(OUT, `${drawn.map((p) => p.trimEnd()).join("\n\n")}\n`);
  process.stderr.write(`charts drawn from ${relative(process.cwd(), OUT) || OUT}\n`);
  process.exit(0);
}

const results: Ran[] = [];
for (const name of benches) results.push(await run(name, QUICK ? (QUICK_ARGS[name] ?? []) : []));

const commit = sh('git -C ' + JSON.stringify(repo) + ' rev-parse --short HEAD');
const day = new Date().toISOString().slice(0, 10);
const machine = [
  `- CPU: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores (${sh("grep -o -w 'avx2\\|avx512f\\|gfni' /proc/cpuinfo | sort -u | tr '\\n' ' '") || 'no AVX2'})`,
  `- memory: ${(totalmem() / 2 ** 30).toFixed(0)} GiB; kernel ${sh('uname -r')}; Node ${process.version}; libfuse ${sh("pkg-config --modversion fuse3 2>/dev/null || echo unknown")}`,
  `- ${day}, commit ${commit}; \`npm run bench -- all${QUICK ? ' --quick' : ''}\``,
];
const sections = results.map((r) => {
  const head = `## ${r.name}\n\n${about(r.name)}\n\n\`npm run bench -- ${[r.name, ...r.args].join(' ')}\` — ${r.seconds.toFixed(0)} s, commit ${commit}, ${day}`;
  const said = notes(r.stderr);
  const saidText = said.length ? `\n\nWhat it said on the way:\n\n${said.map((l) => `- ${l}`).join('\n')}` : '';
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n');
    return `${head}\n\n**Failed** (exit ${r.code}); the end of its output:\n\n\`\`\`\n${tail}\n\`\`\`${saidText}`;
  }
  const chart = chartOf(r.name, r.stdout);
  return `${head}\n\n\`\`\`\n${r.stdout.trimEnd()}\n\`\`\`${chart ? `\n\n${chart}` : ''}${saidText}`;
});
const report = `# Performance

Every benchmark of the repository, run one after another on one machine; each table puts
tierfs beside its peers measured in the same run, so the **ratios** are what to read (a
shared machine's absolute figures move from run to run).${QUICK ? ' This report was made with `--quick`: small sizes, so even the ratios are indicative only.' : ''}
Written by \`npm run bench -- all\` (scripts/bench/all.ts); each bench's own \`--help\` says
what it measures and its options. Below a table, its ratios as a chart (\`perf/NAME.svg\`,
a log scale around 1.0×: 0.5× and 2× as far from the line).

${machine.join('\n')}

${sections.join('\n\n')}
`;
writeFileSync(OUT, only && existsSync(OUT) ? spliced(readFileSync(OUT, 'utf8'), sections) : report);
process.stderr.write(`report written to ${relative(process.cwd(), OUT) || OUT}: ${results.filter((r) => r.code === 0).length} of ${results.length} benches ran\n`);
if (results.some((r) => r.code !== 0)) process.exitCode = 1;

/** An existing report with the sections of the benches just run put in place of theirs (or added at its end). */
function spliced(existing: string, fresh: string[]): string {
  const parts = existing.trimEnd().split(/\n(?=## )/);
  for (const section of fresh) {
    const name = section.slice(3, section.indexOf('\n'));
    const at = parts.findIndex((p) => p.startsWith(`## ${name}\n`));
    if (at >= 0) parts[at] = section;
    else parts.push(section);
  }
  return `${parts.map((p) => p.trimEnd()).join('\n\n')}\n`;
}
