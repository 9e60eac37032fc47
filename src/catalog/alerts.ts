// The catalog's statements for alerts (migration 8): the alerts pending or firing now,
// and the bounded list of their changes. Kept apart from catalog.ts: none of it is on
// the mount's path; it takes the catalog's database.
import type Database from 'better-sqlite3';

export type ActiveState = 'pending' | 'firing';
export type AlertEventState = ActiveState | 'resolved' | 'inactive';

export interface StoredAlert {
  rule: string;
  /** JSON, keys sorted */
  labels: string;
  severity: string;
  state: ActiveState;
  activeSince: number;
  firedAt: number | null;
  value: number;
}

export interface AlertEvent {
  id: number;
  timeMs: number;
  rule: string;
  labels: string;
  severity: string;
  state: AlertEventState;
  value: number;
  activeSince: number;
}

export class AlertStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    public keepEvents = 10_000,
  ) {
    this.s = {
      active: db.prepare(
        `SELECT rule, labels, severity, state, active_since AS activeSince, fired_at AS firedAt, value FROM alerts ORDER BY rule, labels`,
      ),
      put: db.prepare(
        `INSERT INTO alerts (rule, labels, severity, state, active_since, fired_at, value)
         VALUES (@rule, @labels, @severity, @state, @activeSince, @firedAt, @value)
         ON CONFLICT (rule, labels) DO UPDATE SET severity = excluded.severity, state = excluded.state,
           active_since = excluded.active_since, fired_at = excluded.fired_at, value = excluded.value`,
      ),
      remove: db.prepare('DELETE FROM alerts WHERE rule = ? AND labels = ?'),
      event: db.prepare(
        `INSERT INTO alert_events (time_ms, rule, labels, severity, state, value, active_since)
         VALUES (@timeMs, @rule, @labels, @severity, @state, @value, @activeSince)`,
      ),
      trim: db.prepare('DELETE FROM alert_events WHERE id <= ?'),
      recent: db.prepare(
        `SELECT id, time_ms AS timeMs, rule, labels, severity, state, value, active_since AS activeSince
         FROM alert_events ORDER BY id DESC LIMIT ?`,
      ),
      removeRule: db.prepare('DELETE FROM alerts WHERE rule = ?'),
      keepUnsent: db.prepare('INSERT INTO webhook_backlog (webhook, notification) VALUES (?, ?)'),
      unsent: db.prepare('SELECT webhook, notification FROM webhook_backlog ORDER BY id'),
      clearUnsent: db.prepare('DELETE FROM webhook_backlog'),
    };
  }

  /** Notifications a stop left unsent (WebhookSender.close), for the next mount to send. */
  keepUnsent(left: readonly { webhook: string; notification: unknown }[]): void {
    this.db.transaction(() => {
      for (const l of left) this.s.keepUnsent.run(l.webhook, JSON.stringify(l.notification));
    })();
  }

  /** What the last stop left unsent, oldest first; taken (the rows go). */
  takeUnsent<T>(): { webhook: string; notification: T }[] {
    return this.db.transaction(() => {
      const rows = this.s.unsent.all() as { webhook: string; notification: string }[];
      this.s.clearUnsent.run();
      return rows.map((r) => ({ webhook: r.webhook, notification: JSON.parse(r.notification) as T }));
    })();
  }

  /** The alerts pending or firing, as last saved. */
  active(): StoredAlert[] {
    return this.s.active.all() as StoredAlert[];
  }

  /** One evaluation's changes, in one transaction: the alerts' new states and an event for each change. */
  apply(changes: { alert: StoredAlert; event?: Omit<AlertEvent, 'id'>; gone?: boolean }[]): void {
    if (changes.length === 0) return;
    this.db.transaction(() => {
      for (const c of changes) {
        if (c.gone) this.s.remove.run(c.alert.rule, c.alert.labels);
        else this.s.put.run(c.alert);
        if (c.event) {
          const id = Number(this.s.event.run(c.event).lastInsertRowid);
          if (id > this.keepEvents) this.s.trim.run(id - this.keepEvents);
        }
      }
    })();
  }

  /** Alerts of rules that are no longer evaluated (turned off, or gone from this version). */
  forgetRule(rule: string): void {
    this.s.removeRule.run(rule);
  }

  /** The latest changes, newest first. */
  recent(limit: number): AlertEvent[] {
    return this.s.recent.all(limit) as AlertEvent[];
  }
}
