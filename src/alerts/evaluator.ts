// The daemon's built-in alerting: at each tick, read the metrics the rules name from the
// registry (one reading each), keep as many past samples as the rules' ranges need, and
// evaluate every rule; the changes it makes (pending, firing, resolved) are kept in the
// catalog, logged as one line each, and queued for the webhooks. The clock is passed
// in, so tests run hours of alerting in seconds.
import type { Logger } from 'pino';
import type { AlertEvent, AlertStore, StoredAlert } from '../catalog/alerts.js';
import { moduleLogger } from '../log.js';
import { definitionOf, type MetricName } from '../metrics/definitions.js';
import type { Reading } from '../metrics/registry.js';
import { evaluate, lookbackOf, metricsOf, toPromQL, type EvalSource, type Labels, type SeriesSamples, type TimedSample } from './expr.js';
import { renderTemplate, type EffectiveRule } from './rules.js';
import { AlertStates, labelsKey, type Transition } from './state.js';
import { HOST, type AlertNotification, type WebhookSender } from './webhooks.js';
import type { SeedSource } from './seed.js';

const defaultLog = moduleLogger('alerts');

/** Samples closer than this replace the last one rather than add to it: a window's size depends on its range, not on the tick. */
const MIN_SPACING_MS = 15_000;

export interface MetricReader {
  read(name: MetricName): Promise<Reading>;
}

export interface AlertEvaluatorDeps {
  source: MetricReader;
  store: AlertStore;
  rules: readonly EffectiveRule[];
  sender?: WebhookSender;
  mountpoint: string;
  /** past samples for the windows at the first evaluation (the metrics history) */
  seed?: SeedSource;
  now?: () => number;
  log?: Logger;
}

/** A rule as `tierfs alerts` shows it. */
export interface RuleInfo {
  name: string;
  severity: string;
  enabled: boolean;
  forMs: number;
  threshold: number | null;
  expr: string;
  summary: string;
  runbook: string;
  /** alerts of this rule pending or firing */
  pending: number;
  firing: number;
}

export interface ActiveAlert {
  rule: string;
  labels: Labels;
  severity: string;
  state: 'pending' | 'firing';
  value: number;
  activeSince: number;
  firedAt: number | null;
  summary: string;
}

export interface AlertsAnswer {
  /** the evaluator's clock at its last evaluation (null before the first) */
  evaluatedAt: number | null;
  evaluations: number;
  rules: RuleInfo[];
  active: ActiveAlert[];
  /** the latest changes, newest first */
  recent: (Omit<AlertEvent, 'labels'> & { labels: Labels })[];
  webhooks: string[];
}

interface Window {
  labels: Labels;
  samples: TimedSample[];
}

/** The history's row of a change. */
const eventOf = (t: Transition): Omit<AlertEvent, 'id'> => ({
  timeMs: t.timeMs, rule: t.rule, labels: labelsKey(t.labels), severity: t.severity, state: t.state, value: t.value, activeSince: t.activeSince,
});

export class AlertEvaluator {
  private readonly states: AlertStates;
  private rules: readonly EffectiveRule[] = [];
  private enabled: EffectiveRule[] = [];
  private readonly now: () => number;
  private readonly log: Logger;
  /** metric → how far back its samples are kept */
  private readonly keepMs = new Map<string, number>();
  /** metric → labels key → samples */
  private readonly windows = new Map<string, Map<string, Window>>();
  private evaluatedAt: number | null = null;
  private evaluations = 0;

  constructor(private readonly deps: AlertEvaluatorDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? defaultLog;
    this.states = new AlertStates(deps.store.active());
    this.setRules(deps.rules);
  }

