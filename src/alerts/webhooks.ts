// Alert changes sent to webhooks: one JSON POST per change, in order, per webhook. Each
// webhook has its own bounded queue and one request in flight, so a receiver that is
// down or hangs holds back only its own notifications: the evaluator only enqueues, and
// the mount never waits. A failed request is retried with exponential back-off; after
// MAX_ATTEMPTS the notification is given up. Failures are counted (metrics) and logged
// once per episode (the first failure, then the recovery), not once per attempt; every
// notification not delivered — given up, dropped from a full queue — is counted and
// logged as such; what a stop leaves is kept in the catalog for the next mount to send
// (close, resend). A webhook whose settings change (a header fixed) keeps what it had not
// delivered, sent with the new settings.
import { hostname } from 'node:os';
import type { Counter } from 'prom-client';
import type { WebhookConfig } from '../config/alerts.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('alerts');

/** What a webhook receives (docs/MONITORING.md#webhooks). */
export interface AlertNotification {
  version: 1;
  source: 'tierfs';
  host: string;
  mountpoint: string;
  alert: string;
  state: 'pending' | 'firing' | 'resolved' | 'inactive';
  severity: string;
  labels: Record<string, string>;
  value: number;
  /** ISO times: when the condition began to hold, and of this change */
  activeSince: string;
  time: string;
  summary: string;
  description: string;
  runbook: string;
  /** the rule's condition in PromQL */
  expr: string;
}

export const MAX_ATTEMPTS = 8;
/** A notification kept at a stop is sent by the next mount only this long after its change. */
export const RESEND_WITHIN_MS = 24 * 3600_000;
export const QUEUE_LIMIT = 1000;

export interface WebhookMetrics {
  /** failed attempts */
  failures: Counter<string>;
  /** notifications by result: sent, gave_up (out of attempts), dropped (queue full) */
  notifications: Counter<string>;
}

export interface WebhookOptions {
  /** the first retry's wait; it doubles with each attempt (default 1 s) */
  baseDelayMs?: number;
  maxDelayMs?: number;
  queueLimit?: number;
}

/** A webhook's name in logs and metrics: its own, else the URL's host (never the URL: it may hold a secret). */
export const webhookName = (w: Pick<WebhookConfig, 'name' | 'url'>) => w.name ?? new URL(w.url).host;

/** Which webhook a configuration is, whatever else of it changes: its name, else its URL. */
const identityOf = (w: Pick<WebhookConfig, 'name' | 'url'>) => w.name ?? w.url;

