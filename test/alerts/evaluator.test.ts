// The pieces of alerting without a mount: expressions evaluated as PromQL would (rates
// over counter resets, predict_linear, histogram quantiles, vector matching, offsets), the
// pending → firing → resolved life of an alert, the evaluator's state kept in a real
// catalog across a restart, and the webhook sender's retries, back-off and bounded queue.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { pino } from 'pino';
import { Catalog } from '../../src/catalog/catalog.js';
import { AlertStore } from '../../src/catalog/alerts.js';
import {
  bin, evaluate, histogramQuantile, increase, metric, num, predictLinear, rate, sumBy, toPromQL, type EvalSource, type SeriesSamples,
} from '../../src/alerts/expr.js';
import { AlertStates } from '../../src/alerts/state.js';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import { effectiveRules } from '../../src/alerts/rules.js';
import { MAX_ATTEMPTS, WebhookSender, type AlertNotification } from '../../src/alerts/webhooks.js';
import { definitionOf, type MetricName } from '../../src/metrics/definitions.js';
import type { Reading, Sample } from '../../src/metrics/registry.js';
import { tempDir } from '../helpers/tmp.js';
import { MetricsHistoryStore } from '../../src/catalog/metrics.js';
import { MetricsHistory } from '../../src/metrics/history.js';
import { historySeed } from '../../src/alerts/seed.js';

const MIN = 60_000;
/** the evaluator's log lines are not what these tests look at */
const quiet = pino({ level: 'silent' });

/** An evaluation source from series written out by hand. */
function source(now: number, series: Record<string, SeriesSamples[]>, bounds: readonly number[] = []): EvalSource {
  return { now, series: (n) => series[n] ?? [], bounds: () => bounds };
}

