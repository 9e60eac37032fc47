// tierfs status, tierfs where, tierfs trace
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { Status, Where } from '../admin/api.js';
import { adminJson, adminRequest, socketPathOf } from '../admin/client.js';
import { mountOf, namedTierfsMount, tierfsMounts, type TierfsMount } from './mounts.js';
import { CliError, formatBytes, printJson, table } from './output.js';
import { describeRecovery } from '../recovery/rebuild-catalog.js';

export function pickMount(mountpoint?: string): TierfsMount {
  if (mountpoint) {
    const m = namedTierfsMount(resolve(mountpoint));
    if (!m) throw new CliError(`${mountpoint} is not a tierfs mount (of root, of yours, or of a user whose data directory it serves)`);
    return m;
  }
  const mounts = tierfsMounts();
  if (mounts.length === 1) return mounts[0]!;
  if (mounts.length === 0) throw new CliError('no tierfs is mounted');
  throw new CliError(`several tierfs mounts; name one: ${mounts.map((m) => m.mountpoint).join(', ')}`);
}

/** Where /metrics is served, and how to get in. */
function metricsLine(m: NonNullable<Status['metrics']>): string {
  if (m.configured === 'off') return 'metrics: listener off';
  if (!m.listen) return `metrics: not served (${m.configured}: ${m.error ?? 'not started'})`;
  const moved = m.listen !== m.configured ? ` (${m.configured} was taken)` : '';
  const where = m.tokenFile ? `in ${m.tokenFile}` : '(metrics.token)';
  const scrape = m.scrapeTokenFile ? `in ${m.scrapeTokenFile}` : '(metrics.scrapeToken)';
  const token = m.tokenRequired
    ? `; bearer token required, ${where}; for Prometheus, one that reads /metrics only, ${scrape}`
    : `; /api needs the bearer token, ${where}`;
  return `metrics: ${m.url}${moved}${token}; history ${m.history.enabled ? 'kept' : 'off'}`;
}

