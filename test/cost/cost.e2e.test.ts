// Cost reports of a real mount on three fs stores priced as S3 Standard-IA: files written,
// moved to the object tier, read back and deleted; the report's requests and bytes per
// backend equal what /metrics counted, its charges equal the arithmetic on those counts
// (early deletion and minimum object size from the file sizes), the CLI's --json is the
// API's JSON, and a what-if under a colder class moves cost from storage to retrieval.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { parseExposition, type Exposition } from '../helpers/exposition.js';
import type { CostReport } from '../../src/cost/report.js';
import type { CostRow } from '../../src/cost/accounting.js';

const KiB = 1024;
const GiB = 2 ** 30;
const IA = { storage: 0.0125, writes: 0.01 / 1000, reads: 0.001 / 1000, retrieval: 0.01, minDays: 30, minBytes: 128 * KiB };

let t: TierfsMount | undefined;
let cold: ReturnType<typeof tempDir> | undefined;
afterEach(async () => {
  await t?.dispose();
  cold?.remove();
  t = cold = undefined;
});

const coldTier = (root: string) => `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: 256KiB
    smallFileThreshold: 4KiB
    backends:
      - { name: a, type: fs, root: ${root}/a }
      - { name: b, type: fs, root: ${root}/b }
      - { name: c, type: fs, root: ${root}/c }
`;

