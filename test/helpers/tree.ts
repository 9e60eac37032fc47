// A tree as a user sees it through a mount — every entry's type, mode, owner, size,
// mtime, content hash, symlink target, hard-link group and xattrs — taken before and
// after something happens to the filesystem, and compared entry by entry.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** permission bits with setuid/setgid/sticky */
  mode: number;
  uid: number;
  gid: number;
  /** files: bytes; others: 0 */
  size: number;
  /** nanoseconds, as a string (compared to within 2 µs: see MTIME_SLACK_NS) */
  mtime: string;
  sha256: string | null;
  target: string | null;
  /** the first path (in sorted order) of the entry's hard-link group, or null when it has one name */
  linkGroup: string | null;
  /** name → value as hex; virtual attributes that change with placement (user.tierfs.tier) left out */
  xattrs: Record<string, string>;
}

export type Tree = Map<string, TreeEntry>;

/**
 * A copy between local tiers sets its backing file's times through utimes: seconds as a
 * double, set with microsecond precision, up to about 1.2 µs off (vfs/reconcile.ts
 * allows the same): times this close are equal.
 */
const MTIME_SLACK_NS = 2000n;

const VIRTUAL_XATTRS = new Set(['user.tierfs.tier']);

/** Every xattr of every entry below root, by relative path (one getfattr for the whole tree). */
async function xattrsOf(root: string): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  const { stdout } = await run('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], { maxBuffer: 64 << 20 });
  let current: Record<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      const abs = line.slice('# file: '.length);
      const rel = abs === root ? '' : abs.slice(root.length + 1);
      out.set(rel, (current = {}));
    } else if (current && line.includes('=')) {
      const eq = line.indexOf('=');
      const name = line.slice(0, eq);
      if (!VIRTUAL_XATTRS.has(name)) current[name] = line.slice(eq + 1);
    }
  }
  return out;
}

/** The content's SHA-256, or the error reading it gave ("error:EIO"): a file whose bytes are lost is part of the tree too. */
async function hashOf(path: string): Promise<string> {
  try {
    return createHash('sha256').update(await fs.readFile(path)).digest('hex');
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code}`;
  }
}

/** The tree below root (root itself as ''), sorted by path. */
export async function snapshotTree(root: string): Promise<Tree> {
  const entries: [string, TreeEntry & { ino: bigint }][] = [];
  const walk = async (rel: string) => {
    const abs = rel === '' ? root : join(root, rel);
    const st = await fs.lstat(abs, { bigint: true });
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    entries.push([
      rel,
      {
        type,
        ino: st.ino,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: type === 'file' ? Number(st.size) : 0,
        mtime: st.mtimeNs.toString(),
        sha256: type === 'file' ? await hashOf(abs) : null,
        target: type === 'symlink' ? await fs.readlink(abs) : null,
        linkGroup: null,
        xattrs: {},
      },
    ]);
    if (type === 'dir') for (const name of (await fs.readdir(abs)).sort()) await walk(rel === '' ? name : `${rel}/${name}`);
  };
  await walk('');
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const firstOfIno = new Map<bigint, string>();
  const names = new Map<bigint, number>();
  for (const [path, e] of entries) {
    if (e.type !== 'file') continue;
    names.set(e.ino, (names.get(e.ino) ?? 0) + 1);
    if (!firstOfIno.has(e.ino)) firstOfIno.set(e.ino, path);
  }
  const xattrs = await xattrsOf(root);
  const tree: Tree = new Map();
  for (const [path, { ino, ...e }] of entries) {
    tree.set(path, { ...e, linkGroup: e.type === 'file' && names.get(ino)! > 1 ? firstOfIno.get(ino)! : null, xattrs: xattrs.get(path) ?? {} });
  }
  return tree;
}

export interface CompareOptions {
  /** fields not compared, for every entry or for entries of one type ("dir.mtime") */
  ignore?: string[];
  /** paths not compared at all */
  skip?: (path: string) => boolean;
}

const close = (x: bigint, y: bigint) => (x > y ? x - y : y - x) < MTIME_SLACK_NS;

/** The differences between two trees, one line each; empty when they agree. */
export function diffTrees(before: Tree, after: Tree, opts: CompareOptions = {}): string[] {
  const ignore = new Set(opts.ignore ?? []);
  const skip = opts.skip ?? (() => false);
  const out: string[] = [];
  for (const [path, a] of before) {
    if (skip(path)) continue;
    const b = after.get(path);
    if (!b) {
      out.push(`${path || '/'}: missing (was a ${a.type})`);
      continue;
    }
    for (const field of Object.keys(a) as (keyof TreeEntry)[]) {
      if (ignore.has(field) || ignore.has(`${a.type}.${field}`)) continue;
      const [x, y] = [JSON.stringify(a[field]), JSON.stringify(b[field])];
      if (field === 'mtime' && close(BigInt(a.mtime), BigInt(b.mtime))) continue;
      if (x !== y) out.push(`${path || '/'}: ${field} ${x} → ${y}`);
    }
  }
  for (const [path, b] of after) if (!skip(path) && !before.has(path)) out.push(`${path}: new ${b.type}`);
  return out;
}

/**
 * The paths of the files under dir (names starting with a dot skipped), read while
 * something may be deleting: a directory that vanishes between its listing and ours
 * holds nothing (an object store's collector prunes the directories it emptied).
 */
export function filesUnder(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.filter((e) => !e.name.startsWith('.')).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}