describe('expressions, evaluated and rendered from one tree', () => {
  it('rate and increase over a counter reset; comparisons filter; division matches series by their labels', () => {
    const now = 10 * MIN;
    const s = source(now, {
      errors: [{ labels: { backend: 'a' }, samples: [{ t: 0, value: 10 }, { t: 5 * MIN, value: 40 }, { t: 10 * MIN, value: 12 }] }],
      requests: [
        { labels: { backend: 'a' }, samples: [{ t: 0, value: 100 }, { t: 10 * MIN, value: 700 }] },
        { labels: { backend: 'b' }, samples: [{ t: 0, value: 100 }, { t: 10 * MIN, value: 200 }] },
      ],
    });
    // 30 before the restart, 12 after it
    expect(evaluate(increase('errors', 15 * MIN), s)).toEqual([{ labels: { backend: 'a' }, value: 42 }]);
    const ratio = bin('/', rate('errors', 15 * MIN), rate('requests', 15 * MIN));
    expect(evaluate(ratio, s)).toEqual([{ labels: { backend: 'a' }, value: 42 / 600 }]);
    expect(evaluate(bin('>', ratio, num(0.05)), s)).toHaveLength(1);
    expect(evaluate(bin('>', ratio, num(0.1)), s)).toEqual([]);
    expect(toPromQL(bin('>', ratio, num(0.05)))).toBe('(rate(errors[15m]) / rate(requests[15m])) > 0.05');
    // A range that holds one sample has no rate (as in Prometheus).
    expect(evaluate(rate('requests', MIN), s)).toEqual([]);
  });

  it('predict_linear is the least-squares line through the range, from now', () => {
    const now = 3 * 3_600_000;
    const samples = [0, 1, 2, 3].map((h) => ({ t: h * 3_600_000, value: 100 + 50 * h }));
    const s = source(now, { used: [{ labels: { tier: 'hot' }, samples }] });
    expect(evaluate(predictLinear('used', 6 * 3_600_000, 3600), s)[0]!.value).toBeCloseTo(300, 9);
    // Only what is in the range: the last 90 minutes are the samples at 2 h and 3 h.
    expect(evaluate(predictLinear('used', 90 * MIN, 7200), s)[0]!.value).toBeCloseTo(350, 9);
    expect(toPromQL(predictLinear('used', 6 * 3_600_000, 86_400))).toBe('predict_linear(used[6h], 86400)');
  });

  it('histogram_quantile over the buckets\' increase within the range, summed by the labels asked for', () => {
    const bounds = [0.1, 1, 10];
    const now = 10 * MIN;
    const h = (t: number, counts: number[]) => ({ t, value: counts.reduce((a, b) => a + b, 0), counts });
    const s = source(now, {
      lat: [
        { labels: { op: 'get', tier: 'cold' }, samples: [h(0, [100, 0, 0, 0]), h(10 * MIN, [100, 90, 0, 0])] },
        { labels: { op: 'put', tier: 'cold' }, samples: [h(0, [0, 0, 0, 0]), h(10 * MIN, [0, 0, 10, 0])] },
      ],
    }, bounds);
    // 100 new observations: 90 in (0.1, 1], 10 in (1, 10]; p99 is 9/10 into the last bucket
    // (a range is left-open, as in Prometheus 3: [10m] would not reach the sample at 0)
    const q = histogramQuantile(0.99, 'lat', ['instance', 'tier'], 15 * MIN);
    expect(evaluate(q, s)).toEqual([{ labels: { tier: 'cold' }, value: expect.closeTo(1 + 9 * 0.9, 9) }]);
    expect(toPromQL(q)).toBe('histogram_quantile(0.99, sum by (instance, tier, le) (rate(lat_bucket[15m])))');
    expect(evaluate(histogramQuantile(0.99, 'lat', [], 10 * MIN), s)).toEqual([]);
  });

  it('and keeps the left series that have a match; sum by drops what is not named; offset looks back', () => {
    const now = 6 * 3_600_000;
    const s = source(now, {
      a: [{ labels: { tier: 'hot' }, samples: [{ t: now, value: 1 }] }, { labels: { tier: 'cold' }, samples: [{ t: now, value: 2 }] }],
      b: [{ labels: { tier: 'cold' }, samples: [{ t: now, value: 0 }] }],
      q: [{ labels: {}, samples: [{ t: 0, value: 5 }, { t: 2 * 3_600_000, value: 7 }, { t: now, value: 6 }] }],
    });
    expect(evaluate(bin('and', metric('a'), metric('b')), s)).toEqual([{ labels: { tier: 'cold' }, value: 2 }]);
    expect(evaluate(bin('unless', metric('a'), metric('b')), s)).toEqual([{ labels: { tier: 'hot' }, value: 1 }]);
    expect(evaluate(sumBy(['instance'], metric('a')), s)).toEqual([{ labels: {}, value: 3 }]);
    expect(evaluate(metric('q', undefined, 6 * 3_600_000), s)).toEqual([{ labels: {}, value: 5 }]);
    expect(evaluate(metric('q', undefined, 4 * 3_600_000), s)).toEqual([{ labels: {}, value: 7 }]);
    // nothing within the 5 minutes before 3 h ago
    expect(evaluate(metric('q', undefined, 3 * 3_600_000), s)).toEqual([]);
    expect(toPromQL(metric('q', [{ label: 'code', op: '!=', value: 'NotFound' }], 6 * 3_600_000))).toBe('q{code!="NotFound"} offset 6h');
  });
});

describe('the life of an alert', () => {
  it('goes pending, fires after its for:, resolves; one that ends before firing goes inactive; without a for: it fires at once', () => {
    const states = new AlertStates();
    const run = (results: { labels: Record<string, string>; value: number }[], now: number, forMs = 10 * MIN) =>
      states.step({ rule: 'R', severity: 'warning', forMs, results }, now).transitions.map((t) => `${t.labels.tier}:${t.state}`);
    const hot = { labels: { tier: 'hot' }, value: 1 };
    const warm = { labels: { tier: 'warm' }, value: 1 };
    expect(run([hot], 0)).toEqual(['hot:pending']);
    expect(run([hot, warm], 5 * MIN)).toEqual(['warm:pending']);
    expect(run([hot, warm], 10 * MIN)).toEqual(['hot:firing']);
    expect(run([hot], 11 * MIN)).toEqual(['warm:inactive']);
    expect(run([hot], 30 * MIN)).toEqual([]);
    expect(run([], 31 * MIN)).toEqual(['hot:resolved']);
    expect(run([warm], 32 * MIN, 0)).toEqual(['warm:firing']);
  });
});

