// The pieces of a differential test: a seeded stream of random file operations that
// collide (names from a small pool), run the same way on a plain directory and on the
// mount, and a snapshot of everything a user can see of a tree, to compare the two.
//
// Files may be sparse and far larger than what is ever read: bytes are only ever written
// in the first HEAD bytes of a file or inside one of the WINDOWS (one straddles 4 GiB,
// where 32-bit offsets break; one sits at 5 GiB). A snapshot reads exactly those ranges,
// plus a few 4 KiB samples elsewhere (holes, which must read as zeros), instead of gigabytes.
import * as fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

/** A small fast seeded generator (mulberry32): the same seed gives the same operations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const GiB = 2 ** 30;
/** Bytes at the start of a file that small writes and truncates stay within. */
export const HEAD = 1 << 20;
/** Ranges far out where sparse writes land. */
export const WINDOWS = [
  { start: 4 * GiB - 8192, length: 80 * 1024 },
  { start: 5 * GiB, length: 80 * 1024 },
];

export const DIRS = ['a', 'b', 'a/c', 'b/d'];
/**
 * Two pools of file names. Files named from the sparse pool may grow to 5 GiB; renames
 * and links stay within a pool or go from movable to a directory's name to sparse, never
 * back, so no sparse file and no directory ever has a movable name. A mover that picks
 * from MOVABLE_FILES never meets a file it would have to copy gigabytes of.
 */
export const NAMES = ['f1', 'f2', 'f3', 'g', 'h'];
export const SPARSE_NAMES = ['s1', 's2'];
const inEveryDir = (names: string[]) => ['', ...DIRS].flatMap((d) => names.map((n) => join(d, n)));
export const MOVABLE_FILES = inEveryDir(NAMES);
export const SPARSE_FILES = inEveryDir(SPARSE_NAMES);

export type Op = { name: string; run: (root: string) => Promise<string | void> };

/**
 * Node has no xattr or fallocate calls; a process per call (setfattr) costs 40 ms here. One
 * Python process serves them all, a JSON line per request, answering '' or the errno's name.
 */
const SYSCALL_SERVER = `
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
def fallocate(path, mode, off, length):
    fd = os.open(path, os.O_WRONLY)
    try:
        if libc.fallocate(fd, mode, off, length) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)
for line in sys.stdin:
    op, path, a, b = json.loads(line)
    try:
        if op == 'set': os.setxattr(path, a, bytes.fromhex(b))
        elif op == 'remove': os.removexattr(path, a)
        else: fallocate(path, int(a), *map(int, b.split(':')))
        print('', flush=True)
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)), flush=True)
`;
let syscallServer: { child: ChildProcess; waiting: ((answer: string) => void)[] } | undefined;

