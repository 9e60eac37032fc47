// tierfs move, recall, pin, unpin, moves
import type { Command } from 'commander';
import type { MoveRecord } from '../catalog/catalog.js';
import type { MoveOutcome } from '../mover/protocol.js';
import { adminJson, socketPathOf } from '../admin/client.js';
import { mountOf, type TierfsMount } from './mounts.js';
import { CliError, formatBytes, printJson, table, writeToTerminal } from './output.js';
import { pickMount } from './info-cmd.js';

type Result = MoveOutcome & { path: string; error?: string };

/** Group paths by the mount that holds them. */
function byMount(paths: string[]): Map<string, { mount: TierfsMount; relative: string[] }> {
  const groups = new Map<string, { mount: TierfsMount; relative: string[] }>();
  for (const p of paths) {
    const found = mountOf(p);
    if (!found) throw new CliError(`${p} is not inside a tierfs mount`);
    const g = groups.get(found.mount.mountpoint) ?? { mount: found.mount, relative: [] };
    g.relative.push(found.relative);
    groups.set(found.mount.mountpoint, g);
  }
  return groups;
}

function report(results: Result[], json: boolean): void {
  if (json) return printJson(results);
  for (const r of results) {
    const what = r.error
      ? `failed: ${r.error}`
      : r.state === 'aborted'
        ? `not moved: ${r.reason}`
        : r.state === 'committed'
          ? `moved, ${formatBytes(r.bytes)}; the old copy goes once nothing reads it (tierfs moves: 'done')`
          : (r.reason ?? `${r.state}, ${formatBytes(r.bytes)}`);
    process.stdout.write(`${r.path}: ${what}\n`);
  }
  if (results.some((r) => r.error || r.state === 'aborted')) process.exitCode = 1;
}

export function registerMoveCommands(program: Command): void {
  program
    .command('move')
    .argument('<paths...>', 'files or directories (every file below) inside a tierfs mount')
    .requiredOption('--to <tier>', 'the tier to move to')
    .option('--no-wait', 'queue the moves and return at once')
    .option('--json', 'print the results as JSON')
    .description('move files to a tier now, through the journaled move protocol (verified; crash-safe)')
    .action(async (paths: string[], opts: { to: string; wait: boolean; json?: boolean }) => {
      const results: Result[] = [];
      for (const { mount, relative } of byMount(paths).values()) {
        const socket = socketPathOf(mount.dataDir);
        const stopSaying = opts.wait ? sayWhyWaiting(socket, relative) : () => {};
        try {
          const r = await adminJson<{ results: Result[] }>(socket, 'POST', '/v1/move', { paths: relative, to: opts.to, wait: opts.wait });
          results.push(...r.results);
        } finally {
          stopSaying();
        }
      }
      if (!opts.wait && !opts.json) process.stdout.write('queued; follow with: tierfs moves\n');
      report(results, Boolean(opts.json));
    });

  program
    .command('recall')
    .argument('<paths...>', 'files or directories inside a tierfs mount')
    .option('--json', 'print the results as JSON')
    .description('bring files on object tiers back to the first local tier with room, and wait')
    .action(async (paths: string[], opts: { json?: boolean }) => {
      const results: Result[] = [];
      for (const { mount, relative } of byMount(paths).values()) {
        results.push(...(await adminJson<{ results: Result[] }>(socketPathOf(mount.dataDir), 'POST', '/v1/recall', { paths: relative })).results);
      }
      report(results, Boolean(opts.json));
    });

  program
    .command('pin')
    .argument('<path>', 'a file or directory; a directory pins everything below it')
    .requiredOption('--tier <tier>', 'the tier it must stay on')
    .description('keep a file (or a tree) on one tier: no automatic move takes it elsewhere (also the user.tierfs.pin xattr)')
    .action(async (path: string, opts: { tier: string }) => {
      const [{ mount, relative }] = [...byMount([path]).values()];
      await adminJson(socketPathOf(mount!.dataDir), 'POST', '/v1/pin', { path: relative[0], tier: opts.tier });
      process.stdout.write(`pinned ${path} to ${opts.tier}; move it there with: tierfs move ${path} --to ${opts.tier}\n`);
    });

  program
    .command('unpin')
    .argument('<path>', 'a pinned file or directory')
    .description('remove a pin')
    .action(async (path: string) => {
      const [{ mount, relative }] = [...byMount([path]).values()];
      await adminJson(socketPathOf(mount!.dataDir), 'POST', '/v1/pin', { path: relative[0], tier: null });
      process.stdout.write(`unpinned ${path}\n`);
    });

  program
    .command('moves')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--json', 'print as JSON')
    .option('--watch', 'keep showing progress (on a terminal: redrawn each second; in a pipe: one line per finished move)')
    .option('--limit <n>', 'how many recent moves', '50')
    .description('moves in progress, the queue, and the audit log of recent moves (who asked, bytes, verification, result)')
    .action(async (mountpoint: string | undefined, opts: { json?: boolean; watch?: boolean; limit: string }) => {
      const m = pickMount(mountpoint);
      const fetch = () => adminJson<MovesView>(socketPathOf(m.dataDir), 'GET', `/v1/moves?limit=${Number(opts.limit)}`);
      if (!opts.watch) {
        const r = await fetch();
        if (opts.json) printJson(r);
        else process.stdout.write(renderMoves(r));
        return;
      }
      const tty = Boolean(process.stdout.isTTY) && !opts.json;
      let seen = (await fetch()).recent[0]?.id ?? 0;
      for (;;) {
        const r = await fetch();
        if (tty) {
          writeToTerminal('\x1b[2J\x1b[H');
          process.stdout.write(renderMoves(r));
        }
        for (const x of r.recent.filter((x) => x.id > seen && x.state !== 'intent').reverse()) {
          if (!tty) process.stdout.write(opts.json ? `${JSON.stringify(x)}\n` : `${x.path}: ${x.fromTier} → ${x.toTier} ${x.state} ${formatBytes(x.bytes)}${x.error ? ` (${x.error})` : ''}\n`);
          seen = Math.max(seen, x.id);
        }
        await new Promise((res) => setTimeout(res, 1000));
      }
    });
}

