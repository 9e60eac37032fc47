// Built-in alerts of a real mount, on a clock the test moves (TIERFS_TEST_CLOCK): a small
// tier filled and emptied again takes the capacity and forecast alerts through pending,
// firing and resolved; a backend that fails (fault injection in front of s3rver) fires the
// backend alerts; a local webhook receives each change exactly once, in order, even when
// its first request fails; a webhook that hangs does not slow the mount.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { parseExposition } from '../helpers/exposition.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import type { AlertsAnswer } from '../../src/alerts/evaluator.js';
import type { AlertNotification } from '../../src/alerts/webhooks.js';

const KiB = 1024;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 10, 30, 6, 0, 0);

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A webhook receiver: keeps what it was sent; `answer` decides each reply (default 200). */
interface Receiver {
  url: string;
  received: AlertNotification[];
  /** requests seen, answered or not */
  requests: number;
  answer: (n: number, res: ServerResponse) => boolean;
}

async function startReceiver(): Promise<Receiver> {
  const r: Receiver = { url: '', received: [], requests: 0, answer: () => true };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = r.requests++;
      if (!r.answer(n, res)) return; // the receiver answered (or hangs) itself
      r.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertNotification);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return r;
}

/** A mount whose alert evaluator runs on the clock in `clockFile`. */
async function alertMount(opts: { extraYaml: string; moreTiers?: string; hotCapacity?: string }) {
  const t = new TierfsMount({
    hotCapacity: opts.hotCapacity ?? '1MiB',
    warmCapacity: '1GiB', // use counted by the catalog: other tests writing to this disk change nothing
    moreTiers: opts.moreTiers,
    extraYaml: `metrics: { listen: "127.0.0.1:0", history: { enabled: false }, probeInterval: 100ms }
policy: { interval: 1h }
${opts.extraYaml}`,
  });
  cleanups.push(() => t.dispose());
  const clock = join(t.root, 'clock');
  // Written whole, then renamed: the daemon never reads a clock half written.
  const setClock = (ms: number) => {
    writeFileSync(`${clock}.new`, String(ms));
    renameSync(`${clock}.new`, clock);
  };
  setClock(T0);
  await t.start({ TIERFS_TEST_CLOCK: clock });
  // Where the listener is, as status says (a port chosen beforehand could be taken meanwhile).
  const metricsUrl = await t.metricsUrl();
  const alerts = async (): Promise<AlertsAnswer> => {
    const res = await fetch(metricsUrl.replace(/\/metrics$/, '/api/v1/alerts?limit=200'), { headers: t.apiAuth() });
    expect(res.status).toBe(200);
    return (await res.json()) as AlertsAnswer;
  };
  /** Sets the clock and waits for an evaluation that began after everything done so far. */
  const at = async (ms: number, then: () => void = () => undefined) => {
    setClock(ms);
    then();
    const before = (await alerts()).evaluations;
    for (const end = Date.now() + 20_000; Date.now() < end; ) {
      const a = await alerts();
      if (a.evaluations >= before + 2 && a.evaluatedAt === ms) return a;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no evaluation at ${new Date(ms).toISOString()}\n${t.output}`);
  };
  /** Waits until the catalog counts `bytes` on the hot tier (sizes reach it when the kernel releases the file). */
  const hotUsed = async (bytes: number) => {
    for (const end = Date.now() + 15_000; Date.now() < end; ) {
      const x = parseExposition(await (await fetch(metricsUrl)).text());
      if (x.value('tierfs_tier_used_bytes', { tier: 'hot' }) === bytes) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`hot never held ${bytes} bytes`);
  };
  return { t, metricsUrl, alerts, at, hotUsed, setClock };
}

const stateOf = (a: AlertsAnswer, rule: string, labels: Record<string, string>) =>
  a.active.find((x) => x.rule === rule && JSON.stringify(x.labels) === JSON.stringify(labels))?.state ?? 'none';

/** Waits until the receiver holds `n` notifications. */
async function received(r: Receiver, n: number, timeoutMs = 20_000): Promise<AlertNotification[]> {
  for (const end = Date.now() + timeoutMs; r.received.length < n && Date.now() < end; ) await new Promise((res) => setTimeout(res, 20));
  return r.received;
}

describe('built-in alerts through a mount', () => {
  it('a tier filled, then emptied: capacity and forecast alerts go pending, firing, resolved; the webhook hears each change once', async () => {
    const hook = await startReceiver();
    hook.answer = (n, res) => {
      if (n > 0) return true;
      res.writeHead(503).end(); // the first request fails: it is retried, not lost, not doubled
      return false;
    };
    const { t, metricsUrl, at, hotUsed, setClock } = await alertMount({
      extraYaml: `alerts:
  interval: 50ms
  webhooks: [{ url: "${hook.url}", name: test-hook, send: [pending, firing, resolved] }]
`,
    });
    const hot = { tier: 'hot' };
    const file = join(t.mnt, 'big.bin');
    const RULES = ['TierfsTierFillingUp', 'TierfsTierFillingUpFast', 'TierfsTierAboveHighWatermark', 'TierfsTierAlmostFull'];
    const states = (a: AlertsAnswer) => RULES.map((r) => stateOf(a, r, hot));

    expect(states(await at(T0))).toEqual(['none', 'none', 'none', 'none']);
    // An hour later, 700 KiB of the 1 MiB: 68% and growing 700 KiB an hour — full within a day.
    setClock(T0 + HOUR);
    writeFileSync(file, Buffer.alloc(700 * KiB, 1));
    await hotUsed(700 * KiB);
    let a = await at(T0 + HOUR);
    expect(states(a)).toEqual(['pending', 'none', 'none', 'none']);
    expect(a.active.find((x) => x.rule === 'TierfsTierFillingUp')!.summary).toBe('Tier hot will be full within 1d at the rate of the last 6 hours');
    // 59 minutes on: the forecast has not held for its hour yet.
    expect(states(await at(T0 + HOUR + 59 * MINUTE))).toEqual(['pending', 'none', 'none', 'none']);
    // Two hours in, 1000 KiB: 97.7%, above the watermark (90%) and the 95% guard, filling within 4 h.
    setClock(T0 + 2 * HOUR);
    appendFileSync(file, Buffer.alloc(300 * KiB, 2));
    await hotUsed(1000 * KiB);
    a = await at(T0 + 2 * HOUR);
    expect(states(a)).toEqual(['firing', 'pending', 'pending', 'pending']);
    expect(a.active.find((x) => x.rule === 'TierfsTierAlmostFull')!.value).toBeCloseTo(1000 / 1024, 6);
    expect(states(await at(T0 + 2 * HOUR + 10 * MINUTE))).toEqual(['firing', 'pending', 'pending', 'firing']);
    expect(states(await at(T0 + 2 * HOUR + 30 * MINUTE))).toEqual(['firing', 'firing', 'firing', 'firing']);
    const status = (await (await fetch(metricsUrl.replace(/\/metrics$/, '/api/v1/status'), { headers: t.apiAuth() })).json()) as { alerts: { firing: { rule: string }[]; pending: number } };
    expect(status.alerts.firing.map((f) => f.rule).sort()).toEqual([...RULES].sort());
    expect(status.alerts.pending).toBe(0);
    // Emptied: every guard fails, every alert resolves.
    setClock(T0 + 3 * HOUR);
    rmSync(file);
    await hotUsed(0);
    a = await at(T0 + 3 * HOUR);
    expect(states(a)).toEqual(['none', 'none', 'none', 'none']);
    expect(a.active).toEqual([]);

    // The webhook got each change exactly once, with the clock's times, each alert's in its order.
    // (Changes at one clock time may come from more than one evaluation: compared in a fixed order.)
    const expected = [
      ['TierfsTierFillingUp', 'pending', T0 + HOUR],
      ['TierfsTierAboveHighWatermark', 'pending', T0 + 2 * HOUR],
      ['TierfsTierAlmostFull', 'pending', T0 + 2 * HOUR],
      ['TierfsTierFillingUp', 'firing', T0 + 2 * HOUR],
      ['TierfsTierFillingUpFast', 'pending', T0 + 2 * HOUR],
      ['TierfsTierAlmostFull', 'firing', T0 + 2 * HOUR + 10 * MINUTE],
      ['TierfsTierAboveHighWatermark', 'firing', T0 + 2 * HOUR + 30 * MINUTE],
      ['TierfsTierFillingUpFast', 'firing', T0 + 2 * HOUR + 30 * MINUTE],
      ['TierfsTierAboveHighWatermark', 'resolved', T0 + 3 * HOUR],
      ['TierfsTierAlmostFull', 'resolved', T0 + 3 * HOUR],
      ['TierfsTierFillingUp', 'resolved', T0 + 3 * HOUR],
      ['TierfsTierFillingUpFast', 'resolved', T0 + 3 * HOUR],
    ];
    const got = await received(hook, expected.length);
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    const inOrder = (xs: (string | number)[][]) => [...xs].sort((a, b) => Number(a[2]) - Number(b[2]) || String(a[0]).localeCompare(String(b[0])));
    expect(inOrder(hook.received.map((n) => [n.alert, n.state, Date.parse(n.time)]))).toEqual(inOrder(expected));
    for (const rule of RULES) expect(hook.received.filter((n) => n.alert === rule).map((n) => n.state)).toEqual(['pending', 'firing', 'resolved']);
    expect(hook.requests).toBe(expected.length + 1); // one retry of the first
    for (const n of got) {
      expect(n).toMatchObject({ version: 1, source: 'tierfs', mountpoint: t.mnt, labels: hot });
      expect(n.expr).toMatch(/tierfs_tier_used_bytes/);
      expect(n.runbook.length).toBeGreaterThan(0);
    }
    expect(got.find((n) => n.alert === 'TierfsTierAlmostFull' && n.state === 'firing')).toMatchObject({
      severity: 'critical', summary: 'Tier hot is 97.66% full', activeSince: new Date(T0 + 2 * HOUR).toISOString(),
    });

    // The catalog keeps the history, tierfs alerts shows it; the log has one line per change; the failure is counted.
    const [cli, text] = await Promise.all([t.cli(['alerts', '--json', t.mnt]), t.cli(['alerts', t.mnt])]);
    expect(cli.code, cli.stderr).toBe(0);
    const listed = JSON.parse(cli.stdout) as AlertsAnswer;
    expect(inOrder(listed.recent.filter((e) => e.labels.tier === 'hot').map((e) => [e.rule, e.state, e.timeMs]))).toEqual(inOrder(expected));
    expect(listed.rules.map((r) => r.name)).toContain('TierfsBackendDown');
    expect(text.stdout).toMatch(/no alert pending or firing/);
    expect(text.stdout).toMatch(/TierfsTierAlmostFull\s+critical\s+5m/);
    for (const [rule, state] of expected) expect(t.output.split(`alert ${rule} ${state}:`).length - 1, `${rule} ${state} logged once`).toBe(1);
    const x = parseExposition(await (await fetch(metricsUrl)).text());
    expect(x.value('tierfs_alert_webhook_failures_total', { webhook: 'test-hook' })).toBe(1);
    expect(x.value('tierfs_alert_notifications_total', { webhook: 'test-hook', result: 'sent' })).toBe(expected.length);
    expect(x.value('tierfs_alerts_firing', { alert: 'TierfsTierAlmostFull', severity: 'critical' })).toBe(0);
    expect(t.output.split('alert webhook failing').length - 1).toBe(1);
  }, 120_000);

  it('a backend that fails fires the backend alerts, which resolve when it answers again', async () => {
    const s3: S3Server = await startS3Server();
    cleanups.push(() => s3.stop());
    const fault: FaultServer = await startFaultServer({ cloud: 's3', upstream: s3.endpoint });
    cleanups.push(() => fault.stop());
    const hook = await startReceiver();
    const { alerts, at, metricsUrl } = await alertMount({
      moreTiers: `  - name: cold
    kind: object
    scheme: { k: 1, m: 0 }
    backends:
      - type: s3
        name: s3a
        bucket: ${s3.bucket}
        endpoint: ${fault.endpoint}
        region: ${s3.clientOptions.region}
        forcePathStyle: true
        checksums: when_required
        accessKeyId: ${s3.clientOptions.credentials.accessKeyId}
        secretAccessKey: ${s3.clientOptions.credentials.secretAccessKey}
        retry: { maxAttempts: 1 }
`,
      extraYaml: `alerts:
  interval: 50ms
  webhooks: [{ url: "${hook.url}" }]
`,
    });
    const backend = { backend: 's3a', tier: 'cold' };
    const states = (a: AlertsAnswer) => [stateOf(a, 'TierfsBackendDown', backend), stateOf(a, 'TierfsBackendErrors', backend)];
    let a = await at(T0);
    expect(states(a)).toEqual(['none', 'none']);
    // Every request now fails with S3's "internal error, try again".
    fault.inject({ fault: { kind: 'error', status: 500, code: 'InternalError' }, times: 1e9 });
    /** Waits until the probes have seen the backend as `up`. */
    const probed = async (up: number) => {
      for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
        if (parseExposition(await (await fetch(metricsUrl)).text()).value('tierfs_backend_up', backend) === up) return;
      }
      throw new Error(`the backend never probed ${up ? 'up' : 'down'}`);
    };
    await probed(0);
    await at(T0); // the failures' first samples
    /** Failed calls of the backend so far (probes included). */
    const failures = async () =>
      parseExposition(await (await fetch(metricsUrl)).text())
        .series('tierfs_objectstore_errors_total')
        .filter((x) => x.labels.backend === 's3a')
        .reduce((sum, x) => sum + x.value, 0);
    /** Waits for one more failed call (a probe), so every test minute has samples, however loaded the machine. */
    const anotherFailure = async () => {
      const before = await failures();
      for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if ((await failures()) > before) return;
      throw new Error('no call of the backend failed within 10 s');
    };
    const seen: string[][] = [];
    for (let m = 1; m <= 12; m++) {
      // The minute's sample is the last reading taken at its time: a failure must come after
      // the clock moved (one before it lands in the previous minute's sample, and the error
      // ratio of an idle minute is 0/0 — seen on a loaded CI machine).
      await at(T0 + m * MINUTE);
      await anotherFailure();
      a = await at(T0 + m * MINUTE);
      seen.push(states(a));
    }
    // Down: pending from the first failed probe, firing 5 minutes later; errors above 5% of calls fire after 10 minutes.
    expect(seen[0]).toEqual(['pending', 'pending']);
    expect(seen[5]).toEqual(['firing', 'pending']);
    expect(seen[11]).toEqual(['firing', 'firing']);
    expect(a.active.find((x) => x.rule === 'TierfsBackendErrors')!.value).toBeGreaterThan(0.9);
    expect(a.active.find((x) => x.rule === 'TierfsBackendDown')!.summary).toBe('Backend s3a of tier cold does not answer');

    // It answers again: down resolves at once, the error ratio once its 10 minutes have passed.
    fault.reset();
    await probed(1);
    a = await at(T0 + 13 * MINUTE);
    expect(states(a)).toEqual(['none', 'firing']);
    for (let m = 14; m <= 24; m++) {
      await new Promise((r) => setTimeout(r, 120));
      a = await at(T0 + m * MINUTE);
    }
    expect(states(a)).toEqual(['none', 'none']);
    // The default webhook hears firing and resolved only.
    const got = await received(hook, 4);
    expect(got.map((n) => [n.alert, n.state, n.labels])).toEqual([
      ['TierfsBackendDown', 'firing', backend],
      ['TierfsBackendErrors', 'firing', backend],
      ['TierfsBackendDown', 'resolved', backend],
      ['TierfsBackendErrors', 'resolved', backend],
    ]);
    expect((await alerts()).recent.some((e) => e.rule === 'TierfsBackendDown' && e.state === 'pending')).toBe(true);
  }, 120_000);

  it('a webhook that hangs does not slow the mount', async () => {
    const hook = await startReceiver();
    hook.answer = () => false; // never answers
    const { t, alerts, at, hotUsed } = await alertMount({
      hotCapacity: '64MiB',
      extraYaml: `alerts:
  interval: 50ms
  rules: { TierfsTierAlmostFull: { for: 0s, threshold: 50% } }
  webhooks: [{ url: "${hook.url}", timeout: 1h, send: [pending, firing, resolved] }]
`,
    });
    await at(T0);
    const data = Buffer.alloc(4 * 2 ** 20, 7);
    const timedWrite = (name: string) => {
      const started = process.hrtime.bigint();
      writeFileSync(join(t.mnt, name), data);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    // Warm up the path, then a baseline with the webhook idle.
    timedWrite('w0.bin');
    rmSync(join(t.mnt, 'w0.bin'));
    const baseline = Math.min(timedWrite('w1.bin'), timedWrite('w2.bin'));
    rmSync(join(t.mnt, 'w1.bin'));
    rmSync(join(t.mnt, 'w2.bin'));
    await at(T0 + MINUTE);

    // A small file on hot fires the alert at once; its notification hangs, the next ones queue behind it.
    writeFileSync(join(t.mnt, 'half.bin'), Buffer.alloc(40 * 2 ** 20, 1));
    await hotUsed(40 * 2 ** 20);
    const a = await at(T0 + 2 * MINUTE);
    expect(stateOf(a, 'TierfsTierAlmostFull', { tier: 'hot' })).toBe('firing');
    for (const end = Date.now() + 5000; hook.requests === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    expect(hook.requests).toBe(1);
    rmSync(join(t.mnt, 'half.bin')); // resolved: another notification, queued behind the hanging one

    const during = Math.min(timedWrite('w3.bin'), timedWrite('w4.bin'));
    // A daemon that waited for the webhook would never finish (it holds the request for an hour); the margin is for a loaded machine.
    expect(during, `write took ${during} ms with the webhook hanging, ${baseline} ms before`).toBeLessThan(baseline * 5 + 2000);
    // The evaluator goes on too, and nothing reached the receiver but the one request it holds.
    const evaluations = (await alerts()).evaluations;
    await new Promise((r) => setTimeout(r, 300));
    expect((await alerts()).evaluations).toBeGreaterThan(evaluations);
    expect(hook.requests).toBe(1);
    expect(hook.received).toEqual([]);
  }, 120_000);
});
