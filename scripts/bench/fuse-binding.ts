// The FUSE binding against its peers: sequential read and write of a large file
// (MB/s) and 4 KiB random reads (IOPS), measured with fio through
//   - the backing directory itself (direct),
//   - a passthrough served by tierfs's binding with the native fast path,
//   - the same passthrough with the fast path off (every read and write in JavaScript),
//   - mergerfs over the same directory,
//   - a fuse-native passthrough (installed on demand into .tmp/peers; skipped if unavailable).
// Caches are dropped before every run so that reads reach the mount.
//
//   npm run bench -- fuse-binding [--json] [--size-mib 1024] [--rand-seconds 8] [--dir DIR]
//                                 [--read-ahead-kb N] [--no-splice] [--only TARGET]
//   --dir is where the test files go (default .tmp/bench-fuse-binding); --read-ahead-kb the
//   mount's read-ahead (default: the kernel's); --no-splice turns splice off; --only runs
//   one target beside direct ("tierfs fast path", "tierfs JS path", mergerfs, fuse-native).
import { execFile } from 'node:child_process';
import {
  closeSync, constants as fsc, existsSync, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readSync,
  readdirSync, rmSync, statfsSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { FsError } from '../../src/errors.js';
import { mount } from '../../src/fuse/session.js';
import type { Attr, DirEntry, Entry, FuseOps, Ino, OpenResult, SetAttr } from '../../src/fuse/types.js';
import { forceUnmount, isMounted, tempDir, waitFor } from '../../test/helpers/mount.js';

const exec = promisify(execFile);
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

// ---- arguments ------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const option = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const JSON_OUT = flag('--json');
const SIZE_MIB = Number(option('--size-mib', '1024'));
const RAND_SECONDS = Number(option('--rand-seconds', '8'));
const WORK = resolve(option('--dir', join(ROOT, '.tmp', 'bench-fuse-binding')));
const READ_AHEAD_KB = Number(option('--read-ahead-kb', '0')) || undefined;
const ONLY = option('--only', '');
const SPLICE = !flag('--no-splice');

// ---- a passthrough over a directory, for our binding -----------------------------

const O_ACCMODE = 3;
const openFlags = (flags: number) =>
  // O_APPEND would make pwrite ignore the kernel's offsets; O_DIRECT needs aligned buffers.
  flags & (O_ACCMODE | fsc.O_TRUNC);

/** Inode-based passthrough: nodeid = backing st_ino, except the root, which is 1. */
class Passthrough implements FuseOps {
  private readonly paths = new Map<Ino, string>();
  private nextFh = 1;
  private readonly fds = new Map<number, number>();

  constructor(private readonly root: string) {
    this.paths.set(1, root);
  }

  private path(ino: Ino): string {
    const p = this.paths.get(ino);
    if (!p) throw new FsError('ESTALE');
    return p;
  }

  private attrOf(path: string, isRoot = false): Attr {
    const st = lstatSync(path, { bigint: true });
    return {
      ino: isRoot ? 1 : Number(st.ino), mode: Number(st.mode), nlink: Number(st.nlink), uid: Number(st.uid),
      gid: Number(st.gid), rdev: Number(st.rdev), size: Number(st.size), blocks: Number(st.blocks),
      blksize: Number(st.blksize), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs,
    };
  }

  private entryOf(path: string): Entry {
    const attr = this.attrOf(path);
    this.paths.set(attr.ino, path);
    return { attr };
  }

  async lookup(_c: unknown, parent: Ino, name: string) {
    return this.entryOf(join(this.path(parent), name));
  }
  async getattr(_c: unknown, ino: Ino) {
    return this.attrOf(this.path(ino), ino === 1);
  }
  async setattr(_c: unknown, ino: Ino, set: SetAttr) {
    if (set.size !== undefined) truncateSync(this.path(ino), set.size);
    return this.attrOf(this.path(ino), ino === 1);
  }
  async readlink(): Promise<string> {
    throw new FsError('ENOSYS');
  }
  async mknod(): Promise<Entry> {
    throw new FsError('ENOSYS');
  }
  async mkdir(_c: unknown, parent: Ino, name: string, mode: number) {
    mkdirSync(join(this.path(parent), name), { mode });
    return this.entryOf(join(this.path(parent), name));
  }
  async unlink(_c: unknown, parent: Ino, name: string) {
    unlinkSync(join(this.path(parent), name));
  }
  async rmdir(_c: unknown, parent: Ino, name: string) {
    rmSync(join(this.path(parent), name), { recursive: false });
  }
  async symlink(): Promise<Entry> {
    throw new FsError('ENOSYS');
  }
  async rename(): Promise<void> {
    throw new FsError('ENOSYS');
  }
  async link(): Promise<Entry> {
    throw new FsError('ENOSYS');
  }
  private handle(fd: number): OpenResult {
    const fh = this.nextFh++;
    this.fds.set(fh, fd);
    return { fh, fd };
  }
  async open(_c: unknown, ino: Ino, flags: number) {
    return this.handle(openSync(this.path(ino), openFlags(flags)));
  }
  async read(_c: unknown, _ino: Ino, fh: number, size: number, offset: number) {
    const buf = Buffer.allocUnsafe(size);
    return buf.subarray(0, readSync(this.fds.get(fh)!, buf, 0, size, offset));
  }
  async write(_c: unknown, _ino: Ino, fh: number, data: Buffer, offset: number) {
    return writeSync(this.fds.get(fh)!, data, 0, data.length, offset);
  }
  async flush() {}
  async release(_c: unknown, _ino: Ino, fh: number) {
    closeSync(this.fds.get(fh)!);
    this.fds.delete(fh);
  }
  async fsync(_c: unknown, _ino: Ino, fh: number) {
    const { fsyncSync } = await import('node:fs');
    fsyncSync(this.fds.get(fh)!);
  }
  async opendir() {
    return { fh: 0 };
  }
  async readdir(_c: unknown, ino: Ino, _fh: number, offset: number): Promise<DirEntry[]> {
    const dir = this.path(ino);
    return readdirSync(dir)
      .map((name, i) => {
        const st = lstatSync(join(dir, name));
        return { name, ino: st.ino, mode: st.mode, offset: i + 1 };
      })
      .slice(offset);
  }
  async releasedir() {}
  async statfs() {
    const s = statfsSync(this.root);
    return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, namemax: 255 };
  }
  async setxattr(): Promise<void> {
    throw new FsError('ENOTSUP');
  }
  async getxattr(): Promise<Buffer> {
    throw new FsError('ENODATA');
  }
  async listxattr() {
    return [];
  }
  async removexattr(): Promise<void> {
    throw new FsError('ENOTSUP');
  }
  async create(_c: unknown, parent: Ino, name: string, mode: number, flags: number) {
    const path = join(this.path(parent), name);
    const fd = openSync(path, openFlags(flags) | fsc.O_CREAT, mode);
    return { ...this.entryOf(path), ...this.handle(fd) };
  }
}

