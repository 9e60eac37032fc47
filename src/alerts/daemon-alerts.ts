// The alerting part of a daemon, put together from tierfs.yaml's alerts section: the
// rules as configured, the evaluator over the daemon's registry, the webhooks, the
// state kept in the catalog, and tierfs_alerts_firing.
import type Database from 'better-sqlite3';
import { BackgroundTask } from '../background-task.js';
import { AlertStore } from '../catalog/alerts.js';
import type { AlertsConfig } from '../config/alerts.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import { AlertEvaluator } from './evaluator.js';
import { effectiveRules } from './rules.js';
import { WebhookSender, type AlertNotification } from './webhooks.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('alerts');
import { historySeed } from './seed.js';
import { MetricsHistoryStore } from '../catalog/metrics.js';

export interface Alerting {
  evaluator: AlertEvaluator;
  task: BackgroundTask;
  /** the alerts section of a configuration applied while mounted (all of it but enabled) */
  apply(cfg: AlertsConfig): void;
  /** lets queued notifications go out for a moment, then stops; what is left is kept for the next mount */
  close(): Promise<void>;
}

export function startAlerting(cfg: AlertsConfig, deps: { db: Database.Database; registry: MetricsRegistry; mountpoint: string; history: boolean; now?: () => number }): Alerting | undefined {
  if (!cfg.enabled) return undefined;
  const { registry } = deps;
  const sender = new WebhookSender(cfg.webhooks, {
    failures: registry.counter('tierfs_alert_webhook_failures_total'),
    notifications: registry.counter('tierfs_alert_notifications_total'),
  });
  const store = new AlertStore(deps.db, cfg.keepHistory);
  // What the last stop left unsent goes out first.
  sender.resend(store.takeUnsent<AlertNotification>());
  const evaluator = new AlertEvaluator({
    source: registry,
    store,
    rules: effectiveRules(cfg.rules),
    sender,
    mountpoint: deps.mountpoint,
    // After a restart, ranges begin with the history's points (when it is kept).
    seed: deps.history ? historySeed(new MetricsHistoryStore(deps.db)) : undefined,
    now: deps.now,
  });
  registry.feed('tierfs_alerts_firing', () => evaluator.firingByRule().map((r) => ({ labels: { alert: r.rule, severity: r.severity }, value: r.firing })));
  // The task reads its interval from this object at each tick: apply() changes it in place.
  const every = { intervalMs: cfg.interval };
  const task = new BackgroundTask('alerts', () => evaluator.evaluate(), every);
  const apply = (next: AlertsConfig) => {
    evaluator.setRules(effectiveRules(next.rules));
    sender.setHooks(next.webhooks);
    store.keepEvents = next.keepHistory;
    every.intervalMs = next.interval;
    task.kick(); // evaluate under the new rules now, not at the end of the old interval
  };
  const close = async () => {
    const left = await sender.close();
    if (left.length === 0) return;
    // Never a reason for the stop itself to fail (it unmounts after this): a catalog that
    // cannot take them (its disk full: often why the daemon stops) loses them, and says so.
    try {
      store.keepUnsent(left);
      log.info({ notifications: left.length }, 'alert notifications not sent yet are kept for the next mount');
    } catch (err) {
      log.error({ err, notifications: left.length }, 'alert notifications not sent yet are lost: the catalog could not keep them');
    }
  };
  return { evaluator, task, apply, close };
}
