// Erasure-coding throughput: our kernels through the Node API beside ISA-L
// (Debian's libisal), which a C harness times on the same shapes and layout.
//
//   npm run bench -- ec [--json] [--rounds N] [--ram-mib N] [--kernels a,b] [--codes 10+4,12+4]
//                       [--shards 65536,1048576] [--modes warm,ram]
//   (defaults: --rounds 7, --ram-mib 512, every kernel this CPU has, --codes 4+2,8+3,10+4,12+4,
//    --shards 65536,1048576, --modes warm,ram)
//
// GB/s counts data bytes (k x shard) per second, one thread. "warm" codes one
// stripe over and over for 20 ms (in cache); "ram" walks >= 512 MiB of
// stripes once, so every byte comes from memory. Encode writes m parity
// shards; decode rebuilds m lost data shards (0..m-1) from the next k.
//
// The machine is shared, so load comes and goes: each shape runs N rounds,
// and every round gives each implementation (our kernels, the async batch
// API, ISA-L and our C codec in the harness process) one turn, one after the
// other; each reports its best round.
import { spawn, execFileSync, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ErasureCodec, allocateShards, availableKernels, isKernelName, type KernelName } from '../../src/ec/index.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '7' },
    'ram-mib': { type: 'string', default: '512' },
    kernels: { type: 'string' },
    codes: { type: 'string', default: '4+2,8+3,10+4,12+4' },
    shards: { type: 'string', default: '65536,1048576' },
    modes: { type: 'string', default: 'warm,ram' },
  },
});
const ROUNDS = Number(args.rounds);
const RAM_MIB = Number(args['ram-mib']);
const KERNELS: KernelName[] = args.kernels
  ? args.kernels.split(',').filter(isKernelName).filter((k) => availableKernels().includes(k))
  : availableKernels();
const BEST = KERNELS[0]!;
const CODES = args.codes.split(',').map((c) => c.split('+').map(Number) as [number, number]);
const SHARDS = args.shards.split(',').map(Number);
const MODES = (['warm', 'ram'] as const).filter((m) => args.modes.split(',').includes(m));
const OPS = ['encode', 'decode'] as const;
const WARM_ROUND_MS = 20;
const ASYNC_BATCH = 16;

type Mode = (typeof MODES)[number];
type Op = (typeof OPS)[number];
type Impl = 'tierfs' | 'tierfs-async' | 'tierfs-c' | 'isal';
interface Row {
  impl: Impl;
  kernel: string;
  k: number;
  m: number;
  shard: number;
  mode: Mode;
  op: Op;
  gbps: number;
}
interface Contender {
  impl: Impl;
  kernel: string;
  op: Op;
  /** GB/s of data in one round. */
  round(): Promise<number>;
}

/** One round: `once(i)` over every stripe index (ram), or on stripe 0 for WARM_ROUND_MS (warm). */
async function timeRound(warm: boolean, count: number, bytesPerOp: number, once: (i: number) => unknown) {
  let ops = 0;
  const start = performance.now();
  let elapsed: number;
  if (warm) {
    do {
      for (let j = 0; j < 4; j++) await once(0); // checking the clock less often than every call
      ops += 4;
    } while ((elapsed = performance.now() - start) < WARM_ROUND_MS);
  } else {
    for (let i = 0; i < count; i++) await once(i);
    ops = count;
    elapsed = performance.now() - start;
  }
  return (bytesPerOp * ops) / (elapsed / 1000) / 1e9;
}

/** Stripes of k + m shards cut from one slab in allocateShards' layout (the harness uses the same). */
function makeStripes(k: number, m: number, shard: number, count: number): Buffer[][] {
  const all = allocateShards(count * (k + m), shard);
  for (const [i, b] of all.entries()) for (let x = 0; x < b.length; x += 4096) b[x] = (i * 31 + x) & 0xff;
  return Array.from({ length: count }, (_, s) => all.slice(s * (k + m), (s + 1) * (k + m)));
}

function nodeContenders(k: number, m: number, shard: number, warm: boolean, stripes: Buffer[][]): Contender[] {
  const lost = Array.from({ length: m }, (_, i) => i);
  const data = stripes.map((s) => s.slice(0, k));
  const parity = stripes.map((s) => s.slice(k));
  const contenders: Contender[] = [];
  for (const kernel of KERNELS) {
    const codec = new ErasureCodec(k, m, { kernel });
    const once: Record<Op, (i: number) => void> = {
      encode: (i) => codec.encode(data[i]!, parity[i]!),
      decode: (i) => codec.decode(stripes[i]!, lost),
    };
    for (const op of OPS) {
      contenders.push({
        impl: 'tierfs',
        kernel,
        op,
        round: () => timeRound(warm, stripes.length, k * shard, once[op]),
      });
    }
  }
  // The batch API on libuv's pool with the best kernel: what the object tier's async path gets.
  const codec = new ErasureCodec(k, m, { kernel: BEST });
  const batches = Array.from({ length: warm ? 1 : Math.floor(stripes.length / ASYNC_BATCH) }, (_, b) =>
    Array.from({ length: ASYNC_BATCH }, (_, i) => (warm ? 0 : b * ASYNC_BATCH + i)),
  );
  const once: Record<Op, (b: number) => Promise<void>> = {
    encode: (b) => codec.encodeBatch(batches[b]!.map((s) => ({ data: data[s]!, parity: parity[s]! }))),
    decode: (b) => codec.decodeBatch(batches[b]!.map((s) => ({ shards: stripes[s]!, lost }))),
  };
  for (const op of OPS) {
    contenders.push({
      impl: 'tierfs-async',
      kernel: BEST,
      op,
      round: () => timeRound(warm, batches.length, k * shard * ASYNC_BATCH, once[op]),
    });
  }
  return contenders;
}

