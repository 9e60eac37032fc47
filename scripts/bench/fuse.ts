// npm run bench -- fuse [--size-mib N] [--files N] [--json]
//
// One table, measured in the same run: sequential write and read of a large file (MB/s)
// and creating + stat-ing many small files (ops/s) on
//   direct     the hot directory itself
//   tierfs     a tierfs mount over it (access recording on, and off)
//   mergerfs   a mergerfs mount of the same directory
// Page cache is dropped before every read so reads reach the filesystem under test.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../../test/helpers/tierfs.js';
import { forceUnmount, waitFor, isMounted } from '../../test/helpers/mount.js';
import { tempDir } from '../../test/helpers/tmp.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const json = args.includes('--json');
const SIZE_MIB = opt('--size-mib', 1024);
const FILES = opt('--files', 10_000);

interface Row {
  target: string;
  writeMBps: number;
  readMBps: number;
  smallFilesOps: number;
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

/** Create FILES small files, then stat each: ops/s over both phases. */
function smallFiles(dir: string): number {
  const d = join(dir, 'small');
  mkdirSync(d);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < FILES; i++) writeFileSync(join(d, `f${i}`), 'x');
  for (let i = 0; i < FILES; i++) statSync(join(d, `f${i}`));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rmSync(d, { recursive: true });
  return (2 * FILES) / s;
}

function measure(target: string, dir: string): Row {
  const s = seq(dir);
  return { target, ...s, smallFilesOps: smallFiles(dir) };
}

async function withTierfs(recording: boolean, fn: (mnt: string) => Row): Promise<Row> {
  const t = new TierfsMount({ recording, cacheTimeout: '1s' }); // the defaults of a real mount
  try {
    await t.start();
    return fn(t.mnt);
  } finally {
    await t.dispose();
  }
}

async function withMergerfs(fn: (mnt: string) => Row): Promise<Row | undefined> {
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
    return fn(mnt);
  } finally {
    forceUnmount(mnt);
    dir.remove();
  }
}

const direct = tempDir('bench-direct-');
const rows: Row[] = [];
try {
  rows.push(measure('direct', direct.path));
} finally {
  direct.remove();
}
rows.push(await withTierfs(true, (mnt) => measure('tierfs', mnt)));
rows.push(await withTierfs(false, (mnt) => measure('tierfs (no recording)', mnt)));
const merger = await withMergerfs((mnt) => measure('mergerfs', mnt));
if (merger) rows.push(merger);

if (json) {
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const d = rows[0]!;
  const mf = merger;
  const f = (n: number) => n.toFixed(0);
  const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : '–');
  process.stdout.write(`sequential ${SIZE_MIB} MiB (dd, 1 MiB blocks), ${FILES} small files created + stat-ed\n\n`);
  process.stdout.write(
    `${'target'.padEnd(24)}${'write MB/s'.padStart(12)}${'read MB/s'.padStart(12)}${'small ops/s'.padStart(13)}` +
      `${'write/direct'.padStart(14)}${'read/direct'.padStart(13)}${'small/mergerfs'.padStart(16)}\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.target.padEnd(24)}${f(r.writeMBps).padStart(12)}${f(r.readMBps).padStart(12)}${f(r.smallFilesOps).padStart(13)}` +
        `${ratio(r.writeMBps, d.writeMBps).padStart(14)}${ratio(r.readMBps, d.readMBps).padStart(13)}${ratio(r.smallFilesOps, mf?.smallFilesOps).padStart(16)}\n`,
    );
  }
  const on = rows.find((r) => r.target === 'tierfs')!;
  const off = rows.find((r) => r.target === 'tierfs (no recording)')!;
  process.stdout.write(
    `\nrecording overhead: read ${(100 * (1 - on.readMBps / off.readMBps)).toFixed(1)}%, ` +
      `write ${(100 * (1 - on.writeMBps / off.writeMBps)).toFixed(1)}%, small files ${(100 * (1 - on.smallFilesOps / off.smallFilesOps)).toFixed(1)}%\n`,
  );
}
