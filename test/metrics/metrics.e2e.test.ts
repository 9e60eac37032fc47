// /metrics of a real mount: what an operator's Prometheus sees after writes, reads, a
// move to an object tier, reads of it (cache misses, then hits), a recall, a lost cell
// (a degraded read) and scrubs — each number checked against what the test did. Then the
// listener's access rules (a token off loopback) and two mounts on one host.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { parseExposition, type Exposition } from '../helpers/exposition.js';
import { FsStore } from '../../src/objectstore/fs.js';
import { METRICS } from '../../src/metrics/definitions.js';

let mounts: TierfsMount[] = [];
let dirs: ReturnType<typeof tempDir>[] = [];
afterEach(async () => {
  await Promise.all(mounts.map((m) => m.dispose()));
  for (const d of dirs) d.remove();
  mounts = [];
  dirs = [];
});

const KiB = 1024;
const GiB = 2 ** 30;

/** hot (1 GiB, so its use is the catalog's count) and a cold tier 2+1 on three fs stores. */
function coldMount(extraYaml = ''): { t: TierfsMount; cold: string } {
  const cold = tempDir('tierfs-metrics-cold-');
  dirs.push(cold);
  const t = new TierfsMount({
    hotCapacity: '1GiB',
    pageCache: 'none', // every read reaches the daemon: bytes read are exact
    passthrough: 'off', // … and the bytes of local files too
    moreTiers: fsObjectTier(cold.path, { chunkSize: '256KiB' }),
    extraYaml: `cache: { memory: 64MiB, disk: 0 }\n${extraYaml}`,
  });
  mounts.push(t);
  return { t, cold: cold.path };
}

