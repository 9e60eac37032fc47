// Erasure-coding throughput: our kernels through the Node API beside ISA-L
// (Debian's libisal) timed by a C harness on the same shapes and layout.
//
//   npm run bench -- ec [--json] [--seconds S] [--ram-mib N] [--kernels a,b] [--codes 10+4,12+4]
//                       [--shards 65536,1048576] [--modes warm,ram]
//
// GB/s counts data bytes (k x shard) per second, one thread. "warm" codes one
// stripe over and over (in cache); "ram" walks >= 512 MiB of stripes, so every
// byte comes from memory. Encode writes m parity shards; decode rebuilds m lost
// data shards (0..m-1) from the next k. Each number is the best of several
// rounds, to shed the noise of other processes on a shared machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ErasureCodec, allocateShards, availableKernels, isKernelName, type KernelName } from '../../src/ec/index.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '0.25' },
    'ram-mib': { type: 'string', default: '512' },
    kernels: { type: 'string' },
    codes: { type: 'string', default: '4+2,8+3,10+4,12+4' },
    shards: { type: 'string', default: '65536,1048576' },
    modes: { type: 'string', default: 'warm,ram' },
  },
});
const SECONDS = Number(args.seconds);
const RAM_BYTES = Number(args['ram-mib']) * 1024 * 1024;
const KERNELS: KernelName[] = args.kernels
  ? args.kernels.split(',').filter(isKernelName).filter((k) => availableKernels().includes(k))
  : availableKernels();
const CODES = args.codes.split(',').map((c) => c.split('+').map(Number) as [number, number]);
const SHARDS = args.shards.split(',').map(Number);
const MODES = (['warm', 'ram'] as const).filter((m) => args.modes.split(',').includes(m));
const OPS = ['encode', 'decode'] as const;
const ASYNC_BATCH = 16;

type Mode = (typeof MODES)[number];
type Op = (typeof OPS)[number];
interface Row {
  impl: 'tierfs' | 'tierfs-async' | 'tierfs-c' | 'isal';
  kernel: string;
  k: number;
  m: number;
  shard: number;
  mode: Mode;
  op: Op;
  gbps: number;
}

/** Best seconds per round: a round is `once` called perRound times; rounds run until `SECONDS` and at least 3. */
async function bestRound(perRound: number, once: (i: number) => void | Promise<void>): Promise<number> {
  let best = Infinity;
  const start = performance.now();
  for (let round = 0; round < 3 || performance.now() - start < SECONDS * 1000; round++) {
    const t = performance.now();
    for (let i = 0; i < perRound; i++) await once(i);
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

/** Calls per 20 ms round for warm runs. */
async function calibrate(once: () => void | Promise<void>): Promise<number> {
  let n = 0;
  const t = performance.now();
  while (performance.now() - t < 20) await once(), n++;
  return n;
}

/** Stripes of k + m shards cut from one slab, in allocateShards' layout (the C harness uses the same). */
function makeStripes(k: number, m: number, shard: number, count: number): Buffer[][] {
  const all = allocateShards(count * (k + m), shard);
  for (const [i, b] of all.entries()) for (let x = 0; x < b.length; x += 4096) b[x] = (i * 31 + x) & 0xff;
  return Array.from({ length: count }, (_, s) => all.slice(s * (k + m), (s + 1) * (k + m)));
}

async function measureNode(k: number, m: number, shard: number, mode: Mode, stripes: Buffer[][]): Promise<Row[]> {
  const rows: Row[] = [];
  const lost = Array.from({ length: m }, (_, i) => i);
  const warm = mode === 'warm';
  for (const kernel of KERNELS) {
    const codec = new ErasureCodec(k, m, { kernel });
    const data = stripes.map((s) => s.slice(0, k));
    const parity = stripes.map((s) => s.slice(k));
    const ops: Record<Op, (i: number) => void> = {
      encode: (i) => codec.encode(data[i]!, parity[i]!),
      decode: (i) => codec.decode(stripes[i]!, lost),
    };
    for (const op of OPS) {
      const once = ops[op];
      const perRound = warm ? await calibrate(() => once(0)) : stripes.length;
      const seconds = await bestRound(perRound, warm ? () => once(0) : once);
      rows.push({ impl: 'tierfs', kernel, k, m, shard, mode, op, gbps: (k * shard * perRound) / seconds / 1e9 });
    }
  }
  // The batch API on libuv's pool, best kernel: what the object tier's async path gets.
  const codec = new ErasureCodec(k, m, { kernel: KERNELS[0] });
  const batches = Array.from({ length: warm ? 1 : Math.floor(stripes.length / ASYNC_BATCH) }, (_, b) =>
    Array.from({ length: ASYNC_BATCH }, (_, i) => stripes[warm ? 0 : b * ASYNC_BATCH + i]!),
  );
  const ops: Record<Op, (b: number) => Promise<void>> = {
    encode: (b) => codec.encodeBatch(batches[b]!.map((s) => ({ data: s.slice(0, k), parity: s.slice(k) }))),
    decode: (b) => codec.decodeBatch(batches[b]!.map((s) => ({ shards: s, lost }))),
  };
  for (const op of OPS) {
    const once = ops[op];
    const perRound = warm ? await calibrate(() => once(0)) : batches.length;
    const seconds = await bestRound(perRound, warm ? () => once(0) : once);
    const bytes = k * shard * ASYNC_BATCH * perRound;
    rows.push({ impl: 'tierfs-async', kernel: KERNELS[0]!, k, m, shard, mode, op, gbps: bytes / seconds / 1e9 });
  }
  return rows;
}

/** Builds native/ec/bench/ec_bench.c (our C files + Debian's libisal) into a temporary directory. */
function buildHarness(dir: string): string {
  const ec = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'ec');
  const sources = readdirSync(ec).filter((f) => f.endsWith('.c')).map((f) => join(ec, f));
  const exe = join(dir, 'ec_bench');
  execFileSync('cc', ['-O3', '-I', ec, join(ec, 'bench', 'ec_bench.c'), ...sources, '-lisal', '-lpthread', '-o', exe]);
  return exe;
}

/** Runs the C harness for impl ("isal" or "tierfs-c:KERNEL") on shapes "k,m,shard,mode,op". */
function measureC(exe: string, impl: string, shapes: string[]): Row[] {
  const out = execFileSync(exe, [String(SECONDS), String(RAM_BYTES >> 20), impl, ...shapes], { encoding: 'utf8' });
  return out.trim().split('\n').map((line) => JSON.parse(line) as Row);
}

/** The installed ISA-L's version, from Debian's package database. */
function isalVersion(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libisal-dev'], { encoding: 'utf8' }).split('-')[0]!;
  } catch {
    return 'unknown';
  }
}