class WebhookQueue {
  readonly name: string;
  private readonly queue: AlertNotification[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  /** failed attempts since the last success: a failure episode */
  private failing = 0;
  /** notifications dropped from a full queue since the last one sent */
  private dropped = 0;

  constructor(
    private readonly hook: WebhookConfig,
    private readonly metrics: WebhookMetrics,
    private readonly opts: Required<WebhookOptions>,
  ) {
    this.name = webhookName(hook);
  }

  /** Identifies the configuration this queue delivers to. */
  get key(): string {
    return JSON.stringify(this.hook);
  }

  get identity(): string {
    return identityOf(this.hook);
  }

  /**
   * Takes what `old` (the same webhook's earlier settings) had not delivered and the new
   * settings still ask for, to send first. One whose request was under way may arrive
   * twice (delivery is at least once, as with any webhook that times out and is retried).
   */
  takeOver(old: WebhookQueue): void {
    old.closed = true;
    old.wake?.();
    for (const n of old.queue.splice(0).reverse()) if (this.wants(n)) this.queue.unshift(n);
    while (this.queue.length > this.opts.queueLimit) this.drop();
    if (this.queue.length > 0) this.startDraining();
  }

  private startDraining(): void {
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private drop(): void {
    const n = this.queue.shift()!;
    this.metrics.notifications.inc({ webhook: this.name, result: 'dropped' });
    if (this.dropped++ === 0) {
      log.warn({ webhook: this.name, alert: n.alert, state: n.state, queueLimit: this.opts.queueLimit }, 'alert webhook queue full: dropping its oldest notifications until one is sent');
    }
  }

  /** A webhook that hears of pending alerts also hears when one ends without firing (inactive). */
  private wants(n: AlertNotification): boolean {
    return this.hook.send.includes(n.state === 'inactive' ? 'pending' : n.state);
  }

  push(n: AlertNotification): void {
    if (this.closed || !this.wants(n)) return;
    if (this.queue.length >= this.opts.queueLimit) this.drop();
    this.queue.push(n);
    this.startDraining();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const n = this.queue[0]!;
      const sent = await this.deliver(n);
      if (this.closed) break; // what is left goes back from close(), or went to a successor
      this.queue.shift();
      this.metrics.notifications.inc({ webhook: this.name, result: sent ? 'sent' : 'gave_up' });
      if (sent) this.dropped = 0;
      else log.error({ webhook: this.name, alert: n.alert, state: n.state, attempts: MAX_ATTEMPTS }, 'alert notification given up: the webhook failed every attempt');
    }
  }

  private async deliver(n: AlertNotification): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS && !this.closed; attempt++) {
      const error = await this.post(n);
      if (this.closed) return false; // cut off by close(): no failure of the receiver's
      if (error === undefined) {
        if (this.failing > 0) log.info({ webhook: this.name, failedAttempts: this.failing }, 'alert webhook answers again');
        this.failing = 0;
        return true;
      }
      this.metrics.failures.inc({ webhook: this.name });
      if (this.failing++ === 0) log.warn({ webhook: this.name, err: error, alert: n.alert, state: n.state }, 'alert webhook failing; retrying with back-off');
      if (attempt < MAX_ATTEMPTS) await this.sleep(Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1)));
    }
    return false;
  }

  /** undefined on a 2xx answer, else why not. */
  private async post(n: AlertNotification): Promise<string | undefined> {
    try {
      const res = await fetch(this.hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'tierfs', ...this.hook.headers },
        body: JSON.stringify(n),
        signal: AbortSignal.timeout(this.hook.timeout),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Waits up to graceMs for what is queued, then takes no more; returns what is left unsent. */
  async close(graceMs: number): Promise<AlertNotification[]> {
    if (this.draining) await Promise.race([this.draining, new Promise((r) => setTimeout(r, graceMs).unref())]);
    this.closed = true;
    this.wake?.();
    return this.queue.splice(0);
  }

  /** Notifications that will never be sent (their webhook is gone): counted, and said. */
  abandon(left: readonly AlertNotification[], why: string): void {
    if (left.length === 0) return;
    this.metrics.notifications.inc({ webhook: this.name, result: 'abandoned' }, left.length);
    log.warn({ webhook: this.name, notifications: left.length, first: `${left[0]!.alert} ${left[0]!.state}` }, `alert notifications not delivered: ${why}`);
  }
}

export class WebhookSender {
  private queues: WebhookQueue[] = [];
  private readonly opts: Required<WebhookOptions>;

  constructor(
    hooks: readonly WebhookConfig[],
    private readonly metrics: WebhookMetrics,
    opts: WebhookOptions = {},
  ) {
    this.opts = { baseDelayMs: 1000, maxDelayMs: 5 * 60_000, queueLimit: QUEUE_LIMIT, ...opts };
    this.setHooks(hooks);
  }

  /**
   * The webhooks from now on. A webhook configured as before keeps its queue; one whose
   * settings changed (same name, else same URL) hands what it has not delivered to its
   * new queue; one that is gone delivers what it has queued (within close's grace) and
   * takes no more.
   */
  setHooks(hooks: readonly WebhookConfig[]): void {
    const old = new Map(this.queues.map((q) => [q.key, q]));
    const fresh: WebhookQueue[] = [];
    this.queues = hooks.map((h) => {
      const key = JSON.stringify(h);
      const kept = old.get(key);
      old.delete(key);
      if (kept) return kept;
      const q = new WebhookQueue(h, this.metrics, this.opts);
      fresh.push(q);
      return q;
    });
    for (const q of old.values()) {
      const successor = fresh.find((n) => n.identity === q.identity);
      if (successor) successor.takeOver(q);
      else void q.close(this.opts.maxDelayMs).then((left) => q.abandon(left, 'the webhook was removed from the configuration'));
    }
  }

  /**
   * Queues what a stop left unsent (close), for the webhook it was for (its name, else
   * its URL) if it is still configured and still asks for it, and if it is less than a
   * day old (a backlog kept while alerting was off would page someone for the past);
   * the rest is said.
   */
  resend(unsent: readonly { webhook: string; notification: AlertNotification }[], nowMs = Date.now()): void {
    for (const { webhook, notification } of unsent) {
      const q = this.queues.find((x) => x.identity === webhook);
      const stale = nowMs - Date.parse(notification.time) > RESEND_WITHIN_MS;
      if (q && !stale) {
        q.push(notification);
        continue;
      }
      // (Its name, or its URL's host: never the URL, which may hold a secret.)
      const name = URL.canParse(webhook) ? new URL(webhook).host : webhook;
      const why = stale ? 'it is more than a day old' : 'its webhook is no longer configured';
      log.warn({ webhook: name, alert: notification.alert, state: notification.state, time: notification.time }, `an alert notification left unsent at the last stop is not sent: ${why}`);
    }
  }

  get names(): string[] {
    return this.queues.map((q) => q.name);
  }

  /** Queues a notification for every webhook that wants its kind of change; returns at once. */
  send(n: AlertNotification): void {
    for (const q of this.queues) q.push(n);
  }

  /** Lets what is queued go out for up to graceMs; returns what is left, by webhook, for the next mount (resend). */
  async close(graceMs = 2000): Promise<{ webhook: string; notification: AlertNotification }[]> {
    const left = await Promise.all(this.queues.map(async (q) => (await q.close(graceMs)).map((notification) => ({ webhook: q.identity, notification }))));
    return left.flat();
  }
}

export const HOST = hostname();
