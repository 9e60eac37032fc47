// tierfs config apply|set|history|diff|rollback: the configuration of a running mount,
// changed without a remount, each change a version (src/config/manager.ts); and
// tierfs tier drain, which empties a tier so that a new version can drop it.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { adminJson, AdminError, socketPathOf } from '../admin/client.js';
import type { ApplyAnswer, VersionSummary } from '../config/manager.js';
import type { ConfigVersion } from '../config/versions.js';
import type { DrainAnswer } from '../admin/drain.js';
import { formatKey, parseConfig } from '../config/load.js';
import { withoutSecretsAt } from '../config/diff.js';
import { pickMount } from './info-cmd.js';
import { CliError, formatBytes, printJson, table } from './output.js';

interface ChangeFlags {
  message?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  mount?: string;
}

function caller(): { uid: number | null; user: string | null } {
  try {
    const u = userInfo();
    return { uid: u.uid, user: u.username };
  } catch {
    return { uid: process.getuid?.() ?? null, user: null };
  }
}

const socketOf = (mount: string | undefined) => socketPathOf(pickMount(mount).dataDir);

const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
const pct = (r: number) => `${Math.round(r * 100)}%`;

/** The differences and what would move, for people. */
export function describeAnswer(a: ApplyAnswer): string {
  const out: string[] = [];
  out.push(a.lines.length ? `changes from version ${a.base}:` : `no key differs from version ${a.base}`);
  for (const l of a.lines) out.push(`  ${l}`);
  const moving = a.impact.flows.reduce((n, f) => n + f.files, 0);
  out.push('', `impact (the new policy over ${files(a.impact.examined)}, nothing moved): ${moving ? `${files(moving)} would move` : 'no file would move'}`);
  for (const f of a.impact.flows) {
    out.push(`  ${f.from} → ${f.to}: ${files(f.files)}, ${formatBytes(f.bytes)} (rule ${f.rules.join(', ')})`);
    for (const p of f.paths) out.push(`    ${p}`);
    if (f.files > f.paths.length) out.push(`    … and ${f.files - f.paths.length} more`);
  }
  if (moving) {
    out.push('', 'projected tier use once they have moved:');
    const rows = a.impact.tiers.map((t) => [
      t.tier,
      formatBytes(t.bytesNow),
      formatBytes(t.bytesAfter),
      t.capacityBytes ? formatBytes(t.capacityBytes) : 'unbounded',
      t.capacityBytes ? `${pct(t.bytesAfter / t.capacityBytes)} (high ${pct(t.high)})${t.aboveHigh ? ' above the high watermark: the coldest would be demoted' : ''}` : '–',
    ]);
    out.push(table(['tier', 'now', 'after', 'capacity', 'use after'], rows));
  }
  return `${out.join('\n')}\n`;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * The one path of every change: a dry run (validation, differences, impact), shown;
 * then, unless --dry-run, confirmation (--yes, or a yes at a terminal) and the apply
 * itself against the version that was shown. base: the version the change was made
 * from (set edits the running version's text): the dry run must be against that one.
 */
async function change(socket: string, endpoint: string, body: Record<string, unknown>, opts: ChangeFlags, localCheck?: () => void, base?: number): Promise<void> {
  const ask = (dryRun: boolean, expectVersion?: number) =>
    adminJson<ApplyAnswer>(socket, 'POST', endpoint, { ...body, message: opts.message, dryRun, expectVersion, caller: caller() }).catch((err: unknown) => {
      // Refused as invalid: the same check here gives the problems one by one (for --json).
      if (err instanceof AdminError && err.code === 'EINVALIDCONFIG') localCheck?.();
      throw err;
    });
  const dry = await ask(true);
  // Applied against a later version, the text made from the earlier one would undo what
  // was applied in between.
  if (base !== undefined && dry.base !== base) {
    throw new CliError(`not applied: the configuration changed while this one was made (version ${base} → ${dry.base}); run the command again`);
  }
  if (!opts.json) process.stdout.write(describeAnswer(dry));
  if (opts.dryRun) return opts.json ? printJson(dry) : undefined;
  if (!opts.yes) {
    if (!process.stdin.isTTY) throw new CliError('not applied: add --yes to apply without a question (or --dry-run to only look)');
    if (!(await confirm(`apply as version ${dry.base + 1}? [y/N] `))) throw new CliError('not applied');
  }
  const done = await ask(false, dry.base);
  if (opts.json) return printJson(done);
  process.stdout.write(done.applied ? `applied: version ${done.version!.version} (was ${done.base})\n` : `nothing to apply: this is the running configuration (version ${done.base})\n`);
}

const changeOptions = (cmd: Command) =>
  cmd
    .option('-m, --message <text>', 'why (kept in the history)')
    .option('--dry-run', 'show the differences and what would move, change nothing')
    .option('-y, --yes', 'apply without asking')
    .option('--json', 'print the answer as JSON')
    .option('--mount <mountpoint>', 'which mount (default: the only one)');

const versionNumber = (s: string) => {
  if (!/^\d+$/.test(s)) throw new CliError(`a version is a number, not "${s}"`);
  return Number(s);
};

export function registerConfigLiveCommands(config: Command): void {
  changeOptions(
    config
      .command('apply')
      .argument('<file>', 'the new tierfs.yaml')
      .description('change the running configuration without a remount: validate, show each changed key and what would move, then apply as a new version and write it to the mount’s config file'),
  ).action(async (file: string, opts: ChangeFlags) => {
    const path = resolve(file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
    }
    await change(socketOf(opts.mount), '/v1/config/apply', { text, source: path }, opts, () => parseConfig(text, path, dirname(path)));
  });

  changeOptions(
    config
      .command('set')
      .argument('<key>', 'a dotted key, e.g. mover.bandwidth or policy.rules[0].target')
      .argument('<value>', 'its new value, as in tierfs.yaml (20MiB, 7d, 80%, true, 4)')
      .description('change one key of the running configuration (the same path as apply: validated, shown, a new version)'),
  ).action(async (key: string, value: string, opts: ChangeFlags) => {
    const socket = socketOf(opts.mount);
    const current = await adminJson<ConfigVersion>(socket, 'GET', '/v1/config/version');
    const doc = parseDocument(current.text);
    const path = key.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    // The value as YAML would read it: numbers, booleans and units like a hand-written file.
    const parsed: unknown = parseDocument(value).toJS();
    doc.setIn(path, parsed);
    const text = doc.toString();
    // The history, the log and the dashboard show the message: never a credential in it.
    const shown = withoutSecretsAt(formatKey(path), parsed);
    const said = shown === parsed ? value : typeof shown === 'string' ? shown : JSON.stringify(shown);
    await change(
      socket,
      '/v1/config/apply',
      { text, source: `tierfs config set ${key}` },
      { ...opts, message: opts.message ?? `set ${key} ${said}` },
      () => parseConfig(text, `tierfs config set ${key}`, process.cwd()),
      current.version,
    );
  });

  changeOptions(
    config
      .command('rollback')
      .argument('<version>', 'the version whose configuration to run again')
      .description('apply an earlier version again, as a new version (with the same differences and preview as apply)'),
  ).action(async (version: string, opts: ChangeFlags) => {
    await change(socketOf(opts.mount), '/v1/config/rollback', { version: versionNumber(version) }, opts);
  });

  config
    .command('history')
    .option('--json', 'print as JSON')
    .option('--mount <mountpoint>', 'which mount (default: the only one)')
    .description('the configuration versions of a mount, newest last')
    .action(async (opts: { json?: boolean; mount?: string }) => {
      const h = await adminJson<{ current: number; versions: VersionSummary[] }>(socketOf(opts.mount), 'GET', '/v1/config/versions');
      if (opts.json) return printJson(h);
      const rows = h.versions.map((v) => [
        `${v.version}${v.version === h.current ? '*' : ''}`,
        new Date(v.timeMs).toISOString(),
        v.user ?? (v.uid === null ? '?' : `uid ${v.uid}`),
        v.restoredFrom === null ? '' : `from ${v.restoredFrom}`,
        v.message,
      ]);
      process.stdout.write(`${table(['version', 'time', 'by', 'rollback', 'message'], rows)}\n(* running)\n`);
    });

  config
    .command('diff')
    .argument('<from>', 'a version')
    .argument('[to]', 'another version (default: the running one)')
    .option('--json', 'print as JSON')
    .option('--mount <mountpoint>', 'which mount (default: the only one)')
    .description('the keys that differ between two configuration versions')
    .action(async (from: string, to: string | undefined, opts: { json?: boolean; mount?: string }) => {
      const q = `from=${versionNumber(from)}${to === undefined ? '' : `&to=${versionNumber(to)}`}`;
      const d = await adminJson<{ from: number; to: number; lines: string[] }>(socketOf(opts.mount), 'GET', `/v1/config/diff?${q}`);
      if (opts.json) return printJson(d);
      process.stdout.write(`version ${d.from} → ${d.to}:\n${d.lines.length ? d.lines.map((l) => `  ${l}\n`).join('') : '  (no key differs)\n'}`);
    });
}

/** tierfs config show VERSION: the text of a version of the running mount. */
export async function showVersion(version: string, opts: { json?: boolean; mount?: string }): Promise<void> {
  const q = version === 'current' ? '' : `?version=${versionNumber(version)}`;
  const v = await adminJson<ConfigVersion>(socketOf(opts.mount), 'GET', `/v1/config/version${q}`);
  if (opts.json) return printJson(v);
  process.stdout.write(v.text.endsWith('\n') ? v.text : `${v.text}\n`);
}

export function registerTierCommands(program: Command): void {
  const tier = program.command('tier').description('manage the tiers of a running mount');
  tier
    .command('drain')
    .argument('<name>', 'the tier to empty')
    .option('--to <tier>', 'where its files go (default: the next tier down, or the one above for the last)')
    .option('--no-wait', 'queue the moves and return at once')
    .option('--json', 'print the result as JSON')
    .option('--mount <mountpoint>', 'which mount (default: the only one)')
    .description('move every file off a tier through the mover (refused while a rule or a pin would send files back); then it can be removed from tierfs.yaml')
    .action(async (name: string, opts: { to?: string; wait: boolean; json?: boolean; mount?: string }) => {
      const d = await adminJson<DrainAnswer>(socketOf(opts.mount), 'POST', '/v1/tier/drain', { tier: name, to: opts.to, wait: opts.wait });
      if (opts.json) printJson(d);
      else {
        process.stdout.write(`${d.tier} → ${d.to}: ${files(d.queued)} (${formatBytes(d.bytes)}) ${opts.wait ? 'moved' : 'queued'}; ${files(d.left)} left on ${d.tier}\n`);
        for (const f of d.failed) process.stdout.write(`  not moved: ${f.path}: ${f.error}\n`);
      }
      if (d.failed.length > 0) process.exitCode = 1;
    });
}
