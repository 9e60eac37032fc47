// The alerts section of tierfs.yaml: how often the built-in rules are evaluated, which
// of them run and with what threshold and `for:`, and the webhooks told of each change.
// The rules themselves are src/alerts/rules.ts; only their names and units are read here.
import { z } from 'zod';
import { ALERT_RULES, type AlertRuleName } from '../alerts/rules.js';
import { duration } from './fields.js';
import { parseDuration, parseRatio } from './units.js';

const thresholdOf = (unit: 'ratio' | 'duration' | 'seconds') =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    try {
      if (unit === 'ratio') return parseRatio(value);
      // a duration rule keeps milliseconds; a seconds rule seconds ("5s", "500ms" or a number of seconds)
      const ms = parseDuration(value);
      return unit === 'duration' ? ms : ms / 1000;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** One rule's overrides; `off` (or false) turns it off. */
function ruleOverride(def: (typeof ALERT_RULES)[number]) {
  const threshold = 'threshold' in def ? def.threshold : undefined;
  const object = z.strictObject({
    enabled: z.boolean().optional().describe('false turns the rule off'),
    for: duration().optional().describe('how long the condition must hold before the alert fires'),
    ...(threshold ? { threshold: thresholdOf(threshold.unit).optional().describe(threshold.what) } : {}),
  });
  // `off` is short for { enabled: false }; anything else is checked as the object, so its problems name their key.
  return z
    .preprocess((v) => (v === false || v === 'off' ? { enabled: false } : v), object)
    .transform((v) => v as { enabled?: boolean; for?: number; threshold?: number })
    .optional();
}

const rules = z
  .strictObject(Object.fromEntries(ALERT_RULES.map((r) => [r.name, ruleOverride(r)])) as Record<AlertRuleName, ReturnType<typeof ruleOverride>>)
  .prefault({})
  .describe('overrides of the built-in rules, by name (tierfs alerts lists them): off, or { enabled, for, threshold }');

const webhook = z.strictObject({
  url: z
    .url()
    .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), {
      message: 'a webhook URL may not carry a user or password (fetch refuses it, and the URL would be logged): put credentials in headers, e.g. Authorization',
    })
    .describe('receives a JSON POST per alert change (docs/MONITORING.md#webhooks)'),
  name: z.string().min(1).optional().describe('its name in logs and metrics; default: the URL\'s host'),
  headers: z.record(z.string(), z.string()).default({}).describe('sent with each request, e.g. Authorization'),
  send: z
    .array(z.enum(['pending', 'firing', 'resolved']))
    .min(1)
    .default(['firing', 'resolved'])
    .describe('which changes are sent: an alert goes pending (its condition holds), firing (held for its `for:`), resolved'),
  timeout: duration().prefault('10s').describe('one request may take this long'),
});

export const alertsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('evaluate the built-in alert rules in the daemon'),
    interval: duration()
      .prefault('30s')
      .refine((ms) => ms >= 50, 'interval must be at least 50ms')
      .describe('how often the rules are evaluated'),
    rules,
    webhooks: z.array(webhook).default([]),
    keepHistory: z.number().int().min(10).default(10_000).describe('alert changes kept in the catalog (tierfs alerts shows the latest)'),
  })
  .prefault({})
  .describe('alert rules (pending → firing → resolved), kept in the catalog, logged and sent to webhooks (docs/MONITORING.md)');

export type AlertsConfig = z.output<typeof alertsSchema>;
export type WebhookConfig = AlertsConfig['webhooks'][number];