/** set/remove: a is the xattr's name, b its value in hex; fallocate: a is the mode, b "offset:length". */
function syscall(op: 'set' | 'remove' | 'fallocate', path: string, a: string, b = ''): Promise<void> {
  if (!syscallServer) {
    const child = spawn('python3', ['-u', '-c', SYSCALL_SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const server = (syscallServer = { child, waiting: [] as ((answer: string) => void)[] });
    createInterface({ input: child.stdout! }).on('line', (line) => server.waiting.shift()?.(line));
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
  }
  const server = syscallServer;
  return new Promise((resolve, reject) => {
    server.waiting.push((code) => (code ? reject(Object.assign(new Error(`${op} ${path} ${a}: ${code}`), { code })) : resolve()));
    server.child.stdin!.write(`${JSON.stringify([op, path, a, b])}\n`);
  });
}

/**
 * fallocate(2) modes: plain, keep-size, punch-hole, zero-range (with and without
 * keep-size). Not collapse and insert range: the kernel's FUSE refuses them before any
 * filesystem sees them (EOPNOTSUPP), where ext4 takes them.
 */
const FALLOCATE_MODES = [
  { name: 'allocate', flags: 0 },
  { name: 'keep-size', flags: 0x01 },
  { name: 'punch-hole', flags: 0x03 },
  { name: 'zero-range', flags: 0x10 },
  { name: 'zero-range-keep-size', flags: 0x11 },
];

/** Ends the syscall helper process (tests call it when done). */
export function stopXattrHelper(): void {
  syscallServer?.child.kill();
  syscallServer = undefined;
}

/** The next random operation. Only rand decides what it is, so a seed replays the same sequence. */
export function nextOp(rand: () => number): Op {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!;
  const dirPath = () => pick(DIRS);
  const sparse = () => pick(SPARSE_FILES);
  // Any file: three in four from the movable pool.
  const path = () => (rand() < 0.75 ? pick(MOVABLE_FILES) : sparse());
  // Two names from one pool (for renames and links).
  const pair = (): [string, string] => (rand() < 0.75 ? [pick(MOVABLE_FILES), pick(MOVABLE_FILES)] : [sparse(), sparse()]);
  const bytes = (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const smallLength = () => (rand() < 0.1 ? 20_000 + int(80_000) : 1 + int(5000));
  const farOffset = () => {
    const w = pick(WINDOWS);
    return w.start + int(w.length - 16 * 1024);
  };
  const writeAt = (p: string, off: number, data: Buffer): Op => ({
    name: `write ${p} @${off} ${data.length}B`,
    run: async (r) => {
      // Create if missing, then write in place (r+ never truncates).
      await (await fs.open(join(r, p), 'a')).close();
      const fh = await fs.open(join(r, p), 'r+');
      try {
        await fh.write(data, 0, data.length, off);
      } finally {
        await fh.close();
      }
    },
  });

  const k = rand() * 100;
  if (k < 20) return writeAt(path(), int(9000), bytes(smallLength()));
  if (k < 23) return writeAt(sparse(), farOffset(), bytes(1 + int(8000)));
  if (k < 26) {
    const [p, data] = [path(), bytes(1 + int(3000))];
    return { name: `append ${p} ${data.length}B`, run: (r) => fs.appendFile(join(r, p), data) };
  }
  if (k < 30) {
    const [p, data] = [path(), bytes(smallLength())];
    return { name: `create-excl ${p} ${data.length}B`, run: (r) => fs.writeFile(join(r, p), data, { flag: 'wx' }) };
  }
  if (k < 36) {
    const [p, len] = [path(), int(12_000)];
    return { name: `truncate ${p} ${len}`, run: (r) => fs.truncate(join(r, p), len) };
  }
  if (k < 37) {
    const [p, len] = [sparse(), farOffset()];
    return { name: `truncate ${p} ${len}`, run: (r) => fs.truncate(join(r, p), len) };
  }
  if (k < 50) {
    // Files, directories, and the one onto the other. Names only ever flow movable →
    // directory → sparse: a sparse file never comes back under a movable name, and a
    // directory never takes one (else the mover, asking for a movable path, would move
    // a whole directory, sparse files of 5 GiB included; seed 739595 did).
    // A file with other names does not change pools: its other names would stay behind
    // (seed 719116: f1 and g one file, g renamed to a directory's name, then to s1; a
    // write at 4 GiB through s1 made f1 a 4 GiB file the mover took, and pausing the mover
    // waited minutes for it). Both trees have the same links, so both refuse alike.
    const m = rand();
    const crossesPools = m >= 0.75;
    const [a, b] = m < 0.5 ? pair() : m < 0.75 ? [dirPath(), dirPath()] : rand() < 0.5 ? [pick(MOVABLE_FILES), dirPath()] : [dirPath(), sparse()];
    return {
      name: `rename ${a} ${b}`,
      run: async (r) => {
        const st = crossesPools ? await fs.lstat(join(r, a)).catch(() => undefined) : undefined;
        if (st && !st.isDirectory() && st.nlink > 1) throw Object.assign(new Error('a linked file stays in its pool'), { code: 'LINKED' });
        await fs.rename(join(r, a), join(r, b));
      },
    };
  }
  if (k < 54) {
    // An editor's save: the old file goes, a new one takes its name.
    const [p, data] = [path(), bytes(smallLength())];
    return {
      name: `delete-recreate ${p} ${data.length}B`,
      run: async (r) => {
        await fs.unlink(join(r, p)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        await fs.writeFile(join(r, p), data, { flag: 'wx' });
      },
    };
  }
  if (k < 57) {
    // The other kind of save: write a new file beside it, rename it over the old one.
    const [p, data] = [path(), bytes(smallLength())];
    return {
      name: `save-by-rename ${p} ${data.length}B`,
      run: async (r) => {
        await fs.writeFile(join(r, `${p}.new`), data);
        await fs.rename(join(r, `${p}.new`), join(r, p));
      },
    };
  }
  if (k < 64) {
    const p = path();
    return { name: `unlink ${p}`, run: (r) => fs.unlink(join(r, p)) };
  }
  if (k < 70) {
    const d = dirPath();
    return { name: `mkdir ${d}`, run: (r) => fs.mkdir(join(r, d), 0o755) };
  }
  if (k < 74) {
    const d = dirPath();
    return { name: `rmdir ${d}`, run: (r) => fs.rmdir(join(r, d)) };
  }
  if (k < 81) {
    const [a, b] = pair();
    return { name: `link ${a} ${b}`, run: (r) => fs.link(join(r, a), join(r, b)) };
  }
  if (k < 83) {
    // Relative targets only, never '..': both trees must resolve them inside themselves.
    // Movable names only, and pointing at movable names: a write far out through a link
    // must not reach a movable file.
    const [p, target] = [pick(MOVABLE_FILES), pick(['f1', 'g', 'nowhere', 'a/c/h', 'c'])];
    return { name: `symlink ${target} ${p}`, run: (r) => fs.symlink(target, join(r, p)) };
  }
  if (k < 88) {
    const p = rand() < 0.8 ? path() : dirPath();
    const mode = pick([0o600, 0o644, 0o755, 0o700, 0o444, 0o640]);
    return { name: `chmod ${p} ${mode.toString(8)}`, run: (r) => fs.chmod(join(r, p), mode) };
  }
  if (k < 92) {
    const p = rand() < 0.85 ? path() : dirPath();
    // Values stay small: ext4 (where the plain directory may be) holds all of a file's
    // xattrs in one 4 KiB block and says ENOSPC beyond.
    const [name, value] = [`user.k${int(4)}`, bytes(1 + int(rand() < 0.1 ? 600 : 40))];
    return { name: `setxattr ${p} ${name} ${value.length}B`, run: (r) => syscall('set', join(r, p), name, value.toString('hex')) };
  }
  if (k < 94) {
    // Every mode FUSE passes on, at small offsets, block-aligned or not.
    const [p, mode] = [path(), pick(FALLOCATE_MODES)];
    const aligned = rand() < 0.7;
    const [off, len] = aligned ? [4096 * int(3), 4096 * (1 + int(2))] : [int(9000), 1 + int(12_000)];
    return { name: `fallocate ${mode.name} ${p} @${off} ${len}`, run: (r) => syscall('fallocate', join(r, p), String(mode.flags), `${off}:${len}`) };
  }
  if (k < 96) {
    const [p, name] = [rand() < 0.85 ? path() : dirPath(), `user.k${int(4)}`];
    return { name: `removexattr ${p} ${name}`, run: (r) => syscall('remove', join(r, p), name) };
  }
  // A read: what comes back is part of the outcome.
  const [p, far] = [path(), rand() < 0.2];
  const off = far ? farOffset() : int(12_000);
  const len = 1 + int(20_000);
  return {
    name: `read ${p} @${off} ${len}B`,
    run: async (r) => {
      const fh = await fs.open(join(r, p), 'r');
      try {
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, off);
        return `${bytesRead}B ${digest(buf.subarray(0, bytesRead))}`;
      } finally {
        await fh.close();
      }
    },
  };
}

const digest = (b: Buffer) => createHash('sha1').update(b).digest('hex').slice(0, 16);

/** 'ok' (with what a read returned) or the error code. */
export async function outcome(op: Op, root: string): Promise<string> {
  try {
    const r = await op.run(root);
    return r ? `ok ${r}` : 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Every user.* extended attribute below root, by relative path (one getfattr for the whole tree). */
async function xattrsBelow(root: string): Promise<Map<string, string[]>> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('getfattr', ['-R', '-P', '-h', '-d', '-m', '^user\\.', '-e', 'hex', '.'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`getfattr in ${root}: ${err}`))));
  });
  const map = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) map.set(line.slice(8), (cur = []));
    // tierfs's own attributes (the tier a file is on, its pin) are views, not the user's.
    else if (line && cur && !line.startsWith('user.tierfs.')) cur.push(line);
  }
  return map;
}

