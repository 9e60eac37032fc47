// The differential test with a second actor: while a seeded stream of random operations
// runs on a plain directory and on the mount (create, writes at random offsets — sparse
// ones beyond 4 GiB too —, truncate, append, rename of files and of their directories,
// hard links, unlink, delete-and-recreate, save-by-rename, chmod, xattrs, reads), a mover
// keeps moving random files between every pair of tier kinds: local ↔ local (one tier has
// two volumes), local ↔ object, object ↔ object with another k+m. Moves go through the
// admin API that `tierfs move` uses (now and then through the CLI itself), and the
// daemon pauses each move at random steps (TIERFS_TEST_PAUSE_RANDOM, src/daemon.ts) so
// that operations land between every step of the protocol.
//
// Moves must be invisible: every operation fails or succeeds the same way on both trees,
// and at each checkpoint (mover paused, queue drained) the trees are equal — bytes, modes,
// sizes, link counts, hard-link groups, xattrs — and the catalog is consistent with the
// tiers (test/helpers/tier-audit.ts: no orphan objects, no missing or duplicate backing
// files). At the end the daemon is restarted: its recovery and reconciliation must find
// no conflict (`tierfs status --json`), the same tree, and every mtime unchanged.
//
// Every run prints its seed. Replay a failure with one command (the operations and move
// requests are the same; their timing against each other is as close as a machine allows,
// so a race may need a few runs):
//   TIERFS_DIFF_SEED=123 npx vitest run test/mount/differential-moves.test.ts
// Knobs: TIERFS_DIFF_OPS (default 5000), TIERFS_DIFF_CHECK_EVERY (ops between checkpoints,
// default 1000), TIERFS_DIFF_REMOUNT_EVERY (ops between restarts, default: only at the end),
// TIERFS_DIFF_MOVERS (moves in flight, default 2). The files that grow sparse to 5 GiB have
// names of their own (test/helpers/differential.ts) that the mover leaves alone: a move
// copies holes too, gigabytes each; TIERFS_DIFF_MOVE_SPARSE=1 moves them as well (with
// TIERFS_DIFF_MOVE_MAX, the largest file the mover takes, default 1 MiB, raised).
// Long runs before a release (scripts/soak.ts):
//   npm run soak -- --ops 1000000
//   npm run soak -- --ops 20000 --runs 100
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { MOVABLE_FILES, SPARSE_FILES, nextOp, outcome, rng, snapshot, stopXattrHelper, HEAD } from '../helpers/differential.js';
import { auditTiers, type AuditedTiers } from '../helpers/tier-audit.js';
import { adminJson, socketPathOf } from '../../src/admin/client.js';

const SEED = Number(process.env.TIERFS_DIFF_SEED ?? Date.now() % 1_000_000);
const OPS = Number(process.env.TIERFS_DIFF_OPS ?? 5000);
const CHECK_EVERY = Number(process.env.TIERFS_DIFF_CHECK_EVERY ?? 1000);
const REMOUNT_EVERY = Number(process.env.TIERFS_DIFF_REMOUNT_EVERY ?? 0);
const MOVE_MAX = Number(process.env.TIERFS_DIFF_MOVE_MAX ?? HEAD);
/** Sparse files grow to 5 GiB, which a move copies densely: only long runs that ask for it move them. */
const MOVE_POOL = process.env.TIERFS_DIFF_MOVE_SPARSE === '1' ? [...MOVABLE_FILES, ...SPARSE_FILES] : MOVABLE_FILES;
/** moves in flight at once (the daemon runs up to as many) */
const MOVERS = Number(process.env.TIERFS_DIFF_MOVERS ?? 2);
/** one move in this many goes through the CLI rather than straight to the admin API */
const CLI_EVERY = 200;

/** The command that runs this seed again, with whatever other knobs this run was given. */
const REPLAY = `${Object.entries({ ...process.env, TIERFS_DIFF_SEED: String(SEED), TIERFS_DIFF_OPS: String(OPS) })
  .filter(([k]) => k.startsWith('TIERFS_DIFF_'))
  .map(([k, v]) => `${k}=${v}`)
  .sort()
  .join(' ')} npx vitest run test/mount/differential-moves.test.ts`;
