// The alert rules of tierfs, once. Each is an expression (expr.ts) with a severity, a
// `for:` and annotations: the daemon's evaluator runs them over its own samples, and
// `tierfs metrics rules` renders them as a Prometheus rule file, so both always agree.
// As in the Prometheus mixins, a forecast goes with a level guard (a tier that grows
// fast but is nearly empty is no emergency), and each rule has a runbook line.
import { bin, HOST_LABELS, promDuration, histogramQuantile, increase, metric, minOverTime, num, predictLinear, rate, sumBy, type Expr } from './expr.js';

export type Severity = 'warning' | 'critical';

/** How a rule's threshold is written in tierfs.yaml. */
export type ThresholdUnit = 'ratio' | 'duration' | 'seconds';

export interface AlertRuleDefinition {
  name: string;
  severity: Severity;
  /** how long the condition must hold before the alert fires */
  forMs: number;
  threshold?: { value: number; unit: ThresholdUnit; what: string };
  /** the condition, given the threshold (ratio: 0–1; duration: ms; seconds: s) */
  expr: (threshold: number) => Expr;
  /**
   * templates: {{ $labels.NAME }}, {{ $value }} with | humanizePercentage, humanize1024 or humanizeDuration
   * (as Prometheus has them); %threshold% is the configured threshold, written in when the rule is made
   */
  summary: string;
  description: string;
  runbook: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const host = [...HOST_LABELS];
const used = metric('tierfs_tier_used_bytes');
const capacity = metric('tierfs_tier_capacity_bytes');
/** Use as a share of capacity, for tiers that have a capacity (an unbounded object tier has none). */
const usedShare = bin('and', bin('/', used, capacity), bin('>', capacity, num(0)));

/** A tier that fills within `horizonMs` at the rate of the last 6 h, and is already past `guard` full. */
const fillsWithin = (guard: number) => (horizonMs: number) =>
  bin('and', bin('>', predictLinear('tierfs_tier_used_bytes', 6 * HOUR, Math.round(horizonMs / 1000)), capacity), bin('>', usedShare, num(guard)));

/** Failed object-store calls over all calls, per backend (NotFound is an answer, not a failure: probes and listings meet it). */
const errorRatio = (rangeMs: number) =>
  bin(
    '/',
    sumBy([...host, 'tier', 'backend'], rate('tierfs_objectstore_errors_total', rangeMs, [{ label: 'code', op: '!=', value: 'NotFound' }])),
    sumBy([...host, 'tier', 'backend'], rate('tierfs_objectstore_requests_total', rangeMs)),
  );

export const ALERT_RULES = [
  {
    name: 'TierfsTierAboveHighWatermark',
    severity: 'warning',
    forMs: 30 * MINUTE,
    expr: () => bin('>', usedShare, metric('tierfs_tier_high_watermark_ratio')),
    summary: 'Tier {{ $labels.tier }} is {{ $value | humanizePercentage }} full, above its high watermark',
    description: 'The mover demotes the coldest files of a tier above its high watermark; this one has stayed above it.',
    runbook: 'tierfs status shows the pressure and tierfs moves the queue: a held-back or failing mover, or a lower tier with no room, keeps the tier full. Add capacity or a rule that demotes sooner.',
  },
  {
    name: 'TierfsTierAlmostFull',
    severity: 'critical',
    forMs: 5 * MINUTE,
    threshold: { value: 0.95, unit: 'ratio', what: 'share of capacity used' },
    expr: (t) => bin('>', usedShare, num(t)),
    summary: 'Tier {{ $labels.tier }} is {{ $value | humanizePercentage }} full',
    description: 'New files go elsewhere and writes to files on the tier may fail with ENOSPC.',
    runbook: 'Free space now (tierfs move PATH --to a lower tier, or delete files), then see why the mover did not (tierfs status, tierfs moves).',
  },
  {
    name: 'TierfsTierFillingUp',
    severity: 'warning',
    forMs: HOUR,
    threshold: { value: DAY, unit: 'duration', what: 'fills within this time at the rate of the last 6h' },
    expr: fillsWithin(0.6),
    summary: 'Tier {{ $labels.tier }} will be full within %threshold% at the rate of the last 6 hours',
    description: 'The forecast is a straight line through the tier\'s use over 6 hours, so it is net of what the mover drains; the tier is over 60% full.',
    runbook: 'tierfs history tierfs_tier_used_bytes --since 1d shows the trend; tierfs history tierfs_move_bytes_total what the mover drains. Lower the watermarks, raise the mover\'s bandwidth, or add capacity.',
  },
  {
    name: 'TierfsTierFillingUpFast',
    severity: 'critical',
    forMs: 30 * MINUTE,
    threshold: { value: 4 * HOUR, unit: 'duration', what: 'fills within this time at the rate of the last 6h' },
    expr: fillsWithin(0.8),
    summary: 'Tier {{ $labels.tier }} will be full within %threshold% at the rate of the last 6 hours',
    description: 'The tier is over 80% full and grows faster than the mover drains it.',
    runbook: 'Act now: find what writes (tierfs history tierfs_write_bytes_total), move data off (tierfs move), or add capacity.',
  },
  {
    name: 'TierfsBackendErrors',
    severity: 'warning',
    forMs: 10 * MINUTE,
    threshold: { value: 0.05, unit: 'ratio', what: 'share of object-store calls failing' },
    expr: (t) => bin('>', errorRatio(10 * MINUTE), num(t)),
    summary: 'Backend {{ $labels.backend }} of tier {{ $labels.tier }} fails {{ $value | humanizePercentage }} of its calls',
    description: 'Calls are retried, so reads and moves go on, slower; above the retries\' patience they fail.',
    runbook: 'tierfs_objectstore_errors_total by code: Throttled means the provider\'s request limit (lower mover.concurrency), Transient the network, Fatal credentials or a missing bucket. docs/MONITORING.md#troubleshooting-object-storage.',
  },
  {
    name: 'TierfsBackendDown',
    severity: 'critical',
    forMs: 5 * MINUTE,
    expr: () => bin('==', metric('tierfs_backend_up'), num(0)),
    summary: 'Backend {{ $labels.backend }} of tier {{ $labels.tier }} does not answer',
    description: 'Reads of the tier are rebuilt from parity while enough backends answer (degraded reads); moves to the tier fail.',
    runbook: 'The log names the probe\'s error. Check the network, the endpoint and the credentials; tierfs status shows how many backends the tier can lose.',
  },
  {
    name: 'TierfsRecallSlow',
    severity: 'warning',
    forMs: 15 * MINUTE,
    threshold: { value: 5, unit: 'seconds', what: 'p99 of the time to the first byte of a cold read' },
    expr: (t) => bin('>', histogramQuantile(0.99, 'tierfs_recall_first_byte_seconds', host, 10 * MINUTE), num(t)),
    summary: 'Cold reads wait {{ $value | humanizeDuration }} for their first byte (p99, above %threshold%)',
    description: 'Applications reading files on object tiers stall this long.',
    runbook: 'Look at tierfs_objectstore_request_duration_seconds and retries by code (throttling), and at the recall cache hit ratio: a larger cache.memory or cache.disk, or a rule that keeps such files on a local tier.',
  },
  {
    name: 'TierfsRequestsHang',
    severity: 'critical',
    forMs: MINUTE,
    threshold: { value: 60, unit: 'seconds', what: 'the age of the oldest FUSE request not answered' },
    expr: (t) => bin('>', metric('tierfs_fuse_oldest_request_seconds'), num(t)),
    summary: 'A FUSE request has waited {{ $value | humanizeDuration }} for its answer (above %threshold%)',
    description: 'A process using the mount is blocked in that request, and may be for good.',
    runbook: 'tierfs status --json lists the requests waiting (operation, inode, age); tierfs where on the inode\'s path and tierfs moves show whether a move or a cold read holds it. Save the daemon log before a restart.',
  },
  {
    name: 'TierfsMoveQueueStuck',
    severity: 'warning',
    forMs: 5 * MINUTE,
    threshold: { value: 6 * HOUR, unit: 'duration', what: 'the queue has not shrunk for this long' },
    expr: (t) =>
      bin(
        'and',
        bin('>', metric('tierfs_move_queue_length'), num(0)),
        bin('>=', minOverTime('tierfs_move_queue_length', t), metric('tierfs_move_queue_length', undefined, t)),
      ),
    summary: 'The move queue has not shrunk for %threshold% ({{ $value }} moves waiting)',
    description: 'The mover is held back (schedule windows, bandwidth, files in use) or its moves fail.',
    runbook: 'tierfs moves shows what waits and why; tierfs status the mover\'s background task and whether automatic moves are held back.',
  },
  {
    name: 'TierfsStripesAtRisk',
    severity: 'critical',
    forMs: 0,
    expr: () => bin('>', metric('tierfs_stripes_at_risk'), num(0)),
    summary: '{{ $value }} stripes of tier {{ $labels.tier }} have fewer than m spare cells',
    description: 'One more lost cell in such a stripe may lose data.',
    runbook: 'Run tierfs scrub --tier {{ $labels.tier }} --repair now, then find the backend that lost the cells.',
  },
  {
    name: 'TierfsScrubFoundDamage',
    severity: 'warning',
    forMs: 0,
    threshold: { value: DAY, unit: 'duration', what: 'how long a finding is reported' },
    expr: (t) => bin('>', increase('tierfs_scrub_cells_bad_total', t), num(0)),
    summary: 'Scrubs found {{ $value }} missing or damaged cells',
    description: 'Cells were missing or failed their checksum; parity still had them unless stripes are at risk.',
    runbook: 'Run tierfs scrub --repair if the scrub did not repair, and look at the backend that held the cells (tierfs_objectstore_errors_total, the provider\'s status).',
  },
] as const satisfies readonly AlertRuleDefinition[];

export type AlertRuleName = (typeof ALERT_RULES)[number]['name'];

export const RULES: readonly AlertRuleDefinition[] = ALERT_RULES;

/** A rule as configured: the definition with its threshold, `for:` and whether it runs. */
export interface EffectiveRule {
  def: AlertRuleDefinition;
  name: string;
  severity: Severity;
  forMs: number;
  threshold: number | undefined;
  enabled: boolean;
  expr: Expr;
  /** the annotations, with the threshold written in */
  summary: string;
  description: string;
  runbook: string;
}

/** A threshold as people write it: 95%, 1d, 5s. */
export function formatThreshold(value: number, unit: ThresholdUnit): string {
  if (unit === 'ratio') return `${Number((value * 100).toPrecision(4))}%`;
  if (unit === 'duration') return promDuration(value);
  return `${value}s`;
}

export interface RuleOverride {
  enabled?: boolean;
  for?: number;
  threshold?: number;
}

/** Every rule, with tierfs.yaml's overrides applied. */
export function effectiveRules(overrides: Partial<Record<string, RuleOverride>> = {}): EffectiveRule[] {
  return RULES.map((def) => {
    const o = overrides[def.name] ?? {};
    const threshold = o.threshold ?? def.threshold?.value;
    const fill = (text: string) => (def.threshold && threshold !== undefined ? text.replaceAll('%threshold%', formatThreshold(threshold, def.threshold.unit)) : text);
    return {
      def,
      name: def.name,
      severity: def.severity,
      forMs: o.for ?? def.forMs,
      threshold,
      enabled: o.enabled ?? true,
      expr: def.expr(threshold ?? 0),
      summary: fill(def.summary),
      description: fill(def.description),
      runbook: fill(def.runbook),
    };
  });
}

// ── annotations ───────────────────────────────────────────────────────────────
function humanizeDuration(s: number): string {
  if (s < 1) return `${(s * 1000).toPrecision(3)}ms`;
  if (s < 60) return `${s.toPrecision(3)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

function humanize1024(v: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number(v.toPrecision(4))}${units[u]}`;
}

/** A rule's annotation with labels and value filled in, as Prometheus's templates would. */
export function renderTemplate(template: string, labels: Record<string, string>, value: number): string {
  return template.replace(/\{\{\s*(\$labels\.(\w+)|\$value(?:\s*\|\s*(\w+))?)\s*\}\}/g, (_all, _x, label: string | undefined, fn: string | undefined) => {
    if (label) return labels[label] ?? '';
    if (fn === 'humanizePercentage') return `${Number((value * 100).toPrecision(4))}%`;
    if (fn === 'humanize1024') return humanize1024(value);
    if (fn === 'humanizeDuration') return humanizeDuration(value);
    return String(Number(value.toPrecision(6)));
  });
}