/** The C harness (native/ec/bench/ec_bench.c), built into dir and kept running; it answers one round per line. */
class Harness {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;

  constructor(dir: string) {
    const ec = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'ec');
    const sources = readdirSync(ec).filter((f) => f.endsWith('.c')).map((f) => join(ec, f));
    const exe = join(dir, 'ec_bench');
    execFileSync('cc', ['-O3', '-I', ec, join(ec, 'bench', 'ec_bench.c'), ...sources, '-lisal', '-lz', '-lpthread', '-o', exe]);
    this.child = spawn(exe, [String(RAM_MIB)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  contenders(k: number, m: number, shard: number, mode: Mode): Contender[] {
    const ask = async (impl: string, op: Op) => {
      this.child.stdin.write(`${impl} ${k},${m},${shard},${mode},${op}\n`);
      const { value, done } = await this.lines.next();
      if (done) throw new Error(`ec_bench exited (${impl} ${k}+${m})`);
      return Number(value);
    };
    return OPS.flatMap((op): Contender[] => [
      { impl: 'isal', kernel: 'isal', op, round: () => ask('isal', op) },
      { impl: 'tierfs-c', kernel: BEST, op, round: () => ask(`tierfs-c:${BEST}`, op) },
    ]);
  }

  close() {
    this.child.stdin.end();
  }
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
  const key = (r: { impl: string; kernel: string; k: number; m: number; shard: number; mode: string; op: string }) =>
    `${r.impl} ${r.kernel} ${r.k}+${r.m} ${r.shard} ${r.mode} ${r.op}`;
  const byKey = new Map(rows.map((r) => [key(r), r.gbps]));
  const cols = [
    ...KERNELS.map((kernel) => ({ title: kernel, impl: 'tierfs', kernel })),
    { title: `async ${BEST}`, impl: 'tierfs-async', kernel: BEST },
    { title: `C ${BEST}`, impl: 'tierfs-c', kernel: BEST },
  ];
  const head = ['code', 'shard', 'mode', 'op', 'ISA-L', ...cols.map((c) => c.title)];
  const lines: string[][] = [];
  for (const [k, m] of CODES)
    for (const shard of SHARDS)
      for (const mode of MODES)
        for (const op of OPS) {
          const at = { k, m, shard, mode, op };
          const isal = byKey.get(key({ ...at, impl: 'isal', kernel: 'isal' })) ?? NaN;
          const cells = cols.map((c) => {
            const g = byKey.get(key({ ...at, impl: c.impl, kernel: c.kernel })) ?? NaN;
            return `${g.toFixed(1)} (${(g / isal).toFixed(2)}x)`;
          });
          lines.push([`${k}+${m}`, fmtShard(shard), mode, op, isal.toFixed(1), ...cells]);
        }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(
    `erasure coding, GB/s of data, one thread (ratio to ISA-L ${isalVersion()}); best of ${ROUNDS} alternating rounds; ` +
      `ram = a walk over ${RAM_MIB} MiB of stripes\n` +
      `kernel columns: the sync Node API; async: ${ASYNC_BATCH} stripes per encodeBatch/decodeBatch call on ` +
      `libuv's pool; C: our C codec called from C, no Node\n`,
  );
  process.stdout.write(`${fmt(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'tierfs-ec-bench-'));
const harness = new Harness(dir);
const rows: Row[] = [];
try {
  for (const [k, m] of CODES) {
    for (const shard of SHARDS) {
      for (const mode of MODES) {
        const warm = mode === 'warm';
        const stripes = makeStripes(k, m, shard, warm ? 1 : Math.ceil((RAM_MIB << 20) / ((k + m) * shard)));
        const contenders = [...nodeContenders(k, m, shard, warm, stripes), ...harness.contenders(k, m, shard, mode)];
        const best = contenders.map(() => 0);
        for (let round = 0; round < ROUNDS; round++) {
          for (const [i, c] of contenders.entries()) best[i] = Math.max(best[i]!, await c.round());
        }
        contenders.forEach((c, i) => rows.push({ impl: c.impl, kernel: c.kernel, k, m, shard, mode, op: c.op, gbps: best[i]! }));
        if (!args.json) process.stderr.write('.');
      }
    }
  }
} finally {
  harness.close();
  rmSync(dir, { recursive: true, force: true });
}
if (!args.json) process.stderr.write('\n');

if (args.json) for (const r of rows) process.stdout.write(`${JSON.stringify({ ...r, gbps: Number(r.gbps.toFixed(2)) })}\n`);
else printTable(rows);
