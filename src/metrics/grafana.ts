// `tierfs metrics grafana`: a Grafana dashboard for tierfs hosts scraped by an
// operator's Prometheus. Each panel's query is an expression of src/alerts/expr.ts over
// the metric names of definitions.ts, so the dashboard names only what the daemon exports
// and reads it the way the alert rules do.
import { bin, histogramQuantile, metric, rate, sumBy, toPromQL, type Expr } from '../alerts/expr.js';

interface PanelSpec {
  title: string;
  unit: string;
  targets: { expr: Expr; legend: string }[];
  description?: string;
}

interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const R = 5 * 60_000; // rendered as $__rate_interval
const t = (expr: Expr, legend: string) => ({ expr, legend });
const hits = sumBy([], rate('tierfs_recall_cache_hits_total', R));
const misses = sumBy([], rate('tierfs_recall_cache_misses_total', R));
/** Bytes read from object tiers: the tiers that have stored bytes are the object tiers. */
const objectReadBytes = sumBy([], bin('and', rate('tierfs_read_bytes_total', R), metric('tierfs_tier_stored_bytes')));

export const DASHBOARD_ROWS: readonly RowSpec[] = [
  {
    title: 'Tiers',
    panels: [
      { title: 'Tier use (share of capacity)', unit: 'percentunit', targets: [t(bin('/', metric('tierfs_tier_used_bytes'), metric('tierfs_tier_capacity_bytes')), '{{tier}}'), t(metric('tierfs_tier_high_watermark_ratio'), '{{tier}} high watermark')] },
      { title: 'Tier bytes used', unit: 'bytes', targets: [t(metric('tierfs_tier_used_bytes'), '{{tier}}'), t(metric('tierfs_tier_capacity_bytes'), '{{tier}} capacity')] },
      { title: 'Files per tier', unit: 'short', targets: [t(metric('tierfs_tier_files'), '{{tier}}')] },
      { title: 'Object tiers: bytes in the stores', unit: 'bytes', targets: [t(metric('tierfs_tier_stored_bytes'), '{{tier}}')] },
    ],
  },
  {
    title: 'I/O through the mount',
    panels: [
      { title: 'Read throughput by tier', unit: 'Bps', targets: [t(sumBy(['tier'], rate('tierfs_read_bytes_total', R)), '{{tier}}')] },
      { title: 'Write throughput by tier', unit: 'Bps', targets: [t(sumBy(['tier'], rate('tierfs_write_bytes_total', R)), '{{tier}}')] },
      { title: 'FUSE requests by operation', unit: 'reqps', targets: [t(sumBy(['op'], rate('tierfs_fuse_requests_total', R)), '{{op}}')] },
      { title: 'FUSE request time p99 by operation', unit: 's', targets: [t(histogramQuantile(0.99, 'tierfs_fuse_request_seconds', ['op'], R), '{{op}}')] },
      { title: 'FUSE errors', unit: 'reqps', targets: [t(sumBy(['op', 'errno'], rate('tierfs_fuse_errors_total', R)), '{{op}} {{errno}}')] },
    ],
  },
  {
    title: 'Moves',
    panels: [
      { title: 'Moves by result', unit: 'ops', targets: [t(sumBy(['from', 'to', 'result'], rate('tierfs_moves_total', R)), '{{from}}→{{to}} {{result}}')] },
      { title: 'Move throughput', unit: 'Bps', targets: [t(sumBy(['from', 'to'], rate('tierfs_move_bytes_total', R)), '{{from}}→{{to}}')] },
      { title: 'Move queue', unit: 'short', targets: [t(metric('tierfs_move_queue_length'), 'moves waiting')] },
      { title: 'Move queue bytes', unit: 'bytes', targets: [t(metric('tierfs_move_queue_bytes'), 'bytes waiting')] },
    ],
  },
  {
    title: 'Recall cache',
    panels: [
      { title: 'Recall cache hit ratio (cells)', unit: 'percentunit', targets: [t(bin('/', hits, bin('+', hits, misses)), 'by count')] },
      {
        title: 'Recall cache hit ratio (bytes)', unit: 'percentunit', targets: [t(bin('/', sumBy([], rate('tierfs_recall_cache_hit_bytes_total', R)), objectReadBytes), 'by bytes')],
        description: 'Bytes of reads of object tiers served from the cache, over all bytes read from object tiers',
      },
      { title: 'Recall time to first byte p99', unit: 's', targets: [t(histogramQuantile(0.99, 'tierfs_recall_first_byte_seconds', [], R), 'p99')] },
      { title: 'Recall cache size', unit: 'bytes', targets: [t(metric('tierfs_recall_cache_bytes'), '{{layer}}')] },
    ],
  },
  {
    title: 'Object stores',
    panels: [
      { title: 'Object-store requests', unit: 'reqps', targets: [t(sumBy(['tier', 'backend', 'op'], rate('tierfs_objectstore_requests_total', R)), '{{tier}}/{{backend}} {{op}}')] },
      { title: 'Object-store latency p99', unit: 's', targets: [t(histogramQuantile(0.99, 'tierfs_objectstore_request_duration_seconds', ['tier', 'backend'], R), '{{tier}}/{{backend}}')] },
      {
        title: 'Object-store errors', unit: 'reqps',
        targets: [t(sumBy(['tier', 'backend', 'code'], rate('tierfs_objectstore_errors_total', R, [{ label: 'code', op: '!=', value: 'NotFound' }])), '{{tier}}/{{backend}} {{code}}')],
      },
      { title: 'Object-store retries', unit: 'reqps', targets: [t(sumBy(['tier', 'backend', 'code'], rate('tierfs_objectstore_retries_total', R)), '{{tier}}/{{backend}} {{code}}')] },
      { title: 'Backends up', unit: 'bool', targets: [t(metric('tierfs_backend_up'), '{{tier}}/{{backend}}')] },
      { title: 'Degraded reads', unit: 'ops', targets: [t(sumBy(['tier'], rate('tierfs_degraded_reads_total', R)), '{{tier}}')] },
      { title: 'Stripes at risk', unit: 'short', targets: [t(metric('tierfs_stripes_at_risk'), '{{tier}}')] },
    ],
  },
  {
    title: 'Alerts',
    panels: [{ title: 'Alerts firing', unit: 'short', targets: [t(sumBy(['alert', 'severity'], metric('tierfs_alerts_firing')), '{{alert}} ({{severity}})')] }],
  },
];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    panels.push({ type: 'row', id: id++, title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    row.panels.forEach((p, i) => {
      if (i > 0 && i % 2 === 0) y += 8;
      panels.push({
        type: 'timeseries',
        id: id++,
        title: p.title,
        ...(p.description ? { description: p.description } : {}),
        datasource: DATASOURCE,
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: p.targets.map((x, j) => ({
          refId: String.fromCharCode(65 + j),
          datasource: DATASOURCE,
          expr: toPromQL(x.expr, { extraMatchers: ['instance=~"$instance"'], rateRange: '$__rate_interval' }),
          legendFormat: x.legend,
        })),
      });
    });
    y += 8;
  }
  return {
    title: 'tierfs',
    uid: 'tierfs',
    tags: ['tierfs', 'storage'],
    description: 'Generated by `tierfs metrics grafana` from the metric definitions of tierfs (docs/MONITORING.md)',
    schemaVersion: 39,
    editable: true,
    time: { from: 'now-24h', to: 'now' },
    refresh: '1m',
    templating: {
      list: [
        { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus' },
        {
          name: 'instance', label: 'host', type: 'query', datasource: DATASOURCE, query: { query: 'label_values(tierfs_build_info, instance)', refId: 'instance' },
          definition: 'label_values(tierfs_build_info, instance)', includeAll: true, multi: true, refresh: 2, current: { text: 'All', value: '$__all' },
        },
      ],
    },
    annotations: { list: [] },
    links: [],
    panels,
  };
}
