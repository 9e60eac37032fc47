// npm run bench -- placement [--files N,N] [--read-seconds S] [--json]
//   (defaults: --files 100000,1000000, --read-seconds 8)
//
// One table, measured in the same run:
//   classify  a full classification pass and an incremental one (1% of the files
//             opened since) over synthetic catalogs of 100,000 and 1,000,000 files,
//             with six rules of every kind (targets: full < 10 s, incremental < 1 s)
//   reads     p50/p99 latency of 4 KiB random reads (fio, O_DIRECT, page cache off)
//             on a tierfs mount with the mover idle, then with the mover limited to
//             32 MiB/s (target: p99 +<20%) and pacing itself by the mount's latency
//             (mover.foregroundHeadroom: "moved" is the rate it kept); twice: with
//             passthrough off, so every read reaches the daemon (and the pace measures
//             them), and with passthrough, where the kernel passes O_DIRECT on to the
//             backing file: those reads reach the disk, share it with the mover, and are
//             not seen by the pace
//   lookups   p50/p99/p99.9 latency of lookups of missing names, which the daemon's
//             JavaScript answers (mount.nativeCreates off: with it on, the binding
//             answers them; a python loop, one every half millisecond), with the
//             mover idle and while it moves a 1 GiB file to an object tier on s3rver
//             (127.0.0.1; k=4 m=2, no bandwidth limit): what the event loop's share of a
//             move to cold — fetching, hashing and sending cells — costs the requests it
//             answers; and while a 2 GiB file is removed (rm; its blocks freed by the
//             kernel inside the unlink): the worst wait is in the max column
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Catalog, ROOT_INO, type AccessEvent } from '../../src/catalog/catalog.js';
import type { TierConfig } from '../../src/config/schema.js';
import { policySchema } from '../../src/config/policy.js';
import { Classifier } from '../../src/policy/classifier.js';
import { LocalTier } from '../../src/tiers/local/local-tier.js';
import { TierSet } from '../../src/tiers/tier-set.js';
import { TierfsMount } from '../../test/helpers/tierfs.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { fioRandRead, haveFio } from './lib/fio.js';
import { startS3Server } from '../../test/helpers/s3-server.js';
import { run } from '../../test/helpers/mount.js';
import { adminJson, socketPathOf } from '../../src/admin/client.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const json = args.includes('--json');
const SIZES = opt('--files', '100000,1000000').split(',').map(Number);
const READ_SECONDS = Number(opt('--read-seconds', '8'));

interface Row {
  case: string;
  files?: number;
  examined?: number;
  enqueued?: number;
  ms?: number;
  p50us?: number;
  p99us?: number;
  p999us?: number;
  maxUs?: number;
  movedMiBps?: number;
  target: string;
  ok: boolean;
}
const rows: Row[] = [];
const DAY = 86_400_000;

// Six rules, one of each kind the policy language has, as a site might write them.
const POLICY = policySchema.parse({
  halfLife: '7d',
  minResidency: '1d',
  rules: [
    { name: 'scratch', match: { path: ['**/*.tmp', 'build/**'] }, setClass: 'scratch' },
    { name: 'scratch-off-hot', match: { class: ['scratch'], idleAbove: '1h' }, target: 'warm' },
    { name: 'busy', match: { heatAbove: 4 }, target: 'hot' },
    { name: 'service', match: { owner: [0], sizeBelow: '1MiB' }, target: 'hot' },
    { name: 'big-old', match: { sizeAbove: '100MiB', ageAbove: '30d' }, target: 'cold' },
    { name: 'idle', match: { idleAbove: '7d' }, target: 'warm' },
  ],
});

function localTiers(root: string): { tiers: TierSet; configs: TierConfig[] } {
  const configs: TierConfig[] = ['hot', 'warm', 'cold'].map((name) => ({
    name,
    kind: 'local',
    volumes: [{ path: join(root, name) }],
    capacity: 2 ** 50,
    watermarks: { high: 0.9, low: 0.75 },
  }));
  const tiers = new TierSet(configs.map((c) => ({ kind: 'local' as const, name: c.name, local: new LocalTier(c as Extract<TierConfig, { kind: 'local' }>) })));
  return { tiers, configs };
}