/** The ranges of a file of this size that a snapshot reads; sampled holes depend on salt. */
function rangesOf(path: string, size: number, salt: string): [number, number][] {
  const ranges: [number, number][] = [[0, Math.min(size, HEAD)]];
  for (const w of WINDOWS) if (w.start < size) ranges.push([w.start, Math.min(size, w.start + w.length)]);
  if (size > HEAD) {
    for (let i = 0; i < 4; i++) {
      const h = createHash('sha1').update(`${salt}:${path}:${i}`).digest();
      const at = HEAD + (h.readUIntBE(0, 6) % (size - HEAD));
      ranges.push([at, Math.min(size, at + 4096)]);
    }
  }
  return ranges;
}

async function contentDigest(file: string, ranges: [number, number][]): Promise<string> {
  const h = createHash('sha1');
  const fh = await fs.open(file, 'r');
  try {
    for (const [from, to] of ranges) {
      const buf = Buffer.alloc(to - from);
      const { bytesRead } = await fh.read(buf, 0, buf.length, from);
      h.update(`${from}+${bytesRead}:`).update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Everything a user can see of a tree, as comparable lines: types, modes, sizes, link
 * counts and which names are links of one file, bytes, symlink targets, user xattrs.
 * salt picks the sampled holes (give both trees the same).
 */
export async function snapshot(root: string, salt = ''): Promise<string[]> {
  const xattrs = await xattrsBelow(root);
  const lines: string[] = [];
  const inodes = new Map<bigint, string[]>();
  const visit = async (rel: string) => {
    for (const name of (await fs.readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(join(root, p), { bigint: true });
      const mode = (st.mode & 0o7777n).toString(8);
      const xa = xattrs.get(p)?.sort().join(' ') ?? '';
      if (st.isDirectory()) {
        lines.push(`d ${p} ${mode} nlink=${st.nlink} ${xa}`);
        await visit(p);
      } else if (st.isSymbolicLink()) {
        lines.push(`l ${p} -> ${await fs.readlink(join(root, p))}`);
      } else {
        const size = Number(st.size);
        const sum = await contentDigest(join(root, p), rangesOf(p, size, salt));
        lines.push(`f ${p} ${mode} nlink=${st.nlink} size=${size} sum=${sum} ${xa}`);
        if (st.nlink > 1n) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), p]);
      }
    }
  };
  await visit('');
  // Hard links: the same groups of names share a file in both trees.
  for (const names of inodes.values()) lines.push(`links ${names.sort().join(' = ')}`);
  return lines.sort();
}
