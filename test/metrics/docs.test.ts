// docs/MONITORING.md lists every metric as the definitions have it: its reference is
// the generated one, word for word, so the document cannot drift from the code.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DEFINITIONS as METRICS } from '../../src/metrics/definitions.js';
import { alertsMarkdown, metricsMarkdown } from '../../src/metrics/docs.js';
import { historySeries } from '../../src/metrics/history.js';

const doc = readFileSync(new URL('../../docs/MONITORING.md', import.meta.url), 'utf8');

describe('docs/MONITORING.md', () => {
  it('holds the reference generated from the definitions (tierfs metrics list --markdown)', () => {
    const block = /<!-- metrics:begin -->\n([\s\S]*)<!-- metrics:end -->/.exec(doc)?.[1];
    expect(block, 'the metrics:begin/end markers').toBeDefined();
    expect(block).toBe(metricsMarkdown());
  });

  it('holds the alert rules generated from their definitions (tierfs metrics rules --markdown), and the webhook payload', () => {
    const block = /<!-- alerts:begin -->\n([\s\S]*)<!-- alerts:end -->/.exec(doc)?.[1];
    expect(block, 'the alerts:begin/end markers').toBeDefined();
    expect(block).toBe(alertsMarkdown());
    for (const key of ['"alert"', '"state"', '"labels"', '"value"', '"activeSince"', '"runbook"']) expect(doc).toContain(key);
  });

  it('names every metric and every history series, each with what a healthy value looks like', () => {
    for (const m of METRICS) {
      expect(doc).toContain(`\`${m.name}\``);
      expect(m.healthy.length).toBeGreaterThan(0);
    }
    for (const s of historySeries()) expect(doc).toContain(`\`${s.name}\``);
  });

  it('has a troubleshooting section for object storage covering slow recalls, throttling, a backend down, degraded reads and scrub damage', () => {
    const section = doc.slice(doc.indexOf('## Troubleshooting object storage'));
    for (const topic of ['Slow recalls', 'Throttling', 'A backend down', 'Degraded reads', 'Scrub damage']) expect(section).toContain(`**${topic}.**`);
  });
});

describe('the definitions', () => {
  it('name each metric once, in Prometheus style, with units in the name where they have one', () => {
    const names = METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRICS) {
      expect(m.name).toMatch(/^tierfs_[a-z0-9_]+$/);
      if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
      if (m.unit === 'bytes') expect(m.name).toMatch(/_bytes(_total)?$/);
      if (m.unit === 'seconds') expect(m.name).toMatch(/_seconds(_total)?$/);
      if (m.type === 'histogram') expect(m.buckets?.length).toBeGreaterThan(0);
      for (const l of m.history?.by ?? []) expect(m.labels).toContain(l);
    }
  });
});
