// npm run bench -- fuse [--size-mib N] [--files N] [--rounds N] [--json]
//   (defaults: --size-mib 1024, --files 10000, --rounds 1)
//
// One table, measured in the same run: sequential write and read of a large file (MB/s),
// 4 KiB random reads with O_DIRECT (IOPS, fio; the column is empty without fio),
// creating + stat-ing many small files, by one writer and by 8 at once, renaming and then
// unlinking them one by one, and looking up missing names (ops/s): the same names again
// and again, and names never asked before, on
//   direct     the hot directory itself
//   tierfs     a tierfs mount over it: as configured by default (passthrough where the
//              kernel offers it, access recording, metrics and their history on,
//              /metrics scraped every second), with passthrough off (the binding's
//              native fast path), with every create answered by JavaScript
//              (mount.nativeCreates off), with metrics and history off, and with access
//              recording off
//   mergerfs   a mergerfs mount of the same directory
// Page cache is dropped before every read so reads reach the filesystem under test.
// With --rounds N every row runs N times (the tierfs rows interleaved) and keeps its
// best figures: on a shared machine the best of several is the steadiest comparison.
// The random reads use O_DIRECT: in passthrough the kernel passes it on to the backing
// file (the disk's IOPS); without, the daemon's descriptor reads through the backing
// file's page cache, which is why that row can beat the directory itself.
// A last line measures, in this process, what metering adds to each FUSE request that
// JavaScript answers (the natively served ones get no work per request at all).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount } from '../../test/helpers/tierfs.js';
import { FuseRequestTally, meterFuseOps } from '../../src/metrics/fuse.js';
import type { FuseOps } from '../../src/fuse/types.js';
import { forceUnmount, waitFor, isMounted } from '../../test/helpers/mount.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { fioRandRead, haveFio } from './lib/fio.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const json = args.includes('--json');
const SIZE_MIB = opt('--size-mib', 1024);
const FILES = opt('--files', 10_000);
const ROUNDS = opt('--rounds', 1);

interface Row {
  target: string;
  writeMBps: number;
  readMBps: number;
  randReadIops: number;
  smallFilesOps: number;
  /** the same with 8 writers at once (what shares a catalog commit) */
  smallParallelOps: number;
  missingOps: number;
  /** names never looked up before, each once (a compiler's include search, Python's import probes) */
  newMissingOps: number;
  /** the small files renamed, one after another, then unlinked */
  renameOps: number;
  unlinkOps: number;
}

function dropCaches(): void {
  try {
    execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
  } catch {
    process.stderr.write('warning: cannot drop page caches (not root?): reads may come from memory\n');
  }
}