function fmtShard(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes >> 20} MiB` : `${bytes >> 10} KiB`;
}

function printTable(rows: Row[]) {
  const key = (r: { k: number; m: number; shard: number; mode: string; op: string }) =>
    `${r.k}+${r.m} ${r.shard} ${r.mode} ${r.op}`;
  const cols = [
    ...KERNELS.map((kernel) => ({ title: kernel, impl: 'tierfs', kernel })),
    { title: `async ${KERNELS[0]}`, impl: 'tierfs-async', kernel: KERNELS[0]! },
    { title: `C ${KERNELS[0]}`, impl: 'tierfs-c', kernel: KERNELS[0]! },
  ];
  const byKey = new Map<string, Row>();
  for (const r of rows) byKey.set(`${r.impl} ${r.kernel} ${key(r)}`, r);
  const head = ['code', 'shard', 'mode', 'op', 'ISA-L', ...cols.map((c) => c.title)];
  const lines: string[][] = [];
  for (const [k, m] of CODES)
    for (const shard of SHARDS)
      for (const mode of MODES)
        for (const op of OPS) {
          const at = { k, m, shard, mode, op };
          const isal = byKey.get(`isal isal ${key(at)}`)?.gbps ?? NaN;
          const cells = cols.map((c) => {
            const g = byKey.get(`${c.impl} ${c.kernel} ${key(at)}`)?.gbps ?? NaN;
            return `${g.toFixed(1)} (${(g / isal).toFixed(2)}x)`;
          });
          lines.push([`${k}+${m}`, fmtShard(shard), mode, op, isal.toFixed(1), ...cells]);
        }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(
    `erasure coding, GB/s of data, one thread (ratio to ISA-L ${isalVersion()}); best of rounds over ${SECONDS} s; ` +
      `ram = a walk over ${RAM_BYTES >> 20} MiB of stripes\n` +
      `kernel columns: the sync Node API; async: ${ASYNC_BATCH} stripes per encodeBatch/decodeBatch call on ` +
      `libuv's pool; C: our C codec called from C, no Node\n`,
  );
  process.stdout.write(`${fmt(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);
}

// Shape by shape, the C harness runs right after the Node side, so a load that
// comes and goes on a shared machine hits both sides alike.
const dir = mkdtempSync(join(tmpdir(), 'tierfs-ec-bench-'));
const rows: Row[] = [];
try {
  const harness = buildHarness(dir);
  for (const [k, m] of CODES) {
    for (const shard of SHARDS) {
      for (const mode of MODES) {
        const count = mode === 'warm' ? 1 : Math.ceil(RAM_BYTES / ((k + m) * shard));
        rows.push(...(await measureNode(k, m, shard, mode, makeStripes(k, m, shard, count))));
        const shapes = OPS.map((op) => `${k},${m},${shard},${mode},${op}`);
        rows.push(...measureC(harness, 'isal', shapes), ...measureC(harness, `tierfs-c:${KERNELS[0]}`, shapes));
        if (!args.json) process.stderr.write('.');
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (!args.json) process.stderr.write('\n');

if (args.json) for (const r of rows) process.stdout.write(`${JSON.stringify({ ...r, gbps: Number(r.gbps.toFixed(2)) })}\n`);
else printTable(rows);