async function get<T>(t: TierfsMount, url: string): Promise<T> {
  const res = await fetch(url, { headers: t.apiAuth() });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

const scrape = async (url: string): Promise<Exposition> => parseExposition(await (await fetch(url)).text());

/** The object-store counters of one backend of cold, as the report groups them. */
function counted(x: Exposition, backend: string) {
  const v = (name: string, op: string) => x.value(name, { tier: 'cold', backend, op }) ?? 0;
  const req = (op: string) => v('tierfs_objectstore_requests_total', op);
  return {
    requests: { writes: req('put') + req('list') + req('restore'), reads: req('get') + req('head'), free: req('delete') },
    readBytes: v('tierfs_objectstore_bytes_total', 'get'),
    writtenBytes: v('tierfs_objectstore_bytes_total', 'put'),
  };
}

describe('tierfs report cost on a mount', () => {
  it('counts what the object-store metrics counted and prices it as the arithmetic says', async () => {
    cold = tempDir('tierfs-cost-cold-');
    t = new TierfsMount({
      hotCapacity: '1GiB',
      pageCache: 'none', // every read reaches the daemon
      moreTiers: coldTier(cold.path),
      extraYaml: `cache: { memory: 0, disk: 0 }
metrics: { probeInterval: 1h }
cost:
  tiers:
    cold: { class: s3-standard-ia }
`,
    });
    // The report's clock (TIERFS_TEST_CLOCK): real time until the report, then five days on,
    // so a month's storage is days of bytes, not the seconds the test lasts.
    const clockFile = join(t.root, 'clock');
    const setClock = (ms: number) => {
      writeFileSync(`${clockFile}.new`, String(ms));
      renameSync(`${clockFile}.new`, clockFile);
    };
    setClock(Date.now());
    const mountedAt = Date.now();
    await t.start({ TIERFS_TEST_CLOCK: clockFile });
    const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
    const metricsUrl: string = status.metrics.url;
    const api = metricsUrl.replace(/\/metrics$/, '');
    const m = (p: string) => join(t!.mnt, p);

    // a: 300 KiB, two stripes: cells of 128 KiB (the minimum billed) and of 22 KiB (billed as 128).
    // b: 100 KiB, one stripe of 50 KiB cells; deleted at once, 30 days early.
    const a = randomBytes(300 * KiB);
    const b = randomBytes(100 * KiB);
    writeFileSync(m('a.bin'), a);
    writeFileSync(m('b.bin'), b);
    for (const f of ['a.bin', 'b.bin']) {
      const r = await t.cli(['move', m(f), '--to', 'cold']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(readFileSync(m('a.bin')).equals(a)).toBe(true);
    expect(readFileSync(m('a.bin')).equals(a)).toBe(true);
    rmSync(m('b.bin'));

    // The report and a scrape with nothing between them: the counters stand still once the
    // old copies are deleted (garbage every 5 s); until then, try again.
    let report!: CostReport;
    let x!: Exposition;
    // The month is the real one (the requests were made in it); the clock goes five days on, or to its last millisecond.
    const realStart = Date.now();
    const month = new Date(realStart).toISOString().slice(0, 7);
    const monthStart = Date.UTC(new Date(realStart).getUTCFullYear(), new Date(realStart).getUTCMonth(), 1);
    const monthEnd = Date.UTC(new Date(realStart).getUTCFullYear(), new Date(realStart).getUTCMonth() + 1, 1);
    const clock = Math.min(realStart + 5 * 86_400_000, monthEnd - 1);
    setClock(clock);
    let askedAt = 0;
    for (let i = 0; i < 40; i++) {
      const before = await scrape(metricsUrl);
      askedAt = Date.now();
      report = await get<CostReport>(t, `${api}/api/report/cost?by=backend&month=${month}`);
      x = await scrape(metricsUrl);
      if (['a', 'b', 'c'].every((bk) => JSON.stringify(counted(before, bk)) === JSON.stringify(counted(x, bk)) && counted(x, bk).requests.free >= 1)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(report.report).toBe('cost');
    expect(report.by).toBe('backend');
    const rows = report.rows as CostRow[];
    let early = 0;
    let perObject = 0;
    for (const backend of ['a', 'b', 'c']) {
      const row = rows.find((r) => r.tier === 'cold' && r.backend === backend)!;
      const c = counted(x, backend);
      // the report's requests and bytes are the metrics' counts
      expect(row.requests).toEqual(c.requests);
      expect(row.readBytes).toBe(c.readBytes);
      expect(row.writtenBytes).toBe(c.writtenBytes);
      expect(c.requests.writes).toBeGreaterThan(0);
      expect(c.readBytes).toBeGreaterThan(0);
      // and its charges are the list prices times those counts
      expect(row.monthToDate.writeRequestsUsd).toBeCloseTo(c.requests.writes * IA.writes, 15);
      expect(row.monthToDate.readRequestsUsd).toBeCloseTo(c.requests.reads * IA.reads, 15);
      expect(row.monthToDate.retrievalUsd).toBeCloseTo((c.readBytes / GiB) * IA.retrieval, 15);
      expect(row.priceClass).toBe('s3-standard-ia');
      early += row.monthToDate.earlyDeletionUsd;
      perObject += row.projectedMonth.objectSizeUsd;
    }
    // Storage: the cells the tier holds (/metrics' stored bytes, headers included) from the report's
    // sample, at real time, to the report's clock (or the month's end), at $0.0125 per GB-month.
    expect(report.period.nowMs).toBe(clock);
    const stored = x.value('tierfs_tier_stored_bytes', { tier: 'cold' })!;
    const coldRows = rows.filter((r) => r.tier === 'cold');
    expect(Math.abs(coldRows.reduce((s, r) => s + r.storedBytesNow, 0) - stored)).toBeLessThanOrEqual(2);
    const perByteMs = IA.storage / GiB / (monthEnd - monthStart);
    const storage = coldRows.reduce((s, r) => s + r.monthToDate.storageUsd, 0);
    // at least the bytes held now since the report's sample, at most a's and b's cells since the mount
    expect(storage).toBeGreaterThanOrEqual(stored * perByteMs * (clock - askedAt) * 0.999);
    expect(storage).toBeLessThanOrEqual(((3 * (128 + 22 + 50)) * KiB + 9 * 1024) * perByteMs * (clock - Math.max(mountedAt - 60_000, monthStart)));
    // and, over days (not at the month's last minutes), the bytes now for that time: what was stored
    // before the report's sample, a minute or two, is within the tolerance
    if (clock - askedAt > 86_400_000) expect(Math.abs(storage - stored * perByteMs * (clock - askedAt)) / storage).toBeLessThan(2e-3);
    // b's three 50 KiB cells left 30 days early (less the seconds they were kept)
    const earlyExpected = ((3 * 50 * KiB) / GiB) * IA.storage * (IA.minDays / 30);
    expect(Math.abs(early - earlyExpected) / earlyExpected).toBeLessThan(1e-4);
    // a's second stripe: three cells of 22 KiB (300 - 256 = 44 KiB over k = 2), each billed as 128 KiB, for the month
    expect(perObject).toBeCloseTo(((3 * (128 - 22) * KiB) / GiB) * IA.storage, 15);

    // The CLI prints the same JSON the API serves (the same report asked twice: only time-bound numbers may differ).
    const cli = await t.cli(['report', 'cost', '--by', 'backend', '--json', t.mnt]);
    expect(cli.code, cli.stderr).toBe(0);
    const fromCli = JSON.parse(cli.stdout) as CostReport;
    expect(Object.keys(fromCli).sort()).toEqual(Object.keys(report).sort());
    expect((fromCli.rows as CostRow[]).map((r) => [r.tier, r.backend, r.requests, r.readBytes])).toEqual(rows.map((r) => [r.tier, r.backend, r.requests, r.readBytes]));
    const text = await t.cli(['report', 'cost', t.mnt]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/cold\s+s3-standard-ia/);

    // What-if: Glacier Instant Retrieval for the same month: storage down, retrieval up (×3 per GB).
    const colder = join(t.root, 'colder.yaml');
    writeFileSync(colder, readFileSync(t.configFile, 'utf8').replace('class: s3-standard-ia', 'class: s3-glacier-ir'));
    const w = await t.cli(['report', 'cost', '--by', 'backend', '--config', colder, '--json', t.mnt]);
    expect(w.code, w.stderr).toBe(0);
    const what = JSON.parse(w.stdout) as CostReport;
    expect(what.whatIf!.configFile).toBe(colder);
    // (hot costs nothing: the whole difference is cold's, priced from the same facts in one report)
    const base = what.whatIf!.baselineMonthToDate;
    expect(what.monthToDate.storageUsd).toBeCloseTo(base.storageUsd * (0.004 / 0.0125), 15);
    expect(what.monthToDate.storageUsd).toBeLessThanOrEqual(base.storageUsd);
    expect(base.retrievalUsd).toBeGreaterThan(0);
    expect(what.monthToDate.retrievalUsd).toBeCloseTo(base.retrievalUsd * 3, 15);

    // The other two reports, on the same routes the dashboard calls.
    const capacity = await get<{ report: string; tiers: { tier: string; status: string }[] }>(t, `${api}/api/report/capacity`);
    expect(capacity.report).toBe('capacity');
    expect(capacity.tiers.find((c) => c.tier === 'hot')!.status).toBe('history too short');
    const advice = await get<{ report: string; tooShort: { kind: string }[] }>(t, `${api}/api/report/advice`);
    expect(advice.report).toBe('advice');
    expect(advice.tooShort.map((s) => s.kind)).toContain('idle-on-fastest-tier');
    const bad = await fetch(`${api}/api/report/cost?month=2026-13`, { headers: t.apiAuth() });
    expect(bad.status).toBe(400);

    // Unmounted, the report reads the catalog: what the daemon recorded is still there.
    await t.stop();
    const offline = await t.cli(['report', 'cost', '--by', 'backend', '--json', '--from-config', t.configFile]);
    expect(offline.code, offline.stderr).toBe(0);
    const off = JSON.parse(offline.stdout) as CostReport;
    for (const r of rows.filter((x) => x.tier === 'cold')) {
      const o = (off.rows as CostRow[]).find((x) => x.tier === r.tier && x.backend === r.backend)!;
      expect(o.requests.writes).toBeGreaterThanOrEqual(r.requests.writes);
      expect(o.requests.reads).toBeGreaterThanOrEqual(r.requests.reads);
      expect(o.readBytes).toBe(r.readBytes);
      expect(o.monthToDate.earlyDeletionUsd).toBeCloseTo(r.monthToDate.earlyDeletionUsd, 15);
    }
  });
});