export function registerInfoCommands(program: Command): void {
  program
    .command('status')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--json', 'print as JSON')
    .description('tiers (files, use, capacity, durability), problems found, access recording, the move queue and how right automatic placement was')
    .action(async (mountpoint: string | undefined, opts: { json?: boolean }) => {
      const m = pickMount(mountpoint);
      const s = await adminJson<Status>(socketPathOf(m.dataDir), 'GET', '/v1/status');
      if (opts.json) return printJson(s);
      const rows = s.tiers.map((t) => [
        t.name,
        t.kind,
        t.files,
        formatBytes(t.bytes),
        formatBytes(t.usedBytes),
        t.capacityBytes ? formatBytes(t.capacityBytes) : 'unbounded',
        t.capacityBytes ? `${((100 * t.usedBytes) / t.capacityBytes).toFixed(1)}%` : '–',
        `${Math.round(t.watermarks.low * 100)}–${Math.round(t.watermarks.high * 100)}%`,
      ]);
      process.stdout.write(`tierfs on ${s.mountpoint} (pid ${s.pid}, since ${s.startedAt})\n\n`);
      process.stdout.write(`${table(['tier', 'kind', 'files', 'data', 'used', 'capacity', 'use', 'watermarks'], rows)}\n`);
      for (const t of s.tiers.filter((x) => x.pressure)) process.stdout.write(`${t.name}: ${t.pressure}\n`);
      if (s.admission) process.stdout.write(`warning: ${s.admission}\n`);
      // A request waiting this long has a process blocked in it: say which.
      const hanging = (s.waitingRequests ?? []).filter((r) => r.seconds >= 5);
      if (hanging.length > 0) {
        const list = hanging.map((r) => `${r.op}${r.ino !== undefined ? ` of inode ${r.ino}` : ''} (${r.seconds.toFixed(0)} s)`).join(', ');
        process.stdout.write(`warning: ${hanging.length} FUSE request(s) waiting for an answer: ${list}\n`);
      }
      for (const t of s.tiers.filter((x) => x.survivesBackendLosses !== undefined)) {
        process.stdout.write(`${t.name}: backends ${t.volumes.join(', ')}; survives the loss of ${t.survivesBackendLosses} whole backend(s)\n`);
      }
      process.stdout.write(`\naccess recording: ${s.recording.enabled ? `on, ${s.recording.eventsRecorded} events recorded` : 'off'}\n`);
      process.stdout.write(`move queue: ${s.queue.length} waiting${s.queue.heldBack ? ` (automatic moves held back: ${s.queue.heldBack})` : ''}\n`);
      if (s.queue.slowedBy) process.stdout.write(`mover ${s.queue.slowedBy}\n`);
      if (s.metrics) process.stdout.write(`${metricsLine(s.metrics)}\n`);
      if (s.metrics?.listen) process.stdout.write(`dashboard: ${s.metrics.url!.replace(/metrics$/, '')} (tierfs dashboard --open: a login link for changes)\n`);
      if (s.alerts) {
        const { firing, pending } = s.alerts;
        process.stdout.write(`alerts: ${firing.length} firing, ${pending} pending${firing.length + pending > 0 ? ' (tierfs alerts)' : ''}\n`);
        for (const a of firing) process.stdout.write(`  ${a.severity}: ${a.rule}: ${a.summary}\n`);
      }
      const moved = s.placement.filter((p) => p.week.promotions + p.week.demotions > 0);
      if (moved.length > 0) {
        const rows = moved.map((p) => [p.tier, p.day.promotions, p.day.demotions, p.day.misplacements, p.week.promotions, p.week.demotions, p.week.misplacements]);
        process.stdout.write(`\nautomatic placement (misplaced: demoted, then used again within the residency time):\n`);
        process.stdout.write(`${table(['tier', 'day: in', 'out', 'misplaced', 'week: in', 'out', 'misplaced'], rows)}\n`);
      }
      // Moves people asked for (and recalls, copy-ups): apart, they are not the policy's.
      const manual = s.placement.filter((p) => p.week.manualIn + p.week.manualOut > 0);
      if (manual.length > 0) {
        const rows = manual.map((p) => [p.tier, p.day.manualIn, p.day.manualOut, p.week.manualIn, p.week.manualOut]);
        process.stdout.write(`\nother moves (tierfs move, recall, copy-up):\n`);
        process.stdout.write(`${table(['tier', 'day: in', 'out', 'week: in', 'out'], rows)}\n`);
      }
      for (const t of s.tiers.filter((x) => x.error)) process.stdout.write(`tier ${t.name}: cannot read its volumes: ${t.error}\n`);
      for (const b of s.background.tasks.filter((x) => x.failing)) {
        process.stdout.write(`background task ${b.name} failing (${b.consecutiveFailures} runs in a row, ${b.failures} in all): ${b.lastError}\n`);
      }
      if (s.catalog?.backup) {
        const b = s.catalog.backup;
        process.stdout.write(`catalog backups: every ${b.intervalMs / 1000} s to ${b.where}, ${b.keep} kept; last ${b.last ? `${b.last.time} (${formatBytes(b.last.size)})` : 'none by this mount yet'}\n`);
      } else if (s.catalog) process.stdout.write('catalog backups: off\n');
      if (s.catalog?.recoveredAtThisMount && s.catalog.lastRecovery) {
        process.stdout.write(`\nthe catalog was lost and rebuilt before this mount:\n`);
        for (const line of describeRecovery(s.catalog.lastRecovery)) process.stdout.write(`  ${line}\n`);
      }
      if (s.conflicts.length > 0) {
        process.stdout.write(`\nproblems (${s.conflicts.length}):\n`);
        for (const c of s.conflicts) process.stdout.write(`  ${c.kind}: ${c.path}: ${c.detail}\n`);
      }
    });

  program
    .command('where')
    .argument('<paths...>', 'files or directories inside a tierfs mount')
    .option('--json', 'print as JSON (an array)')
    .description('which tier holds each file, where its bytes are, and how it has been used')
    .action(async (paths: string[], opts: { json?: boolean }) => {
      const out: Where[] = [];
      for (const p of paths) {
        const found = mountOf(p);
        if (!found) throw new CliError(`${p} is not inside a tierfs mount`);
        out.push(await adminJson<Where>(socketPathOf(found.mount.dataDir), 'GET', `/v1/where?path=${encodeURIComponent(found.relative)}`));
      }
      if (opts.json) return printJson(out);
      for (const w of out) {
        process.stdout.write(
          `${w.path || '/'}: ${w.type}, ${formatBytes(w.size)}` +
            (w.tier ? ` on tier ${w.tier}` : '') +
            (w.backingPath ? ` (${w.backingPath})` : '') +
            (w.layout ? ` (${w.layout.kind === 'single' ? `one object, ${w.layout.m + 1} copies` : `${w.layout.k}+${w.layout.m}, ${w.layout.stripes} stripes`})` : '') +
            (w.state !== 'ok' ? ` [${w.state}]` : '') +
            `\n  opens ${w.access.opens}, reads ${w.access.reads} (${formatBytes(w.access.readBytes)}), writes ${w.access.writes} (${formatBytes(w.access.writeBytes)})` +
            (w.access.lastAccess ? `, last access ${w.access.lastAccess}` : '') +
            (w.access.readsSeen ? '' : '\n  (the kernel reads and writes this local file directly — passthrough — so only its opens are counted)') +
            '\n' +
            (w.pin ? `  pinned to ${w.pin.tier} (on ${w.pin.on || '/'})\n` : '') +
            (w.placement
              ? `  placement: rule ${w.placement.rule} → ${w.placement.target ?? 'stay'} (${w.placement.reason})\n` +
                (w.placement.hold ? `  not moved yet: ${w.placement.hold}\n` : '')
              : '') +
            (w.capacity ? `  capacity: ${w.capacity}\n` : '') +
            (w.queued ? `  queued: move to ${w.queued.toTier}, asked by ${w.queued.requestedBy}${w.queued.lastError ? ` (last try: ${w.queued.lastError})` : ''}\n` : ''),
        );
      }
    });

  program
    .command('trace')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--since <iso-time>', 'only accesses at or after this time')
    .description("export the access log as CSV (time, path, op, offset, length, size), to study or replay a workload; a path that a spreadsheet would take for a formula (one that begins with = + - @, a tab, a carriage return or ') is written after a '")
    .action(async (mountpoint: string | undefined, opts: { since?: string }) => {
      const m = pickMount(mountpoint);
      const since = opts.since ? Date.parse(opts.since) : 0;
      if (Number.isNaN(since)) throw new CliError(`--since: not a time: ${opts.since}`);
      const { status, body } = await adminRequest(socketPathOf(m.dataDir), 'GET', `/v1/trace?since=${since}`);
      if (status !== 200) throw new CliError(`trace export failed: ${body}`);
      process.stdout.write(body);
    });
}