/** n files in 1,000 directories, spread over the tiers, a third of them opened at some time in the last 60 days. */
function buildCatalog(catalog: Catalog, n: number, nowMs: number): number[] {
  const inos: number[] = [];
  const dirs = Math.min(1000, Math.ceil(n / 100));
  const tierNames = ['hot', 'warm', 'cold'];
  catalog.tx(() => {
    const dirInos: number[] = [];
    for (let d = 0; d < dirs; d++) {
      const name = d % 10 === 0 ? 'build' : `d${d}`;
      const parent = d % 10 === 0 && d > 0 ? dirInos[d - 10]! : ROOT_INO;
      dirInos.push(
        catalog.createInode({ mode: 0o40755, uid: 1000, gid: 1000, nlink: 2, rdev: 0, size: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, tier: null, volume: null, dataPath: null, target: null }, parent, name),
      );
    }
    for (let i = 0; i < n; i++) {
      const d = i % dirs;
      const name = i % 17 === 0 ? `f${i}.tmp` : `f${i}.dat`;
      const mtimeNs = BigInt(nowMs - (i % 90) * DAY) * 1_000_000n;
      const tier = tierNames[i % 3]!;
      inos.push(
        catalog.createInode(
          {
            mode: 0o100644,
            uid: i % 50 === 0 ? 0 : 1000,
            gid: 1000,
            nlink: 1,
            rdev: 0,
            size: i % 1000 === 0 ? 200 * 2 ** 20 : 4096 + (i % 4096) * 1024,
            atimeNs: mtimeNs,
            mtimeNs,
            ctimeNs: mtimeNs,
            tier,
            volume: join('/bench', tier),
            dataPath: `d${d}/${name}`,
            target: null,
          },
          dirInos[d],
          name,
        ),
      );
    }
  });
  const events: AccessEvent[] = [];
  for (let i = 0; i < n; i += 3) {
    for (let k = 0; k < 1 + (i % 7); k++) events.push({ timeMs: nowMs - ((i * 7919) % (60 * DAY)), ino: inos[i]!, path: '', op: 'open', offset: 0, length: 0, size: 0, count: 1 });
  }
  for (let i = 0; i < events.length; i += 100_000) catalog.recordAccessBatch(events.slice(i, i + 100_000), 0, POLICY.halfLife);
  return inos;
}