const TIERS = ['hot', 'warm', 'wide', 'cold', 'frozen'];
const kindOf = (tier: string) => (tier === 'cold' || tier === 'frozen' ? 'object' : 'local');

let t: TierfsMount;
let plain: ReturnType<typeof tempDir>;
let stores: ReturnType<typeof tempDir>;
let audited: AuditedTiers;

beforeAll(async () => {
  plain = tempDir('tierfs-diff-plain-');
  stores = tempDir('tierfs-diff-stores-');
  const backends = (names: string[]) => names.map((n) => `      - { name: ${n}, type: fs, root: ${stores.path}/${n}, fsync: false }\n`).join('');
  t = new TierfsMount({
    moreTiers: `  - name: wide
    kind: local
    volumes: [./data/wide1, ./data/wide2]
  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: 16KiB
    smallFileThreshold: 2KiB
    backends:
${backends(['a', 'b', 'c'])}  - name: frozen
    kind: object
    scheme: { k: 3, m: 2 }
    chunkSize: 8KiB
    smallFileThreshold: 1KiB
    backends:
${backends(['d', 'e', 'f', 'g', 'h'])}`,
    // A move asked for while the file is open for writing (with passthrough: open at all)
    // waits retryDelay (a minute by default).
    extraYaml: `cache: { memory: 0, disk: 0 }\nmover: { concurrency: ${Math.max(1, MOVERS)}, retryDelay: 100ms }\n`,
  });
  audited = {
    catalog: join(t.dataDir, 'catalog.db'),
    locals: [
      { name: 'hot', volumes: [t.hot] },
      { name: 'warm', volumes: [t.warm] },
      { name: 'wide', volumes: [join(t.dataDir, 'wide1'), join(t.dataDir, 'wide2')] },
    ],
    objects: [
      { name: 'cold', roots: ['a', 'b', 'c'].map((n) => join(stores.path, n)) },
      { name: 'frozen', roots: ['d', 'e', 'f', 'g', 'h'].map((n) => join(stores.path, n)) },
    ],
  };
  await t.start({ TIERFS_TEST_PAUSE_RANDOM: `${SEED},20` });
  console.log(`differential test with moves: seed ${SEED}, ${OPS} operations; replay: ${REPLAY}`);
});

afterAll(async () => {
  stopXattrHelper();
  await t?.dispose();
  plain?.remove();
  stores?.remove();
});

/** What happened recently, operations and moves interleaved, for a failure's message. */
const recent: string[] = [];
/** Everything since the last checkpoint, for the evidence a failure leaves (keepEvidence). */
const sinceCheckpoint: string[] = [];
const note = (line: string) => {
  recent.push(line);
  sinceCheckpoint.push(line);
  if (recent.length > 80) recent.shift();
};

/**
 * A failed checkpoint leaves what it takes to find the cause in .tmp/differential-SEED/:
 * every operation and move since the last checkpoint, the daemon's log, the catalog, and
 * both copies of each file whose bytes differ.
 */
async function keepEvidence(got: string[], want: string[]): Promise<string> {
  const dir = join(process.cwd(), '.tmp', `differential-${SEED}`);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(join(dir, 'history.txt'), sinceCheckpoint.join('\n') + '\n');
  await fs.writeFile(join(dir, 'daemon.log'), t.output);
  await fs.copyFile(audited.catalog, join(dir, 'catalog.db')).catch(() => undefined);
  const wanted = new Set(want);
  for (const line of got.filter((l) => l.startsWith('f ') && !wanted.has(l))) {
    const [, path, , , size] = line.split(' ');
    if (Number(size!.slice('size='.length)) > 1 << 20) continue;
    const name = path!.replaceAll('/', '_');
    await copyOut(join(t.mnt, path!), join(dir, `${name}.mount`)).catch(() => undefined);
    await copyOut(join(plain.path, path!), join(dir, `${name}.plain`)).catch(() => undefined);
  }
  return dir;
}

/**
 * What a read returns, up to where it first comes back empty. Not copyFile: the kernel's
 * copy loops for ever on a file whose reads end before its size, which a damaged file on
 * the mount may well be.
 */
