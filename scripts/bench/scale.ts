// npm run bench -- scale [--files N] [--dirs N] [--sample N] [--writers N] [--json]
//   (defaults: --files 1000000, --dirs 1000, --sample 10000, --writers 8)
//
// tierfs holding many files, beside the plain directory, in the same run:
//   create    --files small files (1-100 bytes) in a tree of --dirs directories, by
//             --writers writers at once: through a tierfs mount (attribute and entry
//             caches at their default, 1 s), and in a plain directory
//   find      `find DIR | wc -l` over the tree, dentry and inode caches dropped first
//   du        `du -s DIR`, the same: a walk that stats every entry it lists
//   ls -lR    `ls -lR DIR > /dev/null`, the same: stats every entry and asks for its
//             ACL and security label (two getxattr each)
//   stat      --sample random files stat-ed, then a tenth of them read, caches dropped
//   mount     the time from starting the daemon again to the mount answering, with the
//             tree in its catalog (catalog open, recovery, reconciliation with the tiers):
//             cold (caches dropped first, as after a reboot), then warm (at once again)
//   daemon    its RSS after the tree was listed; the catalog's size on disk
//   classify  a full classification pass and an incremental one (1% of the files opened
//             since) over the mount's own catalog, after the unmount, by the default policy
// Targets: find ≤ 2× the plain directory, mount ≤ 10 s, RSS ≤ 1 GiB, full pass < 5 s,
// incremental < 1 s.
process.env.UV_THREADPOOL_SIZE ??= '16'; // before the first asynchronous file call of this process
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, type AccessEvent } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config/load.js';
import type { TierConfig } from '../../src/config/schema.js';
import { Classifier } from '../../src/policy/classifier.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { TierSet } from '../../src/tiers/tier-set.js';
import { TierfsMount } from '../../test/helpers/tierfs.js';
import { tempDir } from '../../test/helpers/tmp.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const json = args.includes('--json');
const FILES = opt('--files', 1_000_000);
const DIRS = Math.min(opt('--dirs', 1000), FILES);
const SAMPLE = Math.min(opt('--sample', 10_000), FILES);
const WRITERS = opt('--writers', 8);

interface Row {
  what: string;
  tierfs: number;
  plain?: number;
  unit: string;
  target?: string;
  ok?: boolean;
}
const rows: Row[] = [];
const note = (line: string) => process.stderr.write(`${line}\n`);

const pathOf = (i: number) => `d${i % DIRS}/f${i}`;
/** A random-looking but reproducible sample of file indices. */
const sample = (n: number) => Array.from({ length: n }, (_, k) => (k * 7_919 + 13) % FILES);

