// The life of an alert, as in Prometheus: a rule's condition holds for a set of labels →
// pending; it still holds after the rule's `for:` → firing; it no longer holds → resolved
// (or, if it never fired, inactive). Pure: the evaluator gives each rule's result at a
// time, and gets back the changes to keep, log and send.
import type { ActiveState, AlertEventState, StoredAlert } from '../catalog/alerts.js';
import type { Labels, VectorSample } from './expr.js';

export interface Transition {
  rule: string;
  labels: Labels;
  severity: string;
  state: AlertEventState;
  /** the condition's value at this change (for resolved: its last value while active) */
  value: number;
  activeSince: number;
  timeMs: number;
}

export interface RuleResult {
  rule: string;
  severity: string;
  forMs: number;
  /** the series for which the condition holds now */
  results: readonly VectorSample[];
}

/** Labels as stored: JSON with sorted keys. */
export const labelsKey = (labels: Labels) => JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))));

export class AlertStates {
  /** rule → labels key → alert */
  private readonly alerts = new Map<string, Map<string, StoredAlert>>();

  constructor(saved: readonly StoredAlert[] = []) {
    for (const a of saved) this.byRule(a.rule).set(a.labels, { ...a });
  }

  private byRule(rule: string): Map<string, StoredAlert> {
    let m = this.alerts.get(rule);
    if (!m) this.alerts.set(rule, (m = new Map()));
    return m;
  }

  /** A rule turned off: its alerts are no longer watched. */
  forgetRule(rule: string): void {
    this.alerts.delete(rule);
  }

  /** Every alert pending or firing. */
  active(): StoredAlert[] {
    return [...this.alerts.values()].flatMap((m) => [...m.values()]);
  }

  /**
   * One rule's result at `now`: the alerts it starts, fires and ends. `changed` are the
   * alerts whose stored row changes (state or value), `gone` those that ended.
   */
  step(r: RuleResult, now: number): { transitions: Transition[]; changed: StoredAlert[]; gone: StoredAlert[] } {
    const current = this.byRule(r.rule);
    const transitions: Transition[] = [];
    const changed: StoredAlert[] = [];
    const gone: StoredAlert[] = [];
    const seen = new Set<string>();
    const record = (a: StoredAlert, state: AlertEventState) =>
      transitions.push({ rule: a.rule, labels: JSON.parse(a.labels) as Labels, severity: a.severity, state, value: a.value, activeSince: a.activeSince, timeMs: now });

    for (const x of r.results) {
      const key = labelsKey(x.labels);
      seen.add(key);
      let a = current.get(key);
      if (!a) {
        a = { rule: r.rule, labels: key, severity: r.severity, state: 'pending', activeSince: now, firedAt: null, value: x.value };
        current.set(key, a);
        if (r.forMs > 0) record(a, 'pending'); // without a for:, it fires at once (as in Prometheus)
      } else a.value = x.value;
      if (a.state === 'pending' && now - a.activeSince >= r.forMs) {
        a.state = 'firing' satisfies ActiveState;
        a.firedAt = now;
        record(a, 'firing');
      }
      changed.push(a);
    }
    for (const [key, a] of current) {
      if (seen.has(key)) continue;
      current.delete(key);
      gone.push(a);
      record(a, a.state === 'firing' ? 'resolved' : 'inactive');
    }
    return { transitions, changed, gone };
  }

  /** A rule no longer evaluated: its alerts end without notice (they were not resolved, only no longer watched). */
  drop(rule: string): void {
    this.alerts.delete(rule);
  }
}