async function copyOut(from: string, to: string): Promise<void> {
  const fh = await fs.open(from, 'r');
  try {
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(65536), 0, 65536, at);
      if (bytesRead === 0) break;
      parts.push(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    await fs.writeFile(to, Buffer.concat(parts));
  } finally {
    await fh.close();
  }
}

/**
 * Why a move may rightly not happen here: the file changed, was deleted, was open for
 * writing, shrank while it was read, or its name went (or became a directory) between the
 * mover's look and the request. Anything else (a SHA-256 mismatch, a name taken on the
 * target, EIO, a source that cannot be opened) is a finding: a move opens its source in
 * the same synchronous stretch as it looks up the file's names (seed 1129651 found what
 * followed when it did not: a name renamed over by another file meanwhile, and the move
 * copied that file's bytes as this one's).
 */
const BENIGN = new RegExp(
  [
    'file changed during the move',
    'file was deleted during the move',
    'file is open for writing',
    // passthrough: a local file open at all waits for its last close (Vfs.openHold)
    'file is open \\(read by the kernel directly',
    'source ended early',
    'did it change during the copy',
    '^no inode \\d+$',
    'no such file in the mount',
    'only files move between tiers',
  ].join('|'),
);

interface MoveResult {
  path: string;
  state: string;
  reason?: string;
  error?: string;
}

/**
 * The second actor: a few workers, each moving a random file to a random tier and
 * waiting for the result, until stopped. pause() waits for the moves in flight to end.
 */
class Mover {
  private stopped = false;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  readonly outcomes = new Map<string, number>();
  /** results no race explains (see BENIGN) */
  readonly unexpected: string[] = [];
  private workers: Promise<void>[] = [];
  private count = 0;

  constructor(private readonly rand: () => number) {}

  start(): void {
    this.workers = Array.from({ length: MOVERS }, () => this.work());
  }

  async pause(): Promise<void> {
    this.gate ??= new Promise((r) => (this.open = r));
    await Promise.all([...this.inFlight]);
  }

  resume(): void {
    this.open?.();
    this.gate = this.open = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      if (this.gate) {
        await this.gate;
        continue;
      }
      const path = MOVE_POOL[Math.floor(this.rand() * MOVE_POOL.length)]!;
      const to = TIERS[Math.floor(this.rand() * TIERS.length)]!;
      const viaCli = ++this.count % CLI_EVERY === 0;
      const one = this.moveOne(path, to, viaCli);
      this.inFlight.add(one);
      await one;
      this.inFlight.delete(one);
    }
  }

  private async moveOne(path: string, to: string, viaCli: boolean): Promise<void> {
    // Files only, and not the huge sparse ones (a move copies every byte of them).
    const st = await fs.lstat(join(t.mnt, path)).catch(() => undefined);
    if (!st?.isFile() || st.size > MOVE_MAX) {
      await new Promise((r) => setTimeout(r, 2));
      return;
    }
    let results: MoveResult[];
    try {
      if (viaCli) {
        const r = await t.cli(['move', '--json', join(t.mnt, path), '--to', to]);
        results = r.stdout.trim().startsWith('[') ? JSON.parse(r.stdout) : [{ path, state: 'error', error: r.stderr.trim() }];
      } else {
        results = (await adminJson<{ results: MoveResult[] }>(socketPathOf(t.dataDir), 'POST', '/v1/move', { paths: [path], to, wait: true })).results;
      }
    } catch (err) {
      results = [{ path, state: 'error', error: (err as Error).message }];
    }
    for (const r of results) {
      const why = r.reason ?? r.error ?? '';
      note(`  move ${r.path} → ${to}${viaCli ? ' (cli)' : ''}: ${r.state}${why ? ` (${why})` : ''}`);
      // Group the outcomes by kind for the summary: without paths, tiers and numbers.
      const kind = `${r.state}${why ? `: ${why.replace(/\S*\/\S*|"[^"]*"/g, '…').replace(/\b(hot|warm|wide|cold|frozen)\b/g, 'T').replace(/\d+/g, 'N')}` : ''}`;
      this.outcomes.set(kind, (this.outcomes.get(kind) ?? 0) + 1);
      if (r.state !== 'done' && r.state !== 'committed' && !BENIGN.test(why)) {
        this.unexpected.push(`${r.path} → ${to}: ${r.state} (${why})\n    what came before:\n    ${recent.slice(-40).join('\n    ')}`);
      }
    }
  }
}