// ---- a fuse-native passthrough (the peer the binding replaces) -------------------

interface FuseNative {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

async function loadFuseNative(): Promise<(new (mnt: string, ops: object, opts: object) => FuseNative) | string> {
  const peers = join(ROOT, '.tmp', 'peers');
  if (!existsSync(join(peers, 'node_modules', 'fuse-native'))) {
    mkdirSync(peers, { recursive: true });
    writeFileSync(
      join(peers, 'package.json'),
      JSON.stringify({ name: 'tierfs-bench-peers', private: true, allowScripts: { 'fuse-native': true, 'fuse-shared-library': true, 'fuse-shared-library-linux': true } }),
    );
    try {
      await exec('npm', ['install', '--prefix', peers, '--no-audit', '--no-fund', 'fuse-native@2.2.6'], { timeout: 300_000 });
    } catch (err) {
      return `npm install fuse-native failed: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  try {
    return createRequire(join(peers, 'package.json'))('fuse-native') as new (mnt: string, ops: object, opts: object) => FuseNative;
  } catch (err) {
    return `fuse-native does not load (apt-get install -y libfuse2?): ${(err as Error).message.split('\n')[0]}`;
  }
}

function fuseNativeOps(root: string) {
  const p = (path: string) => join(root, path);
  const errno = (err: unknown) => -((err as { errno?: number }).errno ? Math.abs((err as { errno: number }).errno) : 5);
  const wrap = (fn: () => unknown, cb: (code: number, v?: unknown) => void) => {
    try {
      cb(0, fn());
    } catch (err) {
      cb(errno(err));
    }
  };
  return {
    getattr: (path: string, cb: (c: number, v?: unknown) => void) => wrap(() => statSync(p(path)), cb),
    fgetattr: (path: string, fd: number, cb: (c: number, v?: unknown) => void) => wrap(() => fstatSync(fd), cb),
    readdir: (path: string, cb: (c: number, v?: unknown) => void) => wrap(() => readdirSync(p(path)), cb),
    open: (path: string, flags: number, cb: (c: number, v?: unknown) => void) => wrap(() => openSync(p(path), openFlags(flags)), cb),
    create: (path: string, mode: number, cb: (c: number, v?: unknown) => void) =>
      wrap(() => openSync(p(path), fsc.O_CREAT | fsc.O_RDWR, mode), cb),
    read: (_path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
      try {
        cb(readSync(fd, buf, 0, len, pos));
      } catch (err) {
        cb(errno(err));
      }
    },
    write: (_path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
      try {
        cb(writeSync(fd, buf, 0, len, pos));
      } catch (err) {
        cb(errno(err));
      }
    },
    release: (_path: string, fd: number, cb: (c: number) => void) => wrap(() => closeSync(fd), cb),
    truncate: (path: string, size: number, cb: (c: number) => void) => wrap(() => truncateSync(p(path), size), cb),
    ftruncate: (_path: string, fd: number, size: number, cb: (c: number) => void) => wrap(() => ftruncateSync(fd, size), cb),
    unlink: (path: string, cb: (c: number) => void) => wrap(() => unlinkSync(p(path)), cb),
    fsync: (_path: string, _fd: number, _ds: boolean, cb: (c: number) => void) => cb(0),
    flush: (_path: string, _fd: number, cb: (c: number) => void) => cb(0),
  };
}

// ---- measuring ----------------------------------------------------------------

interface Result { readMBs: number; writeMBs: number; randIops: number }

async function dropCaches(): Promise<void> {
  await exec('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

async function fio(args: string[]): Promise<{ read: { bw_bytes: number; iops: number }; write: { bw_bytes: number } }> {
  const { stdout } = await exec('fio', ['--output-format=json', '--ioengine=psync', '--direct=0', ...args], {
    maxBuffer: 16 << 20,
    timeout: 600_000,
  });
  return (JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: never[] }).jobs[0]!;
}

async function measure(dir: string): Promise<Result> {
  const size = `${SIZE_MIB}m`;
  await dropCaches();
  const r = await fio(['--name=seqread', `--filename=${join(dir, 'big.bin')}`, '--rw=read', '--bs=1m', `--size=${size}`]);
  await dropCaches();
  const target = join(dir, 'written.bin');
  const w = await fio([
    '--name=seqwrite', `--filename=${target}`, '--rw=write', '--bs=1m', `--size=${size}`, '--end_fsync=1', '--fallocate=none',
  ]);
  await exec('rm', ['-f', target]);
  await dropCaches();
  const rr = await fio([
    '--name=randread', `--filename=${join(dir, 'big.bin')}`, '--rw=randread', '--bs=4k', `--size=${size}`,
    '--numjobs=4', '--group_reporting', '--time_based', `--runtime=${RAND_SECONDS}`, '--norandommap',
  ]);
  return { readMBs: r.read.bw_bytes / 1e6, writeMBs: w.write.bw_bytes / 1e6, randIops: rr.read.iops };
}

// ---- the runs -----------------------------------------------------------------

interface Row { target: string; result?: Result; note?: string }

async function withOurMount(data: string, fastPath: boolean): Promise<Result> {
  const mnt = tempDir('tierfs-bench-mnt');
  const session = await mount(mnt, new Passthrough(data), { fsname: 'tierfs-bench', fastPath, readAheadKb: READ_AHEAD_KB, splice: SPLICE });
  try {
    return await measure(mnt);
  } finally {
    await session.unmount();
    rmSync(mnt, { recursive: true, force: true });
  }
}

async function withMergerfs(data: string): Promise<Result> {
  const mnt = tempDir('tierfs-bench-mergerfs');
  await exec('mergerfs', ['-o', 'cache.files=partial,dropcacheonclose=false,fsname=mergerfs-bench', data, mnt]);
  try {
    await waitFor(() => isMounted(mnt), 10_000, () => 'mergerfs did not mount');
    return await measure(mnt);
  } finally {
    forceUnmount(mnt);
    rmSync(mnt, { recursive: true, force: true });
  }
}

async function withFuseNative(data: string): Promise<Result | string> {
  const Fuse = await loadFuseNative();
  if (typeof Fuse === 'string') return Fuse;
  const mnt = tempDir('tierfs-bench-fuse-native');
  // bigWrites is ignored by fuse-native; smuggled through fsname as MACHINE.md describes.
  const fuse = new Fuse(mnt, fuseNativeOps(data), { force: true, fsname: 'fuse-native,big_writes,max_write=131072' });
  await promisify(fuse.mount.bind(fuse))();
  try {
    return await measure(mnt);
  } finally {
    await promisify(fuse.unmount.bind(fuse))().catch(() => forceUnmount(mnt));
    forceUnmount(mnt);
    rmSync(mnt, { recursive: true, force: true });
  }
}

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark drops caches and mounts');
  const data = join(WORK, 'data');
  mkdirSync(data, { recursive: true });
  const big = join(data, 'big.bin');
  if (!existsSync(big) || statSync(big).size !== SIZE_MIB << 20) {
    process.stderr.write(`writing ${SIZE_MIB} MiB test file…\n`);
    await exec('fio', ['--name=layout', `--filename=${big}`, '--rw=write', '--bs=1m', `--size=${SIZE_MIB}m`, '--refill_buffers', '--end_fsync=1'], { timeout: 600_000 });
  }
  const rows: Row[] = [];
  const runs: [string, () => Promise<Result | string>][] = [
    ['direct', () => measure(data)],
    ['tierfs fast path', () => withOurMount(data, true)],
    ['tierfs JS path', () => withOurMount(data, false)],
    ['mergerfs', () => withMergerfs(data)],
    ['fuse-native', () => withFuseNative(data)],
  ];
  for (const [target, runOne] of runs) {
    if (ONLY && target !== ONLY && target !== 'direct') continue;
    process.stderr.write(`${target}…\n`);
    try {
      const r = await runOne();
      rows.push(typeof r === 'string' ? { target, note: r } : { target, result: r });
    } catch (err) {
      rows.push({ target, note: `failed: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  const direct = rows.find((r) => r.target === 'direct')?.result;
  const merger = rows.find((r) => r.target === 'mergerfs')?.result;
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? a / b : undefined);

  if (JSON_OUT) {
    for (const r of rows) {
      process.stdout.write(`${JSON.stringify({ bench: 'fuse-binding', sizeMiB: SIZE_MIB, ...r.result, target: r.target, note: r.note })}\n`);
    }
    return;
  }
  const head = ['target', 'read MB/s', '×direct', '×mergerfs', 'write MB/s', '×direct', '×mergerfs', '4K IOPS', '×direct', '×mergerfs'];
  const lines = rows.map((r) => {
    const x = r.result;
    if (!x) return [r.target, `skipped: ${r.note}`];
    return [
      r.target,
      fmt(x.readMBs), fmt(ratio(x.readMBs, direct?.readMBs), 2), fmt(ratio(x.readMBs, merger?.readMBs), 2),
      fmt(x.writeMBs), fmt(ratio(x.writeMBs, direct?.writeMBs), 2), fmt(ratio(x.writeMBs, merger?.writeMBs), 2),
      fmt(x.randIops), fmt(ratio(x.randIops, direct?.randIops), 2), fmt(ratio(x.randIops, merger?.randIops), 2),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l.length > 2 ? (l[i] ?? '').length : 0))));
  const show = (cells: string[]) =>
    cells.length === 2 ? `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]}` : cells.map((c, i) => (i ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write(`FUSE binding, ${SIZE_MIB} MiB file, fio psync, caches dropped before each run; 4K random: 4 jobs, ${RAND_SECONDS} s\n`);
  process.stdout.write(`${show(head)}\n${lines.map(show).join('\n')}\n`);
}

await main();