function dropCaches(): void {
  try {
    execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
  } catch {
    note('warning: cannot drop the caches (not root?): find and stat may be served from memory');
  }
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

async function create(root: string): Promise<number> {
  for (let d = 0; d < DIRS; d++) mkdirSync(join(root, `d${d}`));
  const t0 = process.hrtime.bigint();
  let next = 0;
  let lastNote = Date.now();
  const writer = async () => {
    for (let i = next++; i < FILES; i = next++) {
      await fsp.writeFile(join(root, pathOf(i)), 'x'.repeat(1 + (i % 100)));
      if (Date.now() - lastNote > 10_000) {
        lastNote = Date.now();
        note(`  ${next} of ${FILES} files in ${root} (${Math.round(next / seconds(t0))}/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return FILES / seconds(t0);
}

function findSeconds(root: string): number {
  dropCaches();
  const t0 = process.hrtime.bigint();
  const n = Number(execFileSync('sh', ['-c', `find '${root}' | wc -l`], { encoding: 'utf8' }).trim());
  const s = seconds(t0);
  if (n !== FILES + DIRS + 1) throw new Error(`find saw ${n} entries in ${root}, expected ${FILES + DIRS + 1}`);
  return s;
}

/** A walk of the tree by `command` (its output dropped), caches dropped first. */
function walkSeconds(command: string[], root: string): number {
  dropCaches();
  const t0 = process.hrtime.bigint();
  execFileSync(command[0]!, [...command.slice(1), root], { stdio: 'ignore' });
  return seconds(t0);
}

async function statAndRead(root: string): Promise<{ statOps: number; readOps: number }> {
  dropCaches();
  let t0 = process.hrtime.bigint();
  for (const i of sample(SAMPLE)) await fsp.stat(join(root, pathOf(i)));
  const statOps = SAMPLE / seconds(t0);
  dropCaches();
  const reads = sample(Math.max(1, Math.floor(SAMPLE / 10)));
  t0 = process.hrtime.bigint();
  for (const i of reads) {
    const b = await fsp.readFile(join(root, pathOf(i)));
    if (b.length !== 1 + (i % 100)) throw new Error(`${pathOf(i)} read ${b.length} bytes`);
  }
  return { statOps, readOps: reads.length / seconds(t0) };
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** The default policy's passes over the mount's catalog, as the daemon would run them. */
function classify(t: TierfsMount): { fullMs: number; incrementalMs: number } {
  const { config } = loadConfig(undefined, tmpdir());
  const configs: TierConfig[] = [
    { ...config.tiers[0]!, name: 'hot', kind: 'local', volumes: [{ path: t.hot }] } as TierConfig,
    { ...config.tiers[0]!, name: 'warm', kind: 'local', volumes: [{ path: t.warm }] } as TierConfig,
  ];
  const tiers = new TierSet(configs.map((c) => ({ kind: 'local' as const, name: c.name, local: new LocalTier(c as Extract<TierConfig, { kind: 'local' }>) })));
  const catalog = new Catalog(join(t.dataDir, 'catalog.db'));
  try {
    const classifier = new Classifier({ catalog, tiers, tierConfigs: configs, policy: config.policy, openHold: () => null });
    const now = Date.now();
    classifier.pass(true, now); // the first pass writes every decision
    const full = classifier.pass(true, now + 1000);
    const opened = catalog.db.prepare('SELECT ino FROM inodes WHERE (mode & 61440) = 32768 AND ino % 100 = 0').pluck().all() as number[];
    const events: AccessEvent[] = opened.map((ino) => ({ timeMs: now + 30_000, ino, path: '', op: 'open', offset: 0, length: 0, size: 0, count: 1 }));
    catalog.recordAccessBatch(events, 0, config.policy.halfLife);
    const inc = classifier.pass(false, now + 60_000);
    return { fullMs: full.ms, incrementalMs: inc.ms };
  } finally {
    catalog.close();
  }
}

const plain = tempDir('tierfs-bench-scale-plain-');
const t = new TierfsMount({ cacheTimeout: '1s' });
try {
  note(`creating ${FILES} files in ${DIRS} directories, ${WRITERS} writers at once`);
  const plainCreate = await create(plain.path);
  note(`  plain directory: ${Math.round(plainCreate)} files/s`);
  await t.start();
  const tierfsCreate = await create(t.mnt);
  rows.push({ what: 'create (files/s)', tierfs: tierfsCreate, plain: plainCreate, unit: 'files/s' });

  const [findTierfs, findPlain] = [findSeconds(t.mnt), findSeconds(plain.path)];
  rows.push({ what: 'find | wc -l (s)', tierfs: findTierfs, plain: findPlain, unit: 's', target: '≤ 2× plain', ok: findTierfs <= 2 * findPlain });
  for (const walk of [['du', '-s'], ['ls', '-lR']]) {
    rows.push({ what: `${walk.join(' ')} (s)`, tierfs: walkSeconds(walk, t.mnt), plain: walkSeconds(walk, plain.path), unit: 's' });
  }
  rows.push({ what: 'daemon RSS after walks (MiB)', tierfs: rssMiB(t.pid!), unit: 'MiB', target: '≤ 1024', ok: rssMiB(t.pid!) <= 1024 });
  const [sTierfs, sPlain] = [await statAndRead(t.mnt), await statAndRead(plain.path)];
  rows.push({ what: 'stat, random (ops/s)', tierfs: sTierfs.statOps, plain: sPlain.statOps, unit: 'ops/s' });
  rows.push({ what: 'read, random (files/s)', tierfs: sTierfs.readOps, plain: sPlain.readOps, unit: 'files/s' });

  for (const cold of [true, false]) {
    await t.stop();
    if (cold) dropCaches();
    const t0 = process.hrtime.bigint();
    await t.start();
    const mountS = seconds(t0);
    rows.push({ what: `mount with the tree, ${cold ? 'cold' : 'warm'} (s)`, tierfs: mountS, unit: 's', target: '≤ 10', ok: mountS <= 10 });
  }
  const catalogMiB = ['catalog.db', 'catalog.db-wal'].map((f) => join(t.dataDir, f)).filter(existsSync).reduce((n, f) => n + statSync(f).size, 0) / 2 ** 20;
  rows.push({ what: 'catalog on disk (MiB)', tierfs: catalogMiB, unit: 'MiB' });
  await t.stop();

  const c = classify(t);
  rows.push({ what: 'classify, full pass (ms)', tierfs: c.fullMs, unit: 'ms', target: '< 5000', ok: c.fullMs < 5000 });
  rows.push({ what: 'classify, 1% changed (ms)', tierfs: c.incrementalMs, unit: 'ms', target: '< 1000', ok: c.incrementalMs < 1000 });
} finally {
  await t.dispose();
  plain.remove();
}

if (json) process.stdout.write(`${JSON.stringify({ files: FILES, dirs: DIRS, sample: SAMPLE, writers: WRITERS, rows }, null, 2)}\n`);
else {
  const f = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(2));
  process.stdout.write(`${FILES.toLocaleString('en')} files in ${DIRS} directories\n`);
  process.stdout.write(`${'what'.padEnd(30)}${'tierfs'.padStart(12)}${'plain dir'.padStart(12)}${'ratio'.padStart(9)}  target\n`);
  for (const r of rows) {
    const ratio = r.plain ? `${(r.tierfs / r.plain).toFixed(2)}×` : '';
    const target = r.target ? `${r.target} ${r.ok ? 'met' : 'MISSED'}` : '';
    process.stdout.write(`${r.what.padEnd(30)}${f(r.tierfs).padStart(12)}${(r.plain === undefined ? '' : f(r.plain)).padStart(12)}${ratio.padStart(9)}  ${target}\n`);
  }
}