/** Sequential write with dd (1 MiB blocks, fsync at the end), then a cold sequential read. */
function seq(dir: string): { writeMBps: number; readMBps: number } {
  const file = join(dir, 'seq.bin');
  let t0 = process.hrtime.bigint();
  execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${SIZE_MIB}`, 'conv=fsync'], { stdio: 'ignore' });
  const writeS = Number(process.hrtime.bigint() - t0) / 1e9;
  dropCaches();
  t0 = process.hrtime.bigint();
  execFileSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M'], { stdio: 'ignore' });
  const readS = Number(process.hrtime.bigint() - t0) / 1e9;
  rmSync(file);
  return { writeMBps: (SIZE_MIB * 1.048576) / writeS, readMBps: (SIZE_MIB * 1.048576) / readS };
}

const withFio = haveFio();
if (!withFio) process.stderr.write('fio is not installed (apt-get install -y fio): the random-read column is skipped\n');

/** 4 KiB random reads, O_DIRECT, one at a time, for 5 s over a 256 MiB file: IOPS (NaN without fio). */
function randRead(dir: string): number {
  if (!withFio) return NaN;
  const file = join(dir, 'rand.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', 'count=256', 'conv=fsync'], { stdio: 'ignore' });
  const { iops } = fioRandRead(file, 5);
  rmSync(file);
  return iops;
}

/** Create FILES small files, then stat each (ops/s over both phases); then rename each, then unlink each (ops/s of each). */
function smallFiles(dir: string): { smallFilesOps: number; renameOps: number; unlinkOps: number } {
  const d = join(dir, 'small');
  mkdirSync(d);
  const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < FILES; i++) writeFileSync(join(d, `f${i}`), 'x');
  for (let i = 0; i < FILES; i++) statSync(join(d, `f${i}`));
  const smallFilesOps = (2 * FILES) / seconds(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < FILES; i++) renameSync(join(d, `f${i}`), join(d, `r${i}`));
  const renameOps = FILES / seconds(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < FILES; i++) unlinkSync(join(d, `r${i}`));
  const unlinkOps = FILES / seconds(t0);
  rmSync(d, { recursive: true });
  return { smallFilesOps, renameOps, unlinkOps };
}

/** The same work by 8 writers at once, each on its own files: ops/s over both phases. */
async function smallFilesParallel(dir: string): Promise<number> {
  const d = join(dir, 'small8');
  mkdirSync(d);
  const t0 = process.hrtime.bigint();
  const each = async (work: (i: number) => Promise<unknown>) => {
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < FILES; i = next++) await work(i);
    };
    await Promise.all(Array.from({ length: 8 }, writer));
  };
  await each((i) => fsp.writeFile(join(d, `f${i}`), 'x'));
  await each((i) => fsp.stat(join(d, `f${i}`)));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rmSync(d, { recursive: true });
  return (2 * FILES) / s;
}

/**
 * Names that do not exist, each looked up 10 times (a search path or a build's outputs
 * probed again and again): lookups/s. The kernel may answer repeats from a negative entry.
 */
function missingNames(dir: string): number {
  const names = Math.max(1, Math.floor(FILES / 10));
  const t0 = process.hrtime.bigint();
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < names; i++) if (existsSync(join(dir, `missing-${i}`))) throw new Error(`${dir}/missing-${i} exists`);
  }
  return (10 * names) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * Names that do not exist, each looked up once and never before (by this process or any
 * earlier measurement): lookups/s. No negative entry can answer them: each reaches the
 * filesystem under test.
 */
let newNamesAsked = 0;
function newMissingNames(dir: string): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < FILES; i++) if (existsSync(join(dir, `absent-${newNamesAsked++}`))) throw new Error(`${dir}/absent-${newNamesAsked - 1} exists`);
  return FILES / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function measure(target: string, dir: string): Promise<Row> {
  const s = seq(dir);
  return {
    target, ...s, randReadIops: randRead(dir), ...smallFiles(dir), smallParallelOps: await smallFilesParallel(dir),
    missingOps: missingNames(dir), newMissingOps: newMissingNames(dir),
  };
}

/**
 * A scraper in its own process (this one blocks in dd): /metrics every second, harsher
 * than Prometheus' usual 15 s, so that what collecting costs the daemon shows.
 */
function scrapeEverySecond(url: string): () => void {
  const child = spawn(process.execPath, ['-e', `setInterval(() => fetch(${JSON.stringify(url)}).then((r) => r.text()).catch(() => {}), 1000)`], { stdio: 'ignore' });
  return () => child.kill();
}

async function withTierfs(opts: { recording: boolean; metrics: boolean; passthrough?: 'off'; nativeCreates?: boolean }, fn: (mnt: string) => Promise<Row>): Promise<Row> {
  const t = new TierfsMount({
    recording: opts.recording,
    passthrough: opts.passthrough,
    nativeCreates: opts.nativeCreates,
    cacheTimeout: '1s', // the defaults of a real mount
    extraYaml: opts.metrics ? '' : 'metrics: { listen: off, history: { enabled: false } }\n',
  });
  let stopScraping = () => {};
  try {
    await t.start();
    if (opts.metrics) {
      const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
      if (!status.metrics?.url) throw new Error(`the metrics listener did not start: ${JSON.stringify(status.metrics)}`);
      stopScraping = scrapeEverySecond(status.metrics.url);
    }
    return await fn(t.mnt);
  } finally {
    stopScraping();
    await t.dispose();
  }
}

async function withMergerfs(fn: (mnt: string) => Promise<Row>): Promise<Row | undefined> {
  if (spawnSync('which', ['mergerfs']).status !== 0) {
    process.stderr.write('mergerfs is not installed (apt-get install -y mergerfs): its row is skipped\n');
    return undefined;
  }
  const dir = tempDir('bench-mergerfs-');
  const branch = join(dir.path, 'branch');
  const mnt = join(dir.path, 'mnt');
  mkdirSync(branch);
  mkdirSync(mnt);
  try {
    execFileSync('mergerfs', ['-o', 'cache.files=partial,dropcacheonclose=true,category.create=mfs', branch, mnt]);
    await waitFor(() => isMounted(mnt), 10_000, () => 'mergerfs did not mount');
    return await fn(mnt);
  } finally {
    forceUnmount(mnt);
    dir.remove();
  }
}

/** Each figure the better of two rows of one target. */
const better = (b: Row | undefined, r: Row): Row => {
  if (!b) return r;
  const most = (k: Exclude<keyof Row, 'target'>) => Math.max(b[k], r[k]);
  return {
    target: r.target,
    writeMBps: most('writeMBps'),
    readMBps: most('readMBps'),
    randReadIops: most('randReadIops'),
    smallFilesOps: most('smallFilesOps'),
    smallParallelOps: most('smallParallelOps'),
    missingOps: most('missingOps'),
    newMissingOps: most('newMissingOps'),
    renameOps: most('renameOps'),
    unlinkOps: most('unlinkOps'),
  };
};

const direct = tempDir('bench-direct-');
const rows: Row[] = [];
try {
  let best: Row | undefined;
  for (let round = 0; round < ROUNDS; round++) best = better(best, await measure('direct', direct.path));
  rows.push(best!);
} finally {
  direct.remove();
}
const variants = [
  { target: 'tierfs', recording: true, metrics: true },
  { target: 'tierfs (passthrough off)', recording: true, metrics: true, passthrough: 'off' as const },
  { target: 'tierfs (creates by JS)', recording: true, metrics: true, nativeCreates: false },
  { target: 'tierfs (no metrics)', recording: true, metrics: false },
  { target: 'tierfs (no recording)', recording: false, metrics: true },
];
const best = new Map<string, Row>();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    best.set(v.target, better(best.get(v.target), await withTierfs(v, (mnt) => measure(v.target, mnt))));
  }
}
rows.push(...variants.map((v) => best.get(v.target)!));

/** ns per call that meterFuseOps adds to a handler, measured on a handler that does nothing. */
async function meteringCostNs(): Promise<number> {
  const bare = { getattr: async () => ({}) } as unknown as FuseOps;
  const metered = meterFuseOps(bare, new FuseRequestTally());
  const time = async (ops: FuseOps) => {
    const n = 1_000_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await ops.getattr({ uid: 0, gid: 0, pid: 0, umask: 0 }, 1);
    return Number(process.hrtime.bigint() - t0) / n;
  };
  let cost = Infinity;
  for (let i = 0; i < 3; i++) cost = Math.min(cost, (await time(metered)) - (await time(bare)));
  return Math.max(0, cost);
}
const meteringNs = await meteringCostNs();
let merger: Row | undefined;
for (let round = 0; round < ROUNDS; round++) {
  const r = await withMergerfs((mnt) => measure('mergerfs', mnt));
  if (r) merger = better(merger, r);
}
if (merger) rows.push(merger);

if (json) {
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`${JSON.stringify({ meteringNsPerRequest: meteringNs })}\n`);
} else {
  const d = rows[0]!;
  const f = (n: number) => (Number.isNaN(n) ? '–' : n.toFixed(0));
  const ratio = (a: number, b: number | undefined) => (b && !Number.isNaN(a / b) ? `${(a / b).toFixed(2)}×` : '–');
  type Figure = Exclude<keyof Row, 'target'>;
  // Each figure, then its ratio to the directory (the sequential and random I/O) or to mergerfs (the metadata).
  const figures: [Figure, string, string][] = [
    ['writeMBps', 'write MB/s', 'write/direct'],
    ['readMBps', 'read MB/s', 'read/direct'],
    ['randReadIops', '4K IOPS', '4K/direct'],
    ['smallFilesOps', 'small ops/s', 'small/mergerfs'],
    ['smallParallelOps', 'small×8 ops/s', 'small×8/mergerfs'],
    ['missingOps', 'missing ops/s', 'missing/mergerfs'],
    ['newMissingOps', 'new missing ops/s', 'new missing/mergerfs'],
    ['renameOps', 'rename ops/s', 'rename/mergerfs'],
    ['unlinkOps', 'unlink ops/s', 'unlink/mergerfs'],
  ];
  const base = (k: Figure) => (['writeMBps', 'readMBps', 'randReadIops'].includes(k) ? d : merger);
  process.stdout.write(
    `sequential ${SIZE_MIB} MiB (dd, 1 MiB blocks), ${FILES} small files created + stat-ed (by one writer, then by 8 at once), then renamed and unlinked one by one, ${Math.floor(FILES / 10)} missing names looked up 10 times each, ${FILES} missing names never asked before looked up once each\n\n`,
  );
  const cells = (r: Row | undefined) =>
    r
      ? [r.target, ...figures.map(([k]) => f(r[k])), ...figures.map(([k]) => ratio(r[k], base(k)?.[k]))]
      : ['target', ...figures.map(([, head]) => head), ...figures.map(([, , head]) => head)];
  const table = [cells(undefined), ...rows.map(cells)];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((c) => c[i]!.length)));
  for (const c of table) process.stdout.write(`${c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]! + 2))).join('')}\n`);
  const on = rows.find((r) => r.target === 'tierfs')!;
  const overhead = (what: string, off: Row) =>
    `${what} overhead: read ${(100 * (1 - on.readMBps / off.readMBps)).toFixed(1)}%, ` +
    `write ${(100 * (1 - on.writeMBps / off.writeMBps)).toFixed(1)}%, small files ${(100 * (1 - on.smallFilesOps / off.smallFilesOps)).toFixed(1)}%\n`;
  process.stdout.write(`\n${overhead('recording', rows.find((r) => r.target === 'tierfs (no recording)')!)}`);
  process.stdout.write(overhead('metrics and history (scraped every second)', rows.find((r) => r.target === 'tierfs (no metrics)')!));
  process.stdout.write(`metering per FUSE request answered by JavaScript: ${meteringNs.toFixed(0)} ns (in process)\n`);
}