  /**
   * The rules to evaluate from now on (at mount, and when a configuration is applied).
   * Alerts of rules turned off are no longer watched: they end — resolved if firing,
   * inactive if pending — as the webhooks and the history are told, so that no receiver
   * keeps an alert open that nothing will resolve. A rule's samples are kept across the
   * change; a metric that no rule named before starts with what the history holds of its range.
   */
  setRules(rules: readonly EffectiveRule[]): void {
    // (Turned off, a rule is still in the list, with its texts; one removed, only in the old list.)
    const known = new Map([...this.rules, ...rules].map((r) => [r.name, r]));
    this.rules = rules;
    this.enabled = rules.filter((r) => r.enabled);
    const named = new Set(this.keepMs.keys());
    this.keepMs.clear();
    for (const r of this.enabled) {
      for (const m of metricsOf(r.expr)) this.keepMs.set(m, Math.max(this.keepMs.get(m) ?? 0, lookbackOf(r.expr)));
    }
    for (const m of this.windows.keys()) if (!this.keepMs.has(m)) this.windows.delete(m);
    if (this.evaluations > 0) this.seed(this.now(), [...this.keepMs.keys()].filter((m) => !named.has(m)));
    const on = new Set(this.enabled.map((r) => r.name));
    const ended = this.states.active().filter((a) => !on.has(a.rule));
    const now = this.now();
    const changes = ended.map((a) => {
      const t: Transition = {
        rule: a.rule, labels: JSON.parse(a.labels) as Labels, severity: a.severity, state: a.state === 'firing' ? 'resolved' : 'inactive',
        value: a.value, activeSince: a.activeSince, timeMs: now,
      };
      const rule = known.get(a.rule);
      if (rule) this.announce(rule, t, ' (its rule was turned off)');
      return { alert: a, gone: true, event: eventOf(t) };
    });
    this.deps.store.apply(changes);
    for (const rule of new Set(ended.map((a) => a.rule))) {
      this.deps.store.forgetRule(rule);
      this.states.forgetRule(rule);
    }
  }

  /** Firing alerts per enabled rule (tierfs_alerts_firing). */
  firingByRule(): { rule: string; severity: string; firing: number }[] {
    const active = this.states.active();
    return this.enabled.map((r) => ({ rule: r.name, severity: r.severity, firing: active.filter((a) => a.rule === r.name && a.state === 'firing').length }));
  }

  /** One evaluation of every enabled rule; returns the changes it made. */
  async evaluate(): Promise<Transition[]> {
    const now = this.now();
    if (this.evaluations === 0) this.seed(now);
    for (const name of this.keepMs.keys()) this.record(name, await this.deps.source.read(name as MetricName), now);
    const src: EvalSource = {
      now,
      series: (name) => [...(this.windows.get(name)?.values() ?? [])] as SeriesSamples[],
      bounds: (name) => definitionOf(name)?.buckets ?? [],
    };
    const all: Transition[] = [];
    const changes: { alert: StoredAlert; event?: Omit<AlertEvent, 'id'>; gone?: boolean }[] = [];
    for (const rule of this.enabled) {
      let results;
      try {
        results = evaluate(rule.expr, src);
      } catch (err) {
        this.log.error({ rule: rule.name, err }, 'cannot evaluate an alert rule');
        continue;
      }
      const step = this.states.step({ rule: rule.name, severity: rule.severity, forMs: rule.forMs, results }, now);
      const byKey = new Map(step.transitions.map((t) => [labelsKey(t.labels), t]));
      for (const a of step.changed) {
        const t = byKey.get(a.labels);
        changes.push({ alert: a, event: t && eventOf(t) });
      }
      for (const a of step.gone) changes.push({ alert: a, gone: true, event: eventOf(byKey.get(a.labels)!) });
      for (const t of step.transitions) this.announce(rule, t);
      all.push(...step.transitions);
    }
    this.deps.store.apply(changes);
    this.evaluatedAt = now;
    this.evaluations++;
    return all;
  }

  /** One log line per change, and a notification to the webhooks. */
  private announce(rule: EffectiveRule, t: Transition, why = ''): void {
    const summary = renderTemplate(rule.summary, t.labels, t.value);
    const fields = { alert: t.rule, state: t.state, severity: t.severity, labels: t.labels, value: t.value, activeSince: new Date(t.activeSince).toISOString() };
    const level = t.state === 'firing' ? (t.severity === 'critical' ? 'error' : 'warn') : 'info';
    this.log[level](fields, `alert ${t.rule} ${t.state}${why}: ${summary}`);
    const n: AlertNotification = {
      version: 1,
      source: 'tierfs',
      host: HOST,
      mountpoint: this.deps.mountpoint,
      alert: t.rule,
      state: t.state,
      severity: t.severity,
      labels: t.labels,
      value: t.value,
      activeSince: new Date(t.activeSince).toISOString(),
      time: new Date(t.timeMs).toISOString(),
      summary,
      description: renderTemplate(rule.description, t.labels, t.value),
      runbook: renderTemplate(rule.runbook, t.labels, t.value),
      expr: toPromQL(rule.expr),
    };
    this.deps.sender?.send(n);
  }