interface MovesView {
  active: { id: number; bytes: number; total: number }[];
  queued: { ino: number; toTier: string; requestedBy: string; attempts: number; lastError: string | null }[];
  queueLength: number;
  heldBack: string | null;
  slowedBy: string | null;
  recent: MoveRecord[];
}

/**
 * While a move waits (its file open for writing, or open at all with passthrough; a
 * backend failing), say why on stderr — once per reason, every few seconds a look.
 * Only for a few named paths: a directory's files are followed with tierfs moves.
 */
function sayWhyWaiting(socket: string, paths: string[]): () => void {
  if (paths.length > 20) return () => {};
  const said = new Map<string, string>();
  const timer = setInterval(() => {
    for (const path of paths) {
      adminJson<{ queued: { lastError: string | null } | null }>(socket, 'GET', `/v1/where?path=${encodeURIComponent(path)}`)
        .then((w) => {
          const why = w.queued?.lastError;
          if (why && said.get(path) !== why) {
            said.set(path, why);
            process.stderr.write(`${path || '/'}: waiting: ${why}\n`);
          }
        })
        .catch(() => {}); // a directory, or gone: the move's own result says
    }
  }, 3000);
  return () => clearInterval(timer);
}

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${total > 0 ? ((100 * done) / total).toFixed(0) : 100}%`;
}

function renderMoves(r: MovesView): string {
  const out: string[] = [];
  for (const a of r.active) {
    const rec = r.recent.find((x) => x.id === a.id);
    out.push(`moving ${rec ? `${rec.path} ${rec.fromTier} → ${rec.toTier}` : `#${a.id}`} ${bar(a.bytes, a.total)} ${formatBytes(a.bytes)} of ${formatBytes(a.total)}`);
  }
  out.push(`queue: ${r.queueLength} waiting${r.heldBack ? ` (automatic moves held back: ${r.heldBack})` : ''}`);
  if (r.slowedBy) out.push(`mover ${r.slowedBy}`);
  const rows = r.recent.map((x) => [
    x.id,
    new Date(x.startedMs).toISOString().replace('T', ' ').slice(0, 19),
    x.path,
    `${x.fromTier} → ${x.toTier}`,
    formatBytes(x.bytes),
    x.state + (x.verified ? ' ✓' : ''),
    x.finishedMs ? `${((x.finishedMs - x.startedMs) / 1000).toFixed(1)}s` : '',
    x.requestedBy,
    x.error ?? '',
  ]);
  out.push('', table(['id', 'started', 'path', 'move', 'bytes', 'state', 'took', 'by', 'note'], rows));
  return `${out.join('\n')}\n`;
}