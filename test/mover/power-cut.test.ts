// A simulated power cut at every point of a move. kill -9 keeps the page cache: whatever
// the daemon wrote reaches the disk. A power cut keeps only what was synced, in an order
// the filesystem chooses. So the test records the daemon's file-system calls during a
// local move (strace), replays them on a model of the volumes, and for every point of
// the trace puts together each state a disk may hold after a power cut there:
//
// - metadata (creates, links, renames, unlinks, mkdirs) reaches the disk in the order
//   it was done (one journal, as ext4 and xfs keep it), and every fsync commits all of it
//   done before: the disk holds a prefix of the metadata calls, at least up to the last
//   fsync before the cut, perhaps more;
// - a file's bytes are there only if the file was fsynced before the cut (else it is
//   empty): stricter than any real filesystem;
// - the catalog is as the last durable transaction before the cut left it (the daemon's
//   test hook TIERFS_TEST_DURABLE_SNAPSHOTS copies it then; the copy's creation marks the
//   point in the trace).
//
// Each state is written to the volumes and the data directory, the daemon mounts it
// (recovery runs as after a real cut), and the file must read back exactly, with the
// catalog and the tiers agreeing.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { TierfsMount } from '../helpers/tierfs.js';
import { auditTiers } from '../helpers/tier-audit.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** One call of the trace that matters to a disk's state after a power cut. */
type Event =
  | { kind: 'create' | 'mkdir' | 'unlink' | 'rmdir'; path: string }
  | { kind: 'link' | 'rename'; from: string; to: string }
  | { kind: 'fsync'; path: string }
  | { kind: 'catalog'; snapshot: string };

const METADATA = new Set(['create', 'mkdir', 'unlink', 'rmdir', 'link', 'rename']);

/**
 * The events of an strace -f -y log, in the order the calls returned. Paths are made
 * absolute: the daemon reaches names as /proc/self/fd/N/NAME (no symlink followed),
 * and -y shows what each descriptor it got back is (from openat, or openat2, with which
 * backing files and directories are opened beneath their volume).
 */
function parseTrace(text: string): Event[] {
  const fds = new Map<string, string>();
  const pending = new Map<string, string>(); // pid → the start of an unfinished call
  const events: Event[] = [];
  const abs = (p: string) => p.replace(/^\/proc\/self\/fd\/(\d+)/, (_, fd: string) => fds.get(fd) ?? `?fd${fd}`);
  for (const raw of text.split('\n')) {
    const m = /^(\d+) +(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, rest] = m as unknown as [string, string, string];
    let line = rest;
    if (line.endsWith('<unfinished ...>')) {
      pending.set(pid, line.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      line = (pending.get(pid) ?? '') + resumed[1];
      pending.delete(pid);
    }
    const call = /^(\w+)\((.*)\) += (-?\d+)(?:<([^>]*)>)?/.exec(line);
    if (!call) continue;
    const [, name, args, ret, retPath] = call as unknown as [string, string, string, string, string | undefined];
    if (Number(ret) < 0) continue;
    if (retPath !== undefined) fds.set(ret, retPath);
    const strings = [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((s) => abs(s[1]!));
    const fdPath = /^\d+<([^>]*)>/.exec(args)?.[1];
    if ((name === 'openat' || name === 'openat2') && /O_CREAT/.test(args)) {
      if (/durable-\d+\.db$/.test(retPath ?? '')) events.push({ kind: 'catalog', snapshot: retPath! });
      else if (retPath) events.push({ kind: 'create', path: retPath });
    } else if (name === 'mkdir' || name === 'mkdirat') events.push({ kind: 'mkdir', path: strings[0]! });
    else if (name === 'link' || name === 'linkat') events.push({ kind: 'link', from: strings[0]!, to: strings[1]! });
    else if (name.startsWith('rename')) events.push({ kind: 'rename', from: strings[0]!, to: strings[1]! });
    else if (name === 'unlink' || name === 'unlinkat') events.push({ kind: /AT_REMOVEDIR/.test(args) ? 'rmdir' : 'unlink', path: strings[0]! });
    else if ((name === 'fsync' || name === 'fdatasync') && fdPath) events.push({ kind: 'fsync', path: fdPath });
  }
  return events;
}

/** The volumes as names → inodes, after a prefix of the metadata calls. */
class Model {
  readonly names = new Map<string, number>(); // path → inode (0: a directory)
  private next = 1;
  constructor(readonly baseline: Map<string, number>) {
    for (const [p, ino] of baseline) this.names.set(p, ino);
    this.next = Math.max(0, ...baseline.values()) + 1;
  }
  apply(e: Event): void {
    if (e.kind === 'create' && !this.names.has(e.path)) this.names.set(e.path, this.next++);
    else if (e.kind === 'mkdir') this.names.set(e.path, 0);
    else if (e.kind === 'unlink' || e.kind === 'rmdir') this.names.delete(e.path);
    else if (e.kind === 'link' && this.names.has(e.from)) this.names.set(e.to, this.names.get(e.from)!);
    else if (e.kind === 'rename' && this.names.has(e.from)) {
      this.names.set(e.to, this.names.get(e.from)!);
      this.names.delete(e.from);
    }
  }
  ino(path: string): number | undefined {
    return this.names.get(path);
  }
}

/**
 * A copy of a tree whose times are the tree's to the microsecond: the states before and
 * after the move as the disk held them. (cpSync's preserveTimestamps sets them as Dates,
 * rounded to the millisecond and landing early half the time: with the model's own copy
 * back, two such losses.)
 */
function copyExactly(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
  const times = (src: string, dst: string) => {
    const st = lstatSync(src, { bigint: true });
    if (st.isDirectory()) for (const n of readdirSync(src)) times(join(src, n), join(dst, n));
    if (!st.isSymbolicLink()) utimesSync(dst, Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
  };
  times(from, to);
}

/** A time (seconds, for touch) a quarter into a millisecond that utimes sets just below itself. */
function earlyLandingTime(dir: string): string {
  const probe = join(dir, 'time-probe');
  writeFileSync(probe, '');
  try {
    for (let ms = Date.now() - 60_000; ; ms++) {
      utimesSync(probe, new Date(ms), new Date(ms));
      if (lstatSync(probe, { bigint: true }).mtimeNs < BigInt(ms) * 1_000_000n) return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}25`;
    }
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Every path below the roots, files numbered by their inode (hard links share one), directories 0. */
function scan(roots: string[]): { names: Map<string, number>; byIno: Map<bigint, number> } {
  const names = new Map<string, number>();
  const byIno = new Map<bigint, number>();
  const walk = (p: string) => {
    const st = lstatSync(p, { bigint: true });
    if (st.isDirectory()) {
      names.set(p, 0);
      for (const n of readdirSync(p)) walk(join(p, n));
    } else {
      if (!byIno.has(st.ino)) byIno.set(st.ino, byIno.size + 1);
      names.set(p, byIno.get(st.ino)!);
    }
  };
  for (const r of roots) walk(r);
  return { names, byIno };
}

it('a power cut at any point of a local move loses nothing: every state the disk may hold recovers to the file', { timeout: 600_000 }, async () => {
  const snapshots = join(process.env.TMPDIR ?? '/tmp', `tierfs-durable-${process.pid}`);
  rmSync(snapshots, { recursive: true, force: true });
  mkdirSync(snapshots);
  t = new TierfsMount();
  await t.start({ TIERFS_TEST_DURABLE_SNAPSHOTS: snapshots });
  const data = randomBytes(300_000);
  await fs.mkdir(join(t.mnt, 'deep/er'), { recursive: true });
  await fs.writeFile(join(t.mnt, 'deep/er/f'), data);
  // The model of a disk below sets times as Dates (Node rounds them to the millisecond)
  // through utimes, which carries them as floating-point seconds: about every other
  // millisecond lands just below itself. The file gets a time a quarter into such a
  // millisecond, so that every run sees what half of them would by chance: the old copy
  // must still be known.
  execFileSync('touch', ['-m', '-d', `@${earlyLandingTime(t.root)}`, join(t.mnt, 'deep/er/f')]);
  execFileSync('sync');

  // The state before the move, on disk: the volumes as they are, and the catalog.
  const base = join(t.root, 'base');
  const roots = [t.hot, t.warm];
  for (const r of roots) copyExactly(r, join(base, relative(t.root, r)));
  const baseCatalog = join(base, 'catalog.db');
  const live = new Database(join(t.dataDir, 'catalog.db'), { readonly: true });
  live.prepare('VACUUM INTO ?').run(baseCatalog);
  live.close();

  const out = join(t.root, 'strace.out');
  const tracer = spawn(
    'strace',
    ['-f', '-qq', '-y', '-o', out, '-e', 'trace=openat,openat2,mkdir,mkdirat,link,linkat,unlink,unlinkat,rename,renameat,renameat2,fsync,fdatasync', '-p', String(t.pid)],
    { stdio: 'ignore' },
  );
  try {
    await new Promise((r) => setTimeout(r, 1500)); // attached
    const r = await t.cli(['move', '--json', join(t.mnt, 'deep/er/f'), '--to', 'warm']);
    expect(JSON.parse(r.stdout)[0].state, r.stderr).toBe('done');
  } finally {
    const gone = new Promise((r) => tracer.on('exit', r));
    tracer.kill('SIGINT');
    await gone;
  }
  // What the move left: the bytes of files made during it come from here.
  const final = join(t.root, 'final');
  for (const r of roots) copyExactly(r, join(final, relative(t.root, r)));
  await t.kill9();

  const inVolumes = (p: string) => roots.some((r) => p === r || p.startsWith(`${r}/`));
  // Every fsync is a barrier (one journal), whatever it syncs; metadata counts on the volumes.
  const events = parseTrace(readFileSync(out, 'utf8')).filter((e) => {
    if (e.kind === 'fsync' || e.kind === 'catalog') return true;
    return 'from' in e ? inVolumes(e.from) || inVolumes(e.to) : inVolumes(e.path);
  });
  // The trace must show the move (or the model would test nothing).
  expect(events.filter((e) => e.kind === 'link').length, JSON.stringify(events)).toBeGreaterThan(0);
  expect(events.some((e) => e.kind === 'unlink' && e.path === join(t!.hot, 'deep/er/f'))).toBe(true);
  expect(events.filter((e) => e.kind === 'catalog').length).toBeGreaterThanOrEqual(2);

  const baseline = scan(roots.map((r) => join(base, relative(t!.root, r))));
  const toLive = (p: string) => join(t!.root, relative(base, p));
  const baseNames = new Map([...baseline.names].map(([p, ino]) => [toLive(p), ino]));
  const baseFileOf = new Map([...baseline.names].filter(([, ino]) => ino > 0).map(([p, ino]) => [ino, p]));
  // The inodes made during the move, and one of their names at the end (for their bytes).
  const end = new Model(baseNames);
  for (const e of events) end.apply(e);

  // Every state a power cut may leave, once each.
  const states = new Map<string, { catalog: string; metadata: number; durable: Set<number>; at: number }>();
  let catalog = baseCatalog;
  let barrier = -1;
  const durable = new Set<number>();
  const prefixModels: Model[] = []; // after metadata call k of the trace
  const metadataIdx: number[] = [];
  events.forEach((e, i) => {
    if (METADATA.has(e.kind)) metadataIdx.push(i);
  });
  for (let k = 0; k <= metadataIdx.length; k++) {
    const m = new Model(baseNames);
    for (const i of metadataIdx.slice(0, k)) m.apply(events[i]!);
    prefixModels.push(m);
  }
  const metadataBefore = (i: number) => metadataIdx.filter((x) => x <= i).length;
  events.forEach((e, p) => {
    if (e.kind === 'catalog') catalog = e.snapshot;
    if (e.kind === 'fsync') {
      barrier = p;
      const ino = prefixModels[metadataBefore(p)]!.ino(e.path);
      if (ino) durable.add(ino);
    }
    for (let k = metadataBefore(barrier); k <= metadataBefore(p); k++) {
      const key = `${catalog}|${k}|${[...durable].sort().join(',')}`;
      if (!states.has(key)) states.set(key, { catalog, metadata: k, durable: new Set(durable), at: p });
    }
  });
  expect(states.size).toBeGreaterThan(3);

  const describeState = (s: { catalog: string; metadata: number; at: number }) =>
    `cut after trace event ${s.at} (${JSON.stringify(events[s.at])}), metadata calls on disk: ${s.metadata}, catalog: ${s.catalog.split('/').pop()}`;
  const failures: string[] = [];
  for (const s of states.values()) {
    // Write the state: the volumes from the model, the catalog from its snapshot.
    for (const r of roots) rmSync(r, { recursive: true, force: true });
    const m = prefixModels[s.metadata]!;
    const written = new Map<number, string>();
    const paths = [...m.names.keys()].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
    for (const p of paths) {
      const ino = m.names.get(p)!;
      if (ino > 0 && written.has(ino)) {
        linkSync(written.get(ino)!, p);
        continue;
      }
      // Where this entry's bytes and attributes are: the state before the move, or, for
      // what the move made, any of its names at the end.
      const fromBase = baseNames.get(p) === ino ? join(base, relative(t.root, p)) : ino > 0 ? baseFileOf.get(ino) : undefined;
      const endName = [...end.names].find(([q, i]) => i === ino && (ino > 0 || q === p) && existsSync(join(final, relative(t!.root, q))))?.[0];
      const source = fromBase ?? (endName ? join(final, relative(t.root, endName)) : undefined);
      if (ino === 0) mkdirSync(p, { recursive: true });
      else if (fromBase || (s.durable.has(ino) && source)) copyFileSync(source!, p);
      else writeFileSync(p, ''); // made after the last sync: its bytes never reached the disk
      if (source) {
        const st = lstatSync(source);
        chownSync(p, st.uid, st.gid);
        chmodSync(p, st.mode & 0o7777);
        if (ino > 0) utimesSync(p, st.atime, st.mtime);
      }
      if (ino > 0) written.set(ino, p);
    }
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(t.dataDir, `catalog.db${suffix}`), { force: true });
    copyFileSync(s.catalog, join(t.dataDir, 'catalog.db'));

    await t.start();
    let bytes: Buffer | string;
    try {
      bytes = await fs.readFile(join(t.mnt, 'deep/er/f'));
    } catch (err) {
      bytes = (err as Error).message;
    }
    await t.stop();
    const problems = auditTiers({ catalog: join(t.dataDir, 'catalog.db'), locals: [{ name: 'hot', volumes: [t.hot] }, { name: 'warm', volumes: [t.warm] }], objects: [] });
    if (typeof bytes === 'string' || !bytes.equals(data)) failures.push(`${describeState(s)}: the file ${typeof bytes === 'string' ? bytes : `reads ${bytes.length} other bytes`}`);
    else if (problems.length > 0) failures.push(`${describeState(s)}: ${problems.join('; ')}`);
  }
  console.log(`power cut: ${states.size} distinct disk states from ${events.length} calls of the trace, each mounted and checked`);
  expect(failures).toEqual([]);
});