  /** Windows begin with what the history kept of their range (samples before now only). */
  private seed(now: number, metrics: readonly string[] = [...this.keepMs.keys()]): void {
    if (!this.deps.seed) return;
    for (const name of metrics) {
      const keep = this.keepMs.get(name) ?? 0;
      if (keep === 0) continue;
      let series = this.windows.get(name);
      if (!series) this.windows.set(name, (series = new Map()));
      try {
        for (const s of this.deps.seed(name, now - keep, now)) {
          const samples = s.samples.filter((x) => x.t < now);
          if (samples.length > 0) series.set(labelsKey(s.labels), { labels: s.labels, samples: [...samples] });
        }
      } catch (err) {
        this.log.warn({ metric: name, err }, 'cannot read the metrics history for the alert rules; their ranges start empty');
      }
    }
  }

  /** The reading of a metric becomes the newest sample of each of its series; samples past the rules' ranges go. */
  private record(name: string, reading: Reading, now: number): void {
    const keep = this.keepMs.get(name) ?? 0;
    let series = this.windows.get(name);
    if (!series) this.windows.set(name, (series = new Map()));
    const add = (labels: Labels, sample: TimedSample) => {
      const key = labelsKey(labels);
      let w = series.get(key);
      if (!w) series.set(key, (w = { labels, samples: [] }));
      const last = w.samples[w.samples.length - 1];
      // The one before the last must stay at least MIN_SPACING_MS older than the new one.
      const before = w.samples[w.samples.length - 2];
      if (last && (last.t >= now || (before && now - before.t < MIN_SPACING_MS))) w.samples[w.samples.length - 1] = sample;
      else w.samples.push(sample);
      // Keep one sample older than the range: a range starting between two samples still has its first.
      let drop = 0;
      while (drop < w.samples.length - 1 && w.samples[drop + 1]!.t <= now - keep) drop++;
      if (drop > 0) w.samples.splice(0, drop);
    };
    if (reading.type === 'histogram') {
      for (const h of reading.samples) add(h.labels, { t: now, value: h.count, counts: h.counts });
    } else {
      for (const x of reading.samples) add(x.labels, { t: now, value: x.value });
    }
    // A series gone from the readings for longer than its range has nothing left to say.
    for (const [key, w] of series) if (w.samples[w.samples.length - 1]!.t <= now - keep - MIN_SPACING_MS) series.delete(key);
  }

  /** Rules, the alerts active now, and the latest changes (tierfs alerts). */
  status(recentLimit = 50): AlertsAnswer {
    const active = this.states.active();
    const rules: RuleInfo[] = this.rules.map((r) => ({
      name: r.name,
      severity: r.severity,
      enabled: r.enabled,
      forMs: r.forMs,
      threshold: r.threshold ?? null,
      expr: toPromQL(r.expr),
      summary: r.summary,
      runbook: r.runbook,
      pending: active.filter((a) => a.rule === r.name && a.state === 'pending').length,
      firing: active.filter((a) => a.rule === r.name && a.state === 'firing').length,
    }));
    const ruleOf = new Map(this.rules.map((r) => [r.name, r]));
    return {
      evaluatedAt: this.evaluatedAt,
      evaluations: this.evaluations,
      rules,
      active: active.map((a) => {
        const labels = JSON.parse(a.labels) as Labels;
        return {
          rule: a.rule, labels, severity: a.severity, state: a.state, value: a.value, activeSince: a.activeSince, firedAt: a.firedAt,
          summary: renderTemplate(ruleOf.get(a.rule)?.summary ?? '', labels, a.value),
        };
      }),
      recent: this.deps.store.recent(recentLimit).map((e) => ({ ...e, labels: JSON.parse(e.labels) as Labels })),
      webhooks: this.deps.sender?.names ?? [],
    };
  }
}
