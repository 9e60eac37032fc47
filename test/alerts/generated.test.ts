// `tierfs metrics rules` and `tierfs metrics grafana`, run as commands without a mount:
// the rule file parses as YAML in Prometheus's shape and carries the overrides of the
// tierfs.yaml given; the dashboard parses as JSON; and every expression of both names
// only metrics that a real mount's /metrics exports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli, TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { ALERT_RULES } from '../../src/alerts/rules.js';
import { prometheusRulesYaml } from '../../src/alerts/prometheus-rules.js';
import { alertsSchema } from '../../src/config/alerts.js';
import { parseConfig, type ConfigError } from '../../src/config/load.js';

let t: TierfsMount;
let cold: ReturnType<typeof tempDir>;
/** metric families a mount with local and object tiers exports, with their types */
let exported: Map<string, string>;

beforeAll(async () => {
  cold = tempDir('tierfs-generated-cold-');
  t = new TierfsMount({
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 1, m: 1 }
    backends: [{ name: a, type: fs, root: ${cold.path}/a }, { name: b, type: fs, root: ${cold.path}/b }]
`,
    extraYaml: `metrics: { listen: "127.0.0.1:0", history: { enabled: false } }\n`,
  });
  await t.start();
  exported = (await t.scrape()).types;
}, 60_000);

afterAll(async () => {
  await t?.dispose();
  cold?.remove();
});

/** The tierfs metric names an expression reads: histogram series by their family. */
function namesIn(expr: string): string[] {
  return [...expr.matchAll(/\btierfs_[a-z0-9_]+/g)].map(([n]) => {
    const family = n.replace(/_(bucket|sum|count)$/, '');
    return family !== n && exported.get(family) === 'histogram' ? family : n;
  });
}

const FUNCTIONS = new Set(['sum', 'rate', 'increase', 'predict_linear', 'histogram_quantile', 'min_over_time', 'max_over_time']);

/** What can be checked of PromQL without Prometheus: balanced brackets, known functions, valid ranges, selectors. */
function checkPromQL(expr: string): void {
  let depth = 0;
  for (const c of expr) {
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    expect(depth, expr).toBeGreaterThanOrEqual(0);
  }
  expect(depth, expr).toBe(0);
  for (const [, fn] of expr.matchAll(/([a-z_]+)\s*\(/g)) if (!['by', 'on', 'and', 'unless'].includes(fn!)) expect(FUNCTIONS, `${fn} in ${expr}`).toContain(fn);
  for (const [, range] of expr.matchAll(/\[([^\]]+)\]/g)) expect(range, expr).toMatch(/^(\d+[dhms])+$|^\$__rate_interval$/);
  for (const [, matchers] of expr.matchAll(/\{([^}]*)\}/g)) for (const m of matchers!.split(', ')) expect(m, expr).toMatch(/^[a-z_]+(=|!=|=~)"[^"]*"$/);
}

describe('the Prometheus rule file', () => {
  it('is YAML in Prometheus\'s shape, one rule per enabled built-in rule, each naming only exported metrics', async () => {
    const dir = tempDir('tierfs-rules-');
    try {
      writeFileSync(
        join(dir.path, 'tierfs.yaml'),
        `dataDir: ./data
tiers: [{ name: hot, kind: local, volumes: [./hot] }]
alerts:
  rules:
    TierfsTierFillingUp: off
    TierfsRecallSlow: { threshold: 2500ms, for: 30m }
`,
      );
      const r = await runCli(['metrics', 'rules'], { cwd: dir.path });
      expect(r.code, r.stderr).toBe(0);
      const file = parse(r.stdout) as { groups: { name: string; rules: Record<string, unknown>[] }[] };
      expect(file.groups).toHaveLength(1);
      const rules = file.groups[0]!.rules as { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }[];
      expect(rules.map((x) => x.alert)).toEqual(ALERT_RULES.map((x) => x.name).filter((n) => n !== 'TierfsTierFillingUp'));
      for (const rule of rules) {
        expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
        expect(['warning', 'critical']).toContain(rule.labels.severity);
        expect(rule.for).toMatch(/^(\d+[dhms])+$/);
        expect(rule.annotations.summary.length).toBeGreaterThan(0);
        expect(rule.annotations.runbook.length).toBeGreaterThan(0);
        checkPromQL(rule.expr);
        const names = namesIn(rule.expr);
        expect(names.length, rule.expr).toBeGreaterThan(0);
        for (const n of names) expect(exported.has(n), `${rule.alert}: ${n} is not exported`).toBe(true);
      }
      const slow = rules.find((x) => x.alert === 'TierfsRecallSlow')!;
      expect(slow.for).toBe('30m');
      expect(slow.expr).toBe('histogram_quantile(0.99, sum by (instance, le) (rate(tierfs_recall_first_byte_seconds_bucket[10m]))) > 2.5');

      // Without a configuration: the defaults, every rule.
      expect((parse(prometheusRulesYaml(alertsSchema.parse(undefined))) as typeof file).groups[0]!.rules.map((x) => x.alert)).toEqual(ALERT_RULES.map((x) => x.name));
    } finally {
      dir.remove();
    }
  });

  it('comes from a tierfs.yaml that names only rules that exist, with thresholds in their units', () => {
    const head = 'dataDir: ./data\ntiers: [{ name: hot, kind: local, volumes: [./hot] }]\nalerts:\n  rules:\n';
    const problems = (yaml: string) => {
      try {
        parseConfig(head + yaml, 'tierfs.yaml', '/');
        return [];
      } catch (err) {
        return (err as ConfigError).problems.map((p) => `${p.line}:${p.key}: ${p.message}`);
      }
    };
    expect(problems('    TierfsNoSuchRule: off\n')).toEqual(['5:alerts.rules.TierfsNoSuchRule: unknown key "TierfsNoSuchRule"']);
    expect(problems('    TierfsTierAlmostFull: { threshold: 2h }\n')[0]).toMatch(/^5:alerts\.rules\.TierfsTierAlmostFull\.threshold: expected a percentage/);
    expect(problems('    TierfsBackendDown: { threshold: 1 }\n')[0]).toMatch(/unknown key "threshold"/); // a rule without a threshold
    expect(problems('    TierfsTierAlmostFull: { for: 1m, threshold: 90%, typo: 1 }\n')[0]).toMatch(/^5:.*unknown key "typo"/);
    const cfg = parseConfig(head + '    TierfsTierAlmostFull: { for: 1m, threshold: 90% }\n    TierfsStripesAtRisk: false\n    TierfsMoveQueueStuck: { threshold: 12h }\n', 'tierfs.yaml', '/');
    expect(cfg.alerts.rules).toMatchObject({ TierfsTierAlmostFull: { for: 60_000, threshold: 0.9 }, TierfsStripesAtRisk: { enabled: false }, TierfsMoveQueueStuck: { threshold: 12 * 3_600_000 } });
    expect(cfg.alerts).toMatchObject({ enabled: true, interval: 30_000, webhooks: [], keepHistory: 10_000 });
  });
});

describe('the Grafana dashboard', () => {
  it('is JSON with panels for tiers, I/O, moves, the cache hit ratio by count and by bytes, and object stores; every query names only exported metrics', async () => {
    const r = await runCli(['metrics', 'grafana'], { cwd: t.root });
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { title: string; panels: { type: string; title: string; targets?: { expr: string; refId: string }[] }[]; templating: { list: { name: string }[] } };
    expect(d.title).toBe('tierfs');
    expect(d.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
    const panels = d.panels.filter((p) => p.type === 'timeseries');
    const titles = panels.map((p) => p.title);
    for (const want of [/Tier use/, /Read throughput/, /Write throughput/, /Moves by result/, /hit ratio \(cells\)/, /hit ratio \(bytes\)/, /Object-store requests/, /Object-store latency/, /Object-store errors/]) {
      expect(titles.some((x) => want.test(x)), String(want)).toBe(true);
    }
    const ids = d.panels.map((p) => (p as { id?: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.targets!.length).toBeGreaterThan(0);
      for (const target of p.targets!) {
        checkPromQL(target.expr);
        expect(target.expr, 'every selector is limited to the chosen hosts').not.toMatch(/\btierfs_[a-z0-9_]+(?!\{)(?![a-z0-9_])/);
        for (const n of namesIn(target.expr)) expect(exported.has(n), `${p.title}: ${n} is not exported`).toBe(true);
      }
    }
  });
});