async function statusOf(t: TierfsMount) {
  const r = await t.cli(['status', '--json', t.mnt]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** GET /api/v1/… of the listener, with the token: the JSON the CLI prints, without starting a CLI. */
async function api<T>(t: TierfsMount, metricsUrl: string, path: string): Promise<T> {
  const res = await fetch(metricsUrl.replace(/\/metrics$/, `/api/v1/${path}`), { headers: t.apiAuth() });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function scrape(url: string, token?: string): Promise<Exposition> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/**
 * A scrape once `name{labels}` has reached `expected`: the binding reports what it served
 * natively every 200 ms (and at release, which the kernel sends after close returns).
 */
async function scrapeWhen(url: string, name: string, labels: Record<string, string>, expected: number): Promise<Exposition> {
  let x = await scrape(url);
  for (const end = Date.now() + 5000; x.value(name, labels) !== expected && Date.now() < end; x = await scrape(url)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(x.value(name, labels), `${name} ${JSON.stringify(labels)}`).toBe(expected);
  return x;
}

async function ok(t: TierfsMount, args: string[]) {
  const r = await t.cli(args);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return r;
}

/** Bytes of the objects of an fs store that are cells (manifests left out), as the store reports them. */
async function cellObjectBytes(root: string): Promise<number> {
  let n = 0;
  // Cells only: not manifests, nor the mounts' heartbeats under .tierfs/.
  for await (const e of new FsStore({ root, fsync: false }).list('')) if (!e.key.endsWith('/manifest') && !e.key.startsWith('.tierfs/')) n += e.size;
  return n;
}

/** A port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('/metrics of a mount', () => {
  it('counts what the test did: bytes written and read per tier, a move and a recall, cache misses then hits, a degraded read, scrubs', async () => {
    const { t, cold } = coldMount();
    await t.start();
    const status = await statusOf(t);
    const url: string = status.metrics.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const m = (p: string) => join(t.mnt, p);

    const a = randomBytes(300_000);
    const b = randomBytes(100 * KiB);
    writeFileSync(m('a.bin'), a);
    writeFileSync(m('b.bin'), b);
    expect(readFileSync(m('a.bin')).equals(a)).toBe(true);

    await scrapeWhen(url, 'tierfs_write_bytes_total', { tier: 'hot' }, a.length + b.length);
    let x = await scrapeWhen(url, 'tierfs_read_bytes_total', { tier: 'hot' }, a.length);
    expect(x.value('tierfs_read_bytes_total', { tier: 'cold' })).toBe(0);
    expect(x.value('tierfs_tier_files', { tier: 'hot' })).toBe(2);
    expect(x.value('tierfs_tier_used_bytes', { tier: 'hot' })).toBe(a.length + b.length);
    expect(x.value('tierfs_tier_capacity_bytes', { tier: 'hot' })).toBe(GiB);
    // The first create is JavaScript's, which hands the directory over; the binding answers the second.
    expect(x.value('tierfs_fuse_requests_total', { op: 'create' })).toBe(1);
    expect(x.value('tierfs_fuse_creates_answered_natively_total')).toBe(1);
    // Natively served writes are counted from the binding's batches.
    expect(x.value('tierfs_fuse_requests_total', { op: 'write' })).toBeGreaterThan(0);
    expect(x.value('tierfs_fuse_request_seconds_count', { op: 'create' })).toBe(1);
    expect(x.value('tierfs_build_info', { version: JSON.parse(readFileSync('package.json', 'utf8')).version })).toBe(1);
    for (const backend of ['a', 'b', 'c']) expect(x.value('tierfs_backend_up', { tier: 'cold', backend })).toBe(1);

    // A move to the object tier.
    await ok(t, ['move', m('a.bin'), '--to', 'cold']);
    x = await scrape(url);
    expect(x.value('tierfs_moves_total', { from: 'hot', to: 'cold', result: 'ok', by: 'cli' })).toBe(1);
    expect(x.value('tierfs_move_bytes_total', { from: 'hot', to: 'cold' })).toBe(a.length);
    expect(x.value('tierfs_move_seconds_count')).toBe(1);
    expect(x.value('tierfs_tier_files', { tier: 'cold' })).toBe(1);
    expect(x.value('tierfs_tier_used_bytes', { tier: 'cold' })).toBe(a.length);
    expect(x.value('tierfs_tier_used_bytes', { tier: 'hot' })).toBe(b.length);
    const stored = (await Promise.all(['a', 'b', 'c'].map((s) => cellObjectBytes(join(cold, s))))).reduce((p, q) => p + q, 0);
    expect(x.value('tierfs_tier_stored_bytes', { tier: 'cold' })).toBe(stored);
    expect(stored).toBeGreaterThan(a.length * 1.5); // parity of a 2+1 scheme
    const putBytes = ['a', 'b', 'c'].reduce((n, backend) => n + (x.value('tierfs_objectstore_bytes_total', { tier: 'cold', backend, op: 'put' }) ?? 0), 0);
    expect(putBytes).toBeGreaterThan(stored); // cells and manifests
    expect(x.value('tierfs_move_queue_length')).toBe(0);
    expect(x.value('tierfs_move_queue_bytes')).toBe(0);

    // The first read waits for object storage (misses); the second is all cache hits.
    expect(readFileSync(m('a.bin')).equals(a)).toBe(true);
    const first = await scrape(url);
    expect(first.value('tierfs_read_bytes_total', { tier: 'cold' })).toBe(a.length);
    const misses = first.value('tierfs_recall_cache_misses_total')!;
    expect(misses).toBeGreaterThan(0);
    expect(first.value('tierfs_recall_first_byte_seconds_count')).toBeGreaterThan(0);
    expect(readFileSync(m('a.bin')).equals(a)).toBe(true);
    x = await scrape(url);
    expect(x.value('tierfs_read_bytes_total', { tier: 'cold' })).toBe(2 * a.length);
    expect(x.value('tierfs_recall_cache_misses_total')).toBe(misses);
    expect(x.value('tierfs_recall_cache_hit_bytes_total')).toBe(first.value('tierfs_recall_cache_hit_bytes_total')! + a.length);
    expect(x.value('tierfs_recall_cache_hits_total', { layer: 'memory' })).toBeGreaterThan(first.value('tierfs_recall_cache_hits_total', { layer: 'memory' })!);
    expect(x.value('tierfs_recall_cache_hits_total', { layer: 'disk' })).toBe(0);
    expect(x.value('tierfs_recall_first_byte_seconds_count')).toBe(first.value('tierfs_recall_first_byte_seconds_count'));
    expect(x.value('tierfs_recall_cache_bytes', { layer: 'memory' })).toBe(a.length); // every data cell of a, once
    expect(x.value('tierfs_degraded_reads_total', { tier: 'cold' })).toBe(0);

    // A recall brings it back; reading it is a hot read again.
    await ok(t, ['recall', m('a.bin')]);
    expect(readFileSync(m('a.bin')).equals(a)).toBe(true);
    x = await scrapeWhen(url, 'tierfs_read_bytes_total', { tier: 'hot' }, 2 * a.length);
    expect(x.value('tierfs_moves_total', { from: 'cold', to: 'hot', result: 'ok', by: 'recall' })).toBe(1);
    expect(x.value('tierfs_move_bytes_total', { from: 'cold', to: 'hot' })).toBe(a.length);
    expect(x.value('tierfs_tier_files', { tier: 'hot' })).toBe(2);
    expect(x.value('tierfs_tier_files', { tier: 'cold' })).toBe(0);

    // A lost cell: the read is degraded, a scrub finds the stripe at risk, a repair cures it.
    await ok(t, ['move', m('b.bin'), '--to', 'cold']);
    const where = await api<{ layout: { fileId: string } }>(t, url, 'where?path=b.bin');
    const cell0 = ['a', 'b', 'c']
      .map((s) => join(cold, s, status.fsid, where.layout.fileId, 's0', 'c0~'))
      .filter((p) => statSync(p, { throwIfNoEntry: false }));
    expect(cell0).toHaveLength(1);
    rmSync(cell0[0]!);
    expect(readFileSync(m('b.bin')).equals(b)).toBe(true);
    x = await scrape(url);
    expect(x.value('tierfs_degraded_reads_total', { tier: 'cold' })).toBe(1);
    expect(x.value('tierfs_stripes_at_risk', { tier: 'cold' })).toBe(0); // not known before a scrub

    const found = await t.cli(['scrub', t.mnt]); // exits non-zero: damage found
    expect(found.stdout).toContain('3 cells checked, 1 bad, 0 repaired');
    x = await scrape(url);
    expect(x.value('tierfs_scrub_cells_checked_total')).toBe(3);
    expect(x.value('tierfs_scrub_cells_bad_total')).toBe(1);
    expect(x.value('tierfs_stripes_at_risk', { tier: 'cold' })).toBe(1);
    await ok(t, ['scrub', '--repair', t.mnt]);
    x = await scrape(url);
    expect(x.value('tierfs_scrub_cells_checked_total')).toBe(6);
    expect(x.value('tierfs_scrub_cells_bad_total')).toBe(2);
    expect(x.value('tierfs_stripes_at_risk', { tier: 'cold' })).toBe(0);

    // The same numbers as tierfs status: one source.
    const s = await api<{ tiers: { name: string; files: number; usedBytes: number; capacityBytes: number }[]; queue: { length: number } }>(t, url, 'status');
    for (const tier of s.tiers) {
      expect(x.value('tierfs_tier_files', { tier: tier.name })).toBe(tier.files);
      expect(x.value('tierfs_tier_capacity_bytes', { tier: tier.name })).toBe(tier.capacityBytes);
      // warm has no configured capacity: its use is its filesystem's, which other processes change meanwhile
      if (tier.name !== 'warm') expect(x.value('tierfs_tier_used_bytes', { tier: tier.name })).toBe(tier.usedBytes);
      else expect(Math.abs(x.value('tierfs_tier_used_bytes', { tier: 'warm' })! - tier.usedBytes)).toBeLessThan(0.01 * tier.capacityBytes);
    }
    expect(x.value('tierfs_move_queue_length')).toBe(s.queue.length);
  }, 300_000);

  it('exposes a well-formed exposition: every line parses, no series twice, every tierfs metric defined once in the table', async () => {
    const { t } = coldMount();
    await t.start();
    writeFileSync(join(t.mnt, 'f'), 'x');
    const url = (await statusOf(t)).metrics.url;
    const text = await (await fetch(url)).text();
    const x = parseExposition(text); // throws on any bad line or duplicate series
    const families = [...x.types.keys()].filter((n) => n.startsWith('tierfs_'));
    const defined = METRICS.map((d) => d.name);
    expect(families.sort()).toEqual([...defined].sort());
    for (const d of METRICS) expect(x.types.get(d.name)).toBe(d.type);
    // prom-client's process metrics are there too
    expect(x.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(x.types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    // the daemon's own memory figures, as /proc has them for its pid
    const status = readFileSync(`/proc/${t.pid}/status`, 'utf8');
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
    expect(Math.abs(x.value('tierfs_process_resident_bytes')! - rss)).toBeLessThan(0.25 * rss);
    const stat = readFileSync(`/proc/${t.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const faults = Number(stat[7]) + Number(stat[9]);
    expect(x.value('tierfs_process_page_faults_total')).toBeGreaterThan(0.5 * faults);
    expect(x.value('tierfs_process_page_faults_total')).toBeLessThanOrEqual(faults);
  });

  it('names tiers, backends and operations in its labels, never a file: what a user of the mount named stays off the scrape', async () => {
    const { t } = coldMount();
    await t.start();
    const url = (await statusOf(t)).metrics.url;
    const secret = 'zz-payroll-of-alice';
    const m = (p: string) => join(t.mnt, p);
    await fs.mkdir(m(`${secret}-dir`));
    const file = m(`${secret}-dir/${secret}.txt`);
    await fs.writeFile(file, randomBytes(300 * KiB));
    await ok(t, ['move', file, '--to', 'cold']);
    await fs.readFile(file);
    await fs.rename(file, m(`${secret}-renamed`));
    // errors are counted by operation and errno: the names they were about are not kept
    await expect(fs.readFile(m(`${secret}-missing`))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.rmdir(m(`${secret}-dir-missing`))).rejects.toMatchObject({ code: 'ENOENT' });
    await ok(t, ['move', m(`${secret}-renamed`), '--to', 'hot']);
    const x = await scrape(url);
    const labelled = x.samples.flatMap((s) => Object.entries(s.labels).map(([k, v]) => `${s.name}{${k}="${v}"}`));
    expect(labelled.length, 'the scrape has labelled series').toBeGreaterThan(20);
    expect(labelled.filter((l) => l.includes('zz-payroll'))).toEqual([]);
  });

  it('keeps history from the mount on: tierfs history reads the first points', async () => {
    const { t } = coldMount();
    await t.start();
    const url = (await statusOf(t)).metrics.url;
    type Answer = { points: { labels: Record<string, string>; values: [number, number][] }[]; stepMs: number };
    let h: Answer | undefined;
    // The first sample is taken at the mount; ask (through the listener's API) until it shows.
    for (let i = 0; i < 100 && !h?.points.length; i++) {
      if (i > 0) await new Promise((res) => setTimeout(res, 100));
      h = await api<Answer>(t, url, 'history?series=tier_capacity_bytes&since=3600000');
    }
    expect(h!.stepMs).toBe(60_000);
    const hot = h!.points.find((p) => p.labels.tier === 'hot');
    expect(hot?.values[0]?.[1]).toBe(GiB);
    const text = await t.cli(['history', 'tierfs_tier_capacity_bytes', t.mnt, '--since', '1h', '--step', '1m']);
    expect(text.stdout).toContain('1.00 GiB');
    const unknown = await t.cli(['history', 'no_such_series', t.mnt]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no series named no_such_series');
    const list = await t.cli(['history']);
    expect(list.stdout).toContain('tierfs_recall_cache_hit_ratio');
  });
});

describe('the metrics listener', () => {
  it('off loopback, refuses a request without the bearer token (401) and serves one with it; the token file is 0600 and status names it', async () => {
    const { t } = coldMount('metrics: { listen: "0.0.0.0:0" }\n');
    await t.start();
    const s = (await statusOf(t)).metrics;
    expect(s.listen).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(s.tokenRequired).toBe(true);
    expect(s.tokenFile).toBe(join(t.dataDir, 'metrics.token'));
    expect(statSync(s.tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(s.tokenFile, 'utf8').trim();
    const port = Number(s.listen.split(':')[1]);
    // Reach it as another host would: through a non-loopback address of this machine, if it has one.
    const host = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1';
    const url = `http://${host}:${port}/metrics`;

    const without = await fetch(url);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(url, { headers: { authorization: `Bearer ${'0'.repeat(token.length)}` } })).status).toBe(401);
    expect((await fetch(`http://${host}:${port}/api/v1/status`)).status).toBe(401);

    const x = await scrape(url, token);
    expect(x.value('tierfs_tier_files', { tier: 'hot' })).toBe(0);
    const api = await fetch(`http://${host}:${port}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { mountpoint: string }).mountpoint).toBe(t.mnt);

    // Prometheus's token reads /metrics only: not the API, not the dashboard's.
    expect(s.scrapeTokenFile).toBe(join(t.dataDir, 'scrape.token'));
    expect(statSync(s.scrapeTokenFile).mode & 0o777).toBe(0o600);
    const scrapeToken = readFileSync(s.scrapeTokenFile, 'utf8').trim();
    expect((await scrape(url, scrapeToken)).value('tierfs_tier_files', { tier: 'hot' })).toBe(0);
    for (const path of ['/api/v1/status', '/api/status', '/']) {
      expect((await fetch(`http://${host}:${port}${path}`, { headers: { authorization: `Bearer ${scrapeToken}` } })).status, path).toBe(401);
    }

    const text = await t.cli(['status', t.mnt]);
    expect(text.stdout).toContain(`bearer token required, in ${s.tokenFile}; for Prometheus, one that reads /metrics only, in ${s.scrapeTokenFile}`);
  });

  it('two mounts on one host: the second takes the next free port and says so', async () => {
    const port = await freePort();
    const first = coldMount(`metrics: { listen: "127.0.0.1:${port}" }\n`).t;
    const second = coldMount(`metrics: { listen: "127.0.0.1:${port}" }\n`).t;
    await first.start();
    await second.start();
    const s1 = (await statusOf(first)).metrics;
    const s2 = (await statusOf(second)).metrics;
    expect(s1.listen).toBe(`127.0.0.1:${port}`);
    expect(s2.configured).toBe(`127.0.0.1:${port}`);
    expect(Number(s2.listen.split(':')[1])).toBeGreaterThan(port);
    expect(second.output).toContain('metrics port taken');
    expect((await second.cli(['status', second.mnt])).stdout).toContain(`(127.0.0.1:${port} was taken)`);
    // Each answers for its own mount.
    writeFileSync(join(second.mnt, 'only-here'), 'x');
    expect((await scrape(s1.url)).value('tierfs_tier_files', { tier: 'hot' })).toBe(0);
    expect((await scrape(s2.url)).value('tierfs_tier_files', { tier: 'hot' })).toBe(1);
    const mountpointAt = async (url: string, m: TierfsMount) =>
      ((await (await fetch(url.replace('/metrics', '/api/v1/status'), { headers: m.apiAuth() })).json()) as { mountpoint: string }).mountpoint;
    expect(await mountpointAt(s1.url, first)).toBe(first.mnt);
    expect(await mountpointAt(s2.url, second)).toBe(second.mnt);
  });

  it('a port another user listens on is not stepped aside from: nothing is served, the mount runs, status says why', async () => {
    const port = await freePort();
    // Another local user's server on the configured address (nobody, uid 65534): a
    // listener on the next port would leave Prometheus and the dashboard's login
    // talking to it.
    const squatter = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await once(squatter.stdout!, 'data');
      const { t } = coldMount(`metrics: { listen: "127.0.0.1:${port}" }\n`);
      await t.start();
      const m = (await statusOf(t)).metrics;
      expect(m.listen).toBeNull();
      expect(m.error).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is taken by uid 65534, not by this daemon's user`));
      expect((await t.cli(['status', t.mnt])).stdout).toContain(`metrics: not served (127.0.0.1:${port}: 127.0.0.1:${port} is taken by uid 65534`);
      expect(t.output).toContain('metrics listener not started');
      writeFileSync(join(t.mnt, 'still-works'), 'x');
      expect(readFileSync(join(t.mnt, 'still-works'), 'utf8')).toBe('x');
    } finally {
      squatter.kill();
    }
  });

  it('"off" serves nothing, and status says so', async () => {
    const { t } = coldMount('metrics: { listen: off }\n');
    await t.start();
    const s = (await statusOf(t)).metrics;
    expect(s).toMatchObject({ listen: null, url: null, configured: 'off' });
    expect((await t.cli(['status', t.mnt])).stdout).toContain('metrics: listener off');
  });
});