/** Moves done, by tiers (from the journal in the catalog: a long run has too many to list through the API). */
function movesDone(): Map<string, number> {
  const db = new Database(audited.catalog, { readonly: true });
  try {
    const rows = db.prepare("SELECT from_tier AS f, to_tier AS t, count(*) AS n FROM moves WHERE state = 'done' GROUP BY 1, 2 ORDER BY 1, 2").all() as { f: string; t: string; n: number }[];
    return new Map(rows.map((r) => [`${r.f} → ${r.t}`, r.n]));
  } finally {
    db.close();
  }
}

async function quiesce(): Promise<void> {
  // The moves the mover asked for are done; automatic ones, garbage collection and the
  // rewriting of cold files' manifests (every second) may still run.
  for (const end = Date.now() + 30_000; ; ) {
    const q = await adminJson<{ queueLength: number; active: unknown[] }>(socketPathOf(t.dataDir), 'GET', '/v1/moves?limit=1');
    const problems = auditTiers(audited).filter((p) => /^(garbage not collected|move not finished|manifest not rewritten yet)/.test(p));
    if (q.queueLength === 0 && q.active.length === 0 && problems.length === 0) return;
    if (Date.now() > end) throw new Error(`seed ${SEED}: the mount did not settle: queue ${q.queueLength}, ${problems.join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A step that takes this long is stuck: fail with what the daemon was doing rather than time out silently. */
const STUCK_MS = 60_000;
async function notStuck<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      // The admin socket needs no thread of libuv's pool, which hung calls into the mount may hold.
      const moves = await adminJson(socketPathOf(t.dataDir), 'GET', '/v1/moves?limit=20').catch((e: Error) => e.message);
      const waiting = await adminJson<{ waitingRequests: unknown }>(socketPathOf(t.dataDir), 'GET', '/v1/status').then((st) => st.waitingRequests, (e: Error) => e.message);
      reject(
        new Error(
          `seed ${SEED}: ${what} is stuck (${STUCK_MS / 1000} s); replay: ${REPLAY}\nFUSE requests waiting: ${JSON.stringify(waiting)}\nmoves: ${JSON.stringify(moves, null, 1)}\nrecent:\n${recent.join('\n')}\ndaemon log (end):\n${t.output.slice(-4000)}`,
        ),
      );
    }, STUCK_MS);
  });
  try {
    return await Promise.race([p, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkpoint(after: number, salt: string): Promise<void> {
  await notStuck(`settling at op ${after}`, quiesce());
  const context = () => `seed ${SEED}, checkpoint after op ${after}; replay: ${REPLAY}\nrecent:\n${recent.join('\n')}`;
  const want = await snapshot(plain.path, salt);
  const got = await notStuck(`reading the mount at op ${after}`, snapshot(t.mnt, salt)).catch((err: Error) => {
    throw new Error(`reading the mount failed: ${err.message} — ${context()}`);
  });
  const problems = auditTiers(audited);
  if (JSON.stringify(got) !== JSON.stringify(want) || problems.length) {
    const evidence = await notStuck('keeping the evidence', keepEvidence(got, want)).catch((err: Error) => `(not kept: ${err.message})`);
    expect(got, `the mount differs from the plain directory — ${context()}\nevidence: ${evidence}`).toEqual(want);
    expect(problems, `catalog and tiers disagree — ${context()}\nevidence: ${evidence}`).toEqual([]);
  }
  sinceCheckpoint.length = 0;
}

/** Every entry's mtime on the mount, to the nanosecond (these must survive a restart). */
async function mtimes(rel = '', out = new Map<string, bigint>()): Promise<Map<string, bigint>> {
  for (const name of await fs.readdir(join(t.mnt, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await fs.lstat(join(t.mnt, p), { bigint: true });
    out.set(p, st.mtimeNs);
    if (st.isDirectory()) await mtimes(p, out);
  }
  return out;
}

async function restartAndCheck(after: number): Promise<void> {
  const before = await notStuck(`reading mtimes before the restart at op ${after}`, mtimes());
  await t.stop();
  await t.start({ TIERFS_TEST_PAUSE_RANDOM: `${SEED + after},20` });
  const changed = [...(await notStuck(`reading mtimes after the restart at op ${after}`, mtimes()))].filter(([p, ns]) => before.get(p) !== ns).map(([p, ns]) => `${p}: ${before.get(p)} → ${ns}`);
  expect(changed, `seed ${SEED}: mtimes changed by a restart at op ${after}; replay: ${REPLAY}`).toEqual([]);
  // What `tierfs status --json` prints (the CLI itself once, at the end: it takes seconds to start).
  let conflicts: unknown[];
  if (after === OPS) {
    const status = await t.cli(['status', '--json', t.mnt]);
    expect(status.code, status.stderr).toBe(0);
    conflicts = JSON.parse(status.stdout).conflicts;
  } else {
    conflicts = (await adminJson<{ conflicts: unknown[] }>(socketPathOf(t.dataDir), 'GET', '/v1/status')).conflicts;
  }
  expect(conflicts, `seed ${SEED}: conflicts after a restart at op ${after}; replay: ${REPLAY}`).toEqual([]);
  await checkpoint(after, `restart-${after}`);
}

it(`moves during ${OPS} random operations change nothing a user sees, and leave the tiers consistent`, { timeout: 120_000 + OPS * 100 }, async () => {
  const rand = rng(SEED);
  const mover = new Mover(rng(SEED ^ 0x5eed));
  const started = Date.now();
  mover.start();
  try {
    for (let i = 0; i < OPS; i++) {
      const op = nextOp(rand);
      const want = await outcome(op, plain.path);
      const got = await notStuck(`op ${i} (${op.name})`, outcome(op, t.mnt));
      note(`${i}: ${op.name} → ${want}`);
      if (want !== got) {
        const evidence = await notStuck('keeping the evidence', keepEvidence([], [])).catch((err: Error) => `(not kept: ${err.message})`);
        throw new Error(`seed ${SEED}: op ${i} (${op.name}) gave ${got} on tierfs, ${want} on a plain directory; replay: ${REPLAY}\nevidence: ${evidence}\n${recent.join('\n')}`);
      }
      const last = i === OPS - 1;
      const remount = REMOUNT_EVERY > 0 && (i + 1) % REMOUNT_EVERY === 0 && !last;
      if (last || remount || (i + 1) % CHECK_EVERY === 0) {
        await notStuck('pausing the mover', mover.pause());
        await checkpoint(i, `${SEED}-${i}`);
        if (remount) await restartAndCheck(i);
        mover.resume();
      }
      if (i % 10_000 === 9_999) console.log(`seed ${SEED}: ${i + 1} operations, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  } catch (err) {
    // The mover's moves may be what is stuck: its stop must not hide this error behind a timeout.
    await notStuck('stopping the mover', mover.stop()).catch(() => undefined);
    throw err;
  }
  await notStuck('stopping the mover', mover.stop());
  await restartAndCheck(OPS);

  const pairs = movesDone();
  const outcomes = [...mover.outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}× ${k}`);
  console.log(
    `seed ${SEED}: ${OPS} operations in ${((Date.now() - started) / 1000).toFixed(0)} s; moves done: ${[...pairs].map(([k, n]) => `${k} ${n}`).join(', ')}\n` +
      `move outcomes:\n  ${outcomes.join('\n  ')}`,
  );
  // A move may give up on a file that changed or went away meanwhile, never for another reason.
  expect(mover.unexpected, `seed ${SEED}: moves that failed for a reason a race does not explain; replay: ${REPLAY}`).toEqual([]);
  // The test means something only if moves of every kind ran while the operations did
  // (object → object is cold ↔ frozen: another k+m).
  const kinds = new Set([...pairs.keys()].map((k) => k.split(' → ').map(kindOf).join(' → ')));
  expect([...kinds].sort()).toEqual(['local → local', 'local → object', 'object → local', 'object → object']);
});