describe('the evaluator', () => {
  let dir: ReturnType<typeof tempDir>;
  let catalog: Catalog;
  beforeEach(() => {
    dir = tempDir('tierfs-alerts-');
    catalog = new Catalog(join(dir.path, 'catalog.db'));
  });
  afterEach(() => {
    catalog.close();
    dir.remove();
  });

  /** The registry's readings, set by the test. */
  const values = new Map<string, Sample[]>();
  const reader = {
    async read(name: MetricName): Promise<Reading> {
      const def = definitionOf(name)!;
      if (def.type === 'histogram') return { type: 'histogram', bounds: def.buckets ?? [], samples: [] };
      return { type: def.type, samples: values.get(name) ?? [] };
    },
  };

  it('keeps its alerts in the catalog: a restarted evaluator goes on firing without announcing again; a rule turned off forgets its alerts', async () => {
    let now = Date.UTC(2026, 0, 1);
    values.set('tierfs_stripes_at_risk', [{ labels: { tier: 'cold' }, value: 3 }]);
    values.set('tierfs_backend_up', [{ labels: { tier: 'cold', backend: 'a' }, value: 0 }]);
    const store = new AlertStore(catalog.db, 10);
    const make = (overrides = {}) => new AlertEvaluator({ source: reader, store, rules: effectiveRules(overrides), mountpoint: '/m', now: () => now, log: quiet });
    const first = make();
    expect((await first.evaluate()).map((t) => `${t.rule}:${t.state}`)).toEqual(['TierfsBackendDown:pending', 'TierfsStripesAtRisk:firing']);
    now += 5 * MIN;
    expect((await first.evaluate()).map((t) => `${t.rule}:${t.state}`)).toEqual(['TierfsBackendDown:firing']);

    const second = make();
    now += MIN;
    expect(await second.evaluate()).toEqual([]);
    expect(second.status().active.map((a) => [a.rule, a.state, a.value])).toEqual([['TierfsBackendDown', 'firing', 0], ['TierfsStripesAtRisk', 'firing', 3]]);
    expect(second.status().active[1]!.summary).toBe('3 stripes of tier cold have fewer than m spare cells');

    const third = make({ TierfsStripesAtRisk: { enabled: false } });
    expect(third.status().active.map((a) => a.rule)).toEqual(['TierfsBackendDown']);
    // Its alert ended, as the history says: not left open for ever.
    expect(store.recent(1)[0]).toMatchObject({ rule: 'TierfsStripesAtRisk', state: 'resolved' });
    expect(third.firingByRule().find((r) => r.rule === 'TierfsBackendDown')).toEqual({ rule: 'TierfsBackendDown', severity: 'critical', firing: 1 });
    values.set('tierfs_backend_up', [{ labels: { tier: 'cold', backend: 'a' }, value: 1 }]);
    now += MIN;
    expect((await third.evaluate()).map((t) => `${t.rule}:${t.state}`)).toEqual(['TierfsBackendDown:resolved']);
    // The history is bounded (10 here), newest first.
    for (let i = 0; i < 10; i++) {
      values.set('tierfs_backend_up', [{ labels: { tier: 'cold', backend: 'a' }, value: i % 2 }]);
      now += MIN;
      await third.evaluate();
    }
    const recent = store.recent(100);
    expect(recent).toHaveLength(10);
    expect(recent[0]!.timeMs).toBe(now);
  });

  it('a rule turned off while its alert fires ends the alert: the webhooks hear it resolved, a pending one inactive', async () => {
    let now = Date.UTC(2026, 0, 1);
    values.set('tierfs_stripes_at_risk', [{ labels: { tier: 'cold' }, value: 3 }]);
    values.set('tierfs_backend_up', [{ labels: { tier: 'cold', backend: 'a' }, value: 0 }]);
    const heard: string[] = [];
    const sender = { send: (n: AlertNotification) => heard.push(`${n.alert}:${n.state}`), names: [] } as unknown as WebhookSender;
    const evaluator = new AlertEvaluator({ source: reader, store: new AlertStore(catalog.db, 10), rules: effectiveRules({}), sender, mountpoint: '/m', now: () => now, log: quiet });
    await evaluator.evaluate();
    now += MIN;
    expect(heard).toEqual(['TierfsBackendDown:pending', 'TierfsStripesAtRisk:firing']);
    evaluator.setRules(effectiveRules({ TierfsStripesAtRisk: { enabled: false }, TierfsBackendDown: { enabled: false } }));
    expect(heard.slice(2).sort()).toEqual(['TierfsBackendDown:inactive', 'TierfsStripesAtRisk:resolved']);
    expect(evaluator.status().active).toEqual([]);
  });
});