function classificationRows(n: number): void {
  const dir = tempDir('tierfs-bench-placement-');
  const catalog = new Catalog(join(dir.path, 'catalog.db'));
  try {
    const { tiers, configs } = localTiers(dir.path);
    // A month from now: every file is past its minimum residency, so moves are queued too.
    const nowMs = Date.now() + 30 * DAY;
    const t0 = performance.now();
    const inos = buildCatalog(catalog, n, Date.now());
    process.stderr.write(`built a catalog of ${n} files in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const classifier = new Classifier({ catalog, tiers, tierConfigs: configs, policy: POLICY, openHold: () => null });
    // The first pass writes every decision and queues every move; later ones write what changed.
    const first = classifier.pass(true, nowMs);
    rows.push({ case: 'full pass, first', files: n, examined: first.examined, enqueued: first.enqueued, ms: first.ms, target: '', ok: true });
    const full = classifier.pass(true, nowMs + 1000);
    rows.push({ case: 'full pass, settled', files: n, examined: full.examined, enqueued: full.enqueued, ms: full.ms, target: n >= 1e6 ? '< 10 s' : '', ok: n < 1e6 || full.ms < 10_000 });
    // 1% of the files opened a minute later (the recorder's batches mark them dirty).
    const events: AccessEvent[] = [];
    for (let i = 0; i < n; i += 100) events.push({ timeMs: nowMs + 30_000, ino: inos[i]!, path: '', op: 'open', offset: 0, length: 0, size: 0, count: 1 });
    catalog.recordAccessBatch(events, 0, POLICY.halfLife);
    const inc = classifier.pass(false, nowMs + 60_000);
    rows.push({ case: 'incremental, 1% changed', files: n, examined: inc.examined, enqueued: inc.enqueued, ms: inc.ms, target: n >= 1e6 ? '< 1 s' : '', ok: n < 1e6 || inc.ms < 1000 });
  } finally {
    catalog.close();
    dir.remove();
  }
}

async function readLatencyRows(how: 'daemon' | 'passthrough'): Promise<void> {
  const bandwidthMiB = 32;
  const t = new TierfsMount({
    hotCapacity: '4GiB',
    passthrough: how === 'daemon' ? 'off' : undefined,
    // pageCache none: reads go to the daemon every time; no rules: only the bulk move runs.
    extraYaml: `mover:\n  bandwidth: ${bandwidthMiB}MiB\n  concurrency: 2\n`,
  });
  // The harness writes the mount options; this run also turns the page cache off.
  writeFileSync(t.configFile, readFileSync(t.configFile, 'utf8').replace('mount:\n', 'mount:\n  pageCache: none\n'));
  await t.start();
  try {
    // The daemon is a child process: writing its mount from here cannot deadlock.
    const target = join(t.mnt, 'reads.bin');
    writeFileSync(target, randomBytes(64 << 20));
    mkdirSync(join(t.mnt, 'bulk'));
    const bulkFiles = 16;
    const block = randomBytes(16 << 20);
    for (let i = 0; i < bulkFiles; i++) writeFileSync(join(t.mnt, 'bulk', `b${i}`), block);
    execFileSync('sync');

    const idle = fioRandRead(target, READ_SECONDS);
    rows.push({ case: `reads (${how}), mover idle`, p50us: idle.p50us, p99us: idle.p99us, target: '', ok: true });

    const started = await t.cli(['move', '--no-wait', join(t.mnt, 'bulk'), '--to', 'warm']);
    if (started.code !== 0) throw new Error(`tierfs move failed: ${started.stderr}`);
    // Bytes moved so far: committed moves (done, or their old copy still to delete), and
    // the part of running ones already copied.
    // Asked of the admin socket directly: a CLI's start-up would widen the window.
    const movedSoFar = async () => {
      const m = await adminJson<{ active: { bytes: number }[]; recent: { state: string; bytes: number }[] }>(socketPathOf(t.dataDir), 'GET', '/v1/moves?limit=100');
      return { at: performance.now(), bytes: m.recent.filter((x) => x.state === 'done' || x.state === 'committed').reduce((a, x) => a + x.bytes, 0) + m.active.reduce((a, x) => a + x.bytes, 0), running: m.active.length > 0 };
    };
    const before = await movedSoFar();
    const busy = fioRandRead(target, READ_SECONDS);
    const after = await movedSoFar();
    const moving = after.running || after.bytes < bulkFiles * (16 << 20);
    rows.push({
      case: `reads (${how}), mover ≤ ${bandwidthMiB} MiB/s`,
      p50us: busy.p50us,
      p99us: busy.p99us,
      movedMiBps: (after.bytes - before.bytes) / (1 << 20) / ((after.at - before.at) / 1000),
      target: 'p99 < +20%',
      ok: busy.p99us < idle.p99us * 1.2 && moving,
    });
  } finally {
    await t.dispose();
  }
}

// One missing name after another, timed; prints p50, p99 and p99.9 in µs as JSON.
const LOOKUPS_PY = `
import os, sys, time, json
d, tag, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
lat = []
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    p = os.path.join(d, '.missing-%s-%d' % (tag, len(lat)))
    t = time.perf_counter()
    try:
        os.stat(p)
    except FileNotFoundError:
        pass
    lat.append((time.perf_counter() - t) * 1e6)
    time.sleep(0.0005)
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
print(json.dumps({"p50": q(0.5), "p99": q(0.99), "p999": q(0.999), "max": lat[-1]}))
`;

async function lookupRows(): Promise<void> {
  const s3 = await startS3Server();
  const c = s3.clientOptions;
  const t = new TierfsMount({
    passthrough: 'off',
    nativeCreates: false,
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 4, m: 2 }
    backends:
      - { type: s3, bucket: ${s3.bucket}, endpoint: "${c.endpoint}", region: ${c.region}, forcePathStyle: true, checksums: when_required, accessKeyId: ${c.credentials.accessKeyId}, secretAccessKey: ${c.credentials.secretAccessKey} }
`,
  });
  try {
    await t.start();
    const big = join(t.mnt, 'to-cold.bin');
    const dd = await run('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=1024', 'status=none']);
    if (dd.code !== 0) throw new Error(`writing the file to move failed: ${dd.stderr}`);
    execFileSync('sync');
    let round = 0;
    const lookups = async (seconds = READ_SECONDS) => {
      const r = await run('python3', ['-c', LOOKUPS_PY, t.mnt, String(round++), String(seconds)]);
      if (r.code !== 0) throw new Error(`the lookup loop failed: ${r.stderr}`);
      const l = JSON.parse(r.stdout) as { p50: number; p99: number; p999: number; max: number };
      return { p50us: l.p50, p99us: l.p99, p999us: l.p999, maxUs: l.max };
    };
    const idle = await lookups();
    rows.push({ case: 'lookups (daemon), mover idle', ...idle, target: '', ok: true });
    const startedAt = performance.now();
    const move = t.cli(['move', big, '--to', 'cold']);
    const busy = await lookups();
    const seconds = (performance.now() - startedAt) / 1000;
    const moved = await move;
    if (moved.code !== 0) throw new Error(`tierfs move to cold failed: ${moved.stderr}${moved.stdout}`);
    // Still moving when the loop ended: its whole window saw the move.
    const lasted = (performance.now() - startedAt) / 1000;
    rows.push({
      case: 'lookups (daemon), moving to S3',
      ...busy,
      movedMiBps: 1024 / lasted,
      target: 'p99 < +20%',
      ok: busy.p99us < idle.p99us * 1.2 && lasted > seconds,
    });
    // A large file removed: the kernel frees its blocks inside the unlink of its last name.
    const removed = join(t.mnt, 'removed.bin');
    const written = await run('dd', ['if=/dev/zero', `of=${removed}`, 'bs=1M', 'count=2048', 'status=none']);
    if (written.code !== 0) throw new Error(`writing the file to remove failed: ${written.stderr}`);
    const during = lookups(2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rm = await run('rm', [removed]);
    if (rm.code !== 0) throw new Error(`rm failed: ${rm.stderr}`);
    rows.push({ case: 'lookups (daemon), rm of a 2 GiB file', ...(await during), target: '', ok: true });
  } finally {
    await t.dispose();
    await s3.stop();
  }
}

