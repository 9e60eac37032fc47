// The differential test with moves (test/mount/differential-moves.test.ts), long, before a
// release:
//   npm run soak -- --ops 1000000                 one long run, a random seed
//   npm run soak -- --ops 20000 --runs 100        100 consecutive seeds, stop at the first failure
// Options: --seed N (the first seed; the next runs take N+1, N+2, …), --check-every N
// (operations between checkpoints, default 10000), --remount-every N (operations between
// restarts of the daemon, default 100000), --movers N (moves in flight, default 3),
// --move-sparse (the mover also takes the sparse files that reach 5 GiB: each such move
// copies gigabytes). A failure prints the command that replays its seed.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '1' },
    seed: { type: 'string' },
    'check-every': { type: 'string', default: '10000' },
    'remount-every': { type: 'string', default: '100000' },
    movers: { type: 'string', default: '3' },
    'move-sparse': { type: 'boolean', default: false },
  },
});

const first = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
const runs = Number(values.runs);
for (let n = 0; n < runs; n++) {
  const seed = first + n;
  const env = {
    ...process.env,
    TIERFS_DIFF_SEED: String(seed),
    TIERFS_DIFF_OPS: values.ops,
    TIERFS_DIFF_CHECK_EVERY: values['check-every'],
    TIERFS_DIFF_REMOUNT_EVERY: values['remount-every'],
    TIERFS_DIFF_MOVERS: values.movers,
    ...(values['move-sparse'] ? { TIERFS_DIFF_MOVE_SPARSE: '1', TIERFS_DIFF_MOVE_MAX: String(8 * 2 ** 30) } : {}),
  };
  process.stdout.write(`soak ${n + 1}/${runs}: seed ${seed}, ${values.ops} operations\n`);
  const r = spawnSync('npx', ['vitest', 'run', 'test/mount/differential-moves.test.ts'], { env, stdio: 'inherit' });
  if (r.status !== 0) {
    const knobs = Object.entries(env)
      .filter(([k]) => k.startsWith('TIERFS_DIFF_'))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    process.stdout.write(`\nsoak failed at seed ${seed}; replay:\n  ${knobs} npx vitest run test/mount/differential-moves.test.ts\n`);
    process.exit(1);
  }
}
process.stdout.write(`soak passed: ${runs} run(s) of ${values.ops} operations from seed ${first}\n`);