describe('the evaluator after a restart', () => {
  let dir: ReturnType<typeof tempDir>;
  let catalog: Catalog;
  beforeEach(() => {
    dir = tempDir('tierfs-alerts-seed-');
    catalog = new Catalog(join(dir.path, 'catalog.db'));
  });
  afterEach(() => {
    catalog.close();
    dir.remove();
  });

  it('begins its ranges with the metrics history: a firing forecast stays firing, instead of resolving for want of samples', async () => {
    let now = Date.UTC(2026, 0, 1);
    const values = new Map<string, Sample[]>();
    const reader = {
      async read(name: MetricName): Promise<Reading> {
        const def = definitionOf(name)!;
        return def.type === 'histogram' ? { type: 'histogram', bounds: def.buckets ?? [], samples: [] } : { type: def.type, samples: values.get(name) ?? [] };
      },
    };
    const history = new MetricsHistory(new MetricsHistoryStore(catalog.db), reader, { now: () => now });
    const store = new AlertStore(catalog.db);
    const only = { TierfsTierAboveHighWatermark: { enabled: false }, TierfsTierAlmostFull: { enabled: false }, TierfsTierFillingUpFast: { enabled: false } };
    const evaluator = (seeded: boolean) =>
      new AlertEvaluator({ source: reader, store, rules: effectiveRules(only), mountpoint: '/m', now: () => now, log: quiet, seed: seeded ? historySeed(new MetricsHistoryStore(catalog.db)) : undefined });
    values.set('tierfs_tier_capacity_bytes', [{ labels: { tier: 'hot' }, value: 1000 }]);
    // Two hours of a tier filling from 50% by 2.5 bytes a minute (300 an hour: full within a day), sampled and evaluated each minute.
    const first = evaluator(true);
    const seen: string[] = [];
    for (let m = 0; m <= 120; m++) {
      values.set('tierfs_tier_used_bytes', [{ labels: { tier: 'hot' }, value: 500 + 2.5 * m }]);
      await history.sample();
      seen.push(...(await first.evaluate()).map((t) => `${m}:${t.state}`));
      now += MIN;
    }
    expect(seen).toEqual(['41:pending', '101:firing']); // past the 60% guard at minute 41, an hour later firing
    // The daemon restarts a minute later: the history gives the new evaluator its 6 hours.
    now += MIN;
    expect(await evaluator(true).evaluate()).toEqual([]);
    expect(store.active().map((a) => [a.rule, a.state])).toEqual([['TierfsTierFillingUp', 'firing']]);
    // Without the history, the forecast has one sample and cannot hold: the alert would resolve.
    expect((await evaluator(false).evaluate()).map((t) => t.state)).toEqual(['resolved']);
  });
});