for (const n of SIZES) classificationRows(n);
// The read rows need fio; without it they are skipped with a line, not a stack trace.
if (haveFio()) {
  await readLatencyRows('daemon');
  await readLatencyRows('passthrough');
} else process.stderr.write('fio is not installed (apt-get install -y fio): the read-latency rows are skipped\n');
await lookupRows();

if (json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
else {
  const cells = rows.map((r) => [
    r.case,
    r.files?.toLocaleString('en-US') ?? '',
    r.examined?.toLocaleString('en-US') ?? '',
    r.enqueued?.toLocaleString('en-US') ?? '',
    r.ms !== undefined ? r.ms.toFixed(0) : '',
    r.p50us !== undefined ? r.p50us.toFixed(0) : '',
    r.p99us !== undefined ? r.p99us.toFixed(0) : '',
    r.p999us !== undefined ? r.p999us.toFixed(0) : '',
    r.maxUs !== undefined ? r.maxUs.toFixed(0) : '',
    r.movedMiBps !== undefined ? r.movedMiBps.toFixed(1) : '',
    r.target,
    r.target ? (r.ok ? 'yes' : 'NO') : '',
  ]);
  const head = ['case', 'files', 'examined', 'queued', 'ms', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'moved MiB/s', 'target', 'met'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${line(head)}\n${cells.map(line).join('\n')}\n`);
}
