// npm run bench -- moves [--size-mib N] [--rounds N] [--json]
//   (defaults: --size-mib 512, --rounds 3)
//
// A move between two local tiers, beside the same bytes copied by the tools an operator
// would use, in the same run, page cache dropped before each:
//   tierfs move           `tierfs move FILE --to warm` (then back to hot, and so on) of a
//                         file of random bytes; MB/s of file bytes from the move's
//                         started/finished in `tierfs moves --json`. A move copies into a
//                         temporary file, hashes the source as it reads it, makes the copy
//                         durable (fsync), reads the copy back and compares the hashes.
//   cp + sync             `cp` of the same file and `sync` of the copy: the copy alone
//   cp + sync + sha256sum the same, then `sha256sum` of source and copy: the checks a move makes
// Both tiers are directories on the same file system (as the peers' copies are).
// Median of the rounds; the ratio is tierfs over each peer.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TierfsMount } from '../../test/helpers/tierfs.js';
import { run } from '../../test/helpers/mount.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const json = args.includes('--json');
const SIZE = Number(opt('--size-mib', '512')) * 2 ** 20;
const ROUNDS = Number(opt('--rounds', '3'));
const note = (s: string) => process.stderr.write(`${s}\n`);

function dropCaches(): void {
  try {
    execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
  } catch {
    note('warning: cannot drop the caches (not root?): reads may be served from memory');
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (ms: number) => SIZE / 1e6 / (ms / 1000);

const t = new TierfsMount({ recording: false });
const measured = { tierfs: [] as number[], cp: [] as number[], cpHash: [] as number[] };
try {
  await t.start();
  const src = join(t.root, 'source.bin');
  const fd = openSync(src, 'w');
  const piece = randomBytes(8 * 2 ** 20);
  for (let at = 0; at < SIZE; at += piece.length) writeSync(fd, piece, 0, Math.min(piece.length, SIZE - at));
  closeSync(fd);
  const file = join(t.mnt, 'data.bin');
  const cp = await run('cp', [src, file]);
  if (cp.code !== 0) throw new Error(`cp into the mount failed: ${cp.stderr}`);
  const copy = join(t.root, 'copy.bin');
  for (let round = 0; round < ROUNDS; round++) {
    const to = round % 2 === 0 ? 'warm' : 'hot';
    dropCaches();
    const started = Date.now();
    const mv = await t.cli(['move', file, '--to', to]);
    const wallMs = Date.now() - started;
    if (mv.code !== 0) throw new Error(`tierfs move failed: ${mv.stderr}${mv.stdout}`);
    const moves = JSON.parse((await t.cli(['moves', '--json', t.mnt])).stdout) as {
      recent: { path: string; toTier: string; state: string; startedMs: number; finishedMs: number | null }[];
    };
    const m = moves.recent.find((x) => x.path === 'data.bin' && x.toTier === to && x.state === 'done' && x.startedMs >= started - 1000);
    measured.tierfs.push(m?.finishedMs ? m.finishedMs - m.startedMs : wallMs);

    for (const [key, hash] of [['cp', false], ['cpHash', true]] as const) {
      dropCaches();
      const t0 = Date.now();
      execFileSync('cp', [src, copy]);
      execFileSync('sync', ['-f', copy]);
      if (hash) execFileSync('sha256sum', [src, copy], { stdio: 'ignore' });
      measured[key].push(Date.now() - t0);
      rmSync(copy);
    }
  }
} finally {
  await t.dispose();
}

const rows = [
  { target: 'tierfs move (local → local)', ms: median(measured.tierfs) },
  { target: 'cp + sync', ms: median(measured.cp) },
  { target: 'cp + sync + sha256sum both', ms: median(measured.cpHash) },
].map((r) => ({ ...r, mbps: mbps(r.ms) }));
if (json) {
  process.stdout.write(`${JSON.stringify({ sizeBytes: SIZE, rounds: ROUNDS, rows, perRoundMs: measured }, null, 2)}\n`);
} else {
  const tierfs = rows[0]!.mbps;
  console.log(`${SIZE / 2 ** 20} MiB of random bytes between two directories of one file system; page cache dropped before each; median of ${ROUNDS} rounds`);
  console.log(`${'target'.padEnd(30)}${'MB/s'.padStart(8)}${'tierfs/x'.padStart(10)}`);
  for (const r of rows) console.log(`${r.target.padEnd(30)}${r.mbps.toFixed(0).padStart(8)}${(r === rows[0] ? '' : `${(tierfs / r.mbps).toFixed(2)}×`).padStart(10)}`);
  console.log(`\n  tierfs move per round (ms): ${measured.tierfs.join(', ')}`);
}