describe('the webhook sender', () => {
  let server: Server;
  let url: string;
  let statuses: number[];
  let got: AlertNotification[];
  beforeEach(async () => {
    statuses = [];
    got = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = statuses.shift() ?? 200;
        if (status === 200) got.push(JSON.parse(Buffer.concat(chunks).toString()) as AlertNotification);
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  const note = (alert: string, state: AlertNotification['state'] = 'firing') => ({ alert, state }) as AlertNotification;
  const counters = () => {
    const registry = new Registry();
    return {
      registry,
      failures: new Counter({ name: 'f', help: 'f', labelNames: ['webhook'], registers: [registry] }),
      notifications: new Counter({ name: 'n', help: 'n', labelNames: ['webhook', 'result'], registers: [registry] }),
    };
  };
  const value = async (c: Counter<string>, labels: Record<string, string>) => (await c.get()).values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value ?? 0;

  it('retries a failed request with back-off, keeps the order, gives up after its attempts, and counts each failure', async () => {
    const m = counters();
    const hook = { url, name: 'h', headers: { authorization: 'Bearer x' }, send: ['firing', 'resolved'] as ('firing' | 'resolved')[], timeout: 2000 };
    const sender = new WebhookSender([hook], m, { baseDelayMs: 5 });
    statuses = [500, 502];
    const started = Date.now();
    sender.send(note('A'));
    sender.send(note('B', 'pending')); // not asked for
    sender.send(note('B', 'inactive')); // nor is its end, which only who hears of pending alerts hears
    sender.send(note('C', 'resolved'));
    // (the receiver keeps a notification before it answers: wait for the sender to have heard the answer)
    const sent = () => value(m.notifications, { webhook: 'h', result: 'sent' });
    for (const end = Date.now() + 5000; (await sent()) < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
    expect(got.map((n) => `${n.alert}:${n.state}`)).toEqual(['A:firing', 'C:resolved']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15); // 5 ms, then 10 ms
    expect(await value(m.failures, { webhook: 'h' })).toBe(2);
    expect(await value(m.notifications, { webhook: 'h', result: 'sent' })).toBe(2);

    statuses = new Array<number>(MAX_ATTEMPTS).fill(503);
    sender.send(note('D'));
    sender.send(note('E'));
    for (const end = Date.now() + 10_000; (await sent()) < 3 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
    expect(got.map((n) => n.alert)).toEqual(['A', 'C', 'E']);
    expect(await value(m.notifications, { webhook: 'h', result: 'gave_up' })).toBe(1);
    expect(await value(m.failures, { webhook: 'h' })).toBe(2 + MAX_ATTEMPTS);
    await sender.close();
  });

  it('a webhook whose header is fixed while it fails sends what it had not delivered, with the new header, in order', async () => {
    const m = counters();
    const heard: string[] = [];
    const strict = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.headers.authorization !== 'Bearer good') return void res.writeHead(401).end();
        heard.push((JSON.parse(Buffer.concat(chunks).toString()) as AlertNotification).alert);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => strict.listen(0, '127.0.0.1', r));
    const hook = { url: `http://127.0.0.1:${(strict.address() as AddressInfo).port}/`, name: 'h', send: ['firing'] as 'firing'[], timeout: 2000 };
    const sender = new WebhookSender([{ ...hook, headers: { authorization: 'Bearer expired' } }], m, { baseDelayMs: 20, maxDelayMs: 50 });
    try {
      sender.send(note('A'));
      sender.send(note('B'));
      for (const end = Date.now() + 5000; (await value(m.failures, { webhook: 'h' })) < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
      sender.setHooks([{ ...hook, headers: { authorization: 'Bearer good' } }]);
      const sent = () => value(m.notifications, { webhook: 'h', result: 'sent' });
      for (const end = Date.now() + 5000; (await sent()) < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
      expect(heard).toEqual(['A', 'B']);
      expect(await value(m.notifications, { webhook: 'h', result: 'abandoned' })).toBe(0);
      expect(await value(m.notifications, { webhook: 'h', result: 'gave_up' })).toBe(0);
      await sender.close();
    } finally {
      await new Promise<void>((r) => strict.close(() => r()));
    }
  });

  it('what a stop leaves unsent is kept in the catalog and sent by the next mount, in order, unless a day old', async () => {
    const m = counters();
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const dir = tempDir('tierfs-webhook-backlog-');
    const catalog = new Catalog(join(dir.path, 'catalog.db'));
    try {
      const store = new AlertStore(catalog.db, 10);
      const down = new WebhookSender([{ name: 'pager', url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/`, send: ['firing', 'resolved'], headers: {}, timeout: 60_000 }], m);
      down.send(note('A'));
      down.send(note('B', 'resolved'));
      store.keepUnsent(await down.close(10));
      // One kept from a stop two days ago (alerting off since): the past pages nobody.
      store.keepUnsent([{ webhook: 'pager', notification: { ...note('OLD'), time: new Date(Date.now() - 2 * 86_400_000).toISOString() } }]);
      // The next mount: the receiver back at another address, under the same name.
      const up = new WebhookSender([{ name: 'pager', url, send: ['firing', 'resolved'], headers: {}, timeout: 2000 }], m);
      up.resend(store.takeUnsent<AlertNotification>());
      for (const end = Date.now() + 5000; got.length < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 100));
      expect(got.map((n) => `${n.alert}:${n.state}`)).toEqual(['A:firing', 'B:resolved']);
      expect(store.takeUnsent()).toEqual([]); // taken once
      await up.close();
    } finally {
      catalog.close();
      dir.remove();
      hang.closeAllConnections();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });

  it('keeps a bounded queue per webhook: the oldest are dropped while the receiver holds one request', async () => {
    const m = counters();
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const hook = { url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/`, send: ['firing'] as 'firing'[], headers: {}, timeout: 60_000 };
    const sender = new WebhookSender([hook], m, { queueLimit: 3 });
    const started = Date.now();
    for (let i = 0; i < 10; i++) sender.send(note(`A${i}`));
    expect(Date.now() - started).toBeLessThan(500); // sending never waits (for the receiver: 60 s)
    expect(await value(m.notifications, { webhook: new URL(hook.url).host, result: 'dropped' })).toBe(7);
    // The three left at the stop are handed back, to be kept for the next mount.
    const left = await sender.close(10);
    expect(left.map((l) => [l.webhook, l.notification.alert])).toEqual([[hook.url, 'A7'], [hook.url, 'A8'], [hook.url, 'A9']]);
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
  });
});
