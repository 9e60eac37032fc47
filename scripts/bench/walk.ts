// npm run bench -- walk [--files N] [--dirs N] [--modes LIST] [--commands LIST] [--rounds N] [--catalog-cached] [--json]
//   (defaults: --files 200000, --dirs 200, --modes adaptive,always,off, --commands find,find-size,du,
//    --rounds 2)
//
// Walking a tree through the mount with each `mount.readdirplus` setting, beside the plain
// directory, in the same run. The tree (--files empty files in --dirs directories) is
// written into the hot tier's volume and imported by a first mount; a copy of it lies in
// a plain directory on the same filesystem. Each walk runs on a just-started mount (the
// kernel holds none of its inodes), after the page, dentry and inode caches are dropped,
// and the plain directory's walk right after, the same way. With --catalog-cached the
// mount's catalog is read back into the page cache after the drop, as it is after a mount
// (whose reconciliation reads it whole): only the tree's own data is cold. The commands:
//   find        `find DIR | wc -l`: names alone
//   find-size   `find DIR -size +0 | wc -l`: stats every file
//   du          `du -s DIR`: stats every entry
//   ls-lR       `ls -lR DIR`: stats every entry and asks two xattrs of each
// Rounds alternate between settings and commands; the table has the median and the range,
// the ratio to the plain directory's median, and the listing pages of the walk: answered
// in JavaScript (with attributes / without) and by the binding itself (pages of names read
// ahead). Target (issue 15): `find` ≤ 2× the plain directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../../test/helpers/tierfs.js';
import { tempDir } from '../../test/helpers/tmp.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const json = args.includes('--json');
const CATALOG_CACHED = args.includes('--catalog-cached');
const FILES = Number(opt('--files', '200000'));
const DIRS = Math.max(1, Math.min(Number(opt('--dirs', '200')), FILES));
const ROUNDS = Number(opt('--rounds', '2'));
type Mode = 'adaptive' | 'always' | 'auto' | 'off';
const MODES = opt('--modes', 'adaptive,always,off').split(',') as Mode[];
const COMMANDS: Record<string, string> = {
  find: "find '%s' | wc -l",
  'find-size': "find '%s' -size +0 | wc -l",
  du: "du -s '%s' > /dev/null",
  'ls-lR': "ls -lR '%s' > /dev/null",
};
const commands = opt('--commands', 'find,find-size,du').split(',');
for (const c of commands) if (!COMMANDS[c]) throw new Error(`unknown command ${c}: one of ${Object.keys(COMMANDS).join(', ')}`);
for (const m of MODES) if (!['adaptive', 'always', 'auto', 'off'].includes(m)) throw new Error(`unknown mode ${m}`);

const note = (line: string) => process.stderr.write(`${line}\n`);

function dropCaches(): void {
  try {
    execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
  } catch {
    note('warning: cannot drop the caches (not root?): walks may be served from memory');
  }
}

/** Seconds the command took over root, caches dropped first (then the files `cached` read back in). */
function walk(command: string, root: string, cached: string[] = []): number {
  dropCaches();
  for (const f of cached) execFileSync('cat', [f], { stdio: 'ignore' });
  const t0 = process.hrtime.bigint();
  execFileSync('sh', ['-c', COMMANDS[command]!.replace('%s', root)], { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function makeTree(root: string): void {
  for (let d = 0; d < DIRS; d++) {
    const dir = join(root, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = d; f < FILES; f += DIRS) writeFileSync(join(dir, `file-${f}.dat`), '');
  }
}

interface Pages {
  with: number;
  without: number;
  native: number;
}

async function pagesOf(t: TierfsMount): Promise<Pages> {
  return {
    with: await t.metric('tierfs_fuse_listing_pages_total', { attributes: 'with' }),
    without: await t.metric('tierfs_fuse_listing_pages_total', { attributes: 'without' }),
    native: await t.metric('tierfs_fuse_listing_pages_answered_natively_total'),
  };
}

interface Row {
  command: string;
  target: string;
  seconds: number[];
  pages?: Pages;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const mounts: TierfsMount[] = [];
const plain = tempDir('bench-walk-plain-');
const rows = new Map<string, Row>();
const row = (command: string, target: string) => {
  const key = `${command}\t${target}`;
  if (!rows.has(key)) rows.set(key, { command, target, seconds: [] });
  return rows.get(key)!;
};

async function main(): Promise<void> {
  note(`writing ${FILES} files in ${DIRS} directories, into each mount's hot tier and a plain directory`);
  makeTree(plain.path);
  for (const mode of MODES) {
    // Imported at the first mount; a large tree takes a while.
    const t = new TierfsMount({ readdirplus: mode, cacheTimeout: '1s', metrics: true, recording: false, startTimeoutMs: 30_000 + FILES / 10 });
    mounts.push(t);
    makeTree(join(t.hot, 'tree'));
    await t.start();
    await t.stop();
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const command of commands) {
      for (const [i, mode] of MODES.entries()) {
        const t = mounts[i]!;
        await t.start();
        try {
          const before = await pagesOf(t);
          const catalog = join(t.dataDir, 'catalog.db');
          const s = walk(command, join(t.mnt, 'tree'), CATALOG_CACHED ? [catalog, `${catalog}-wal`].filter((f) => existsSync(f)) : []);
          const after = await pagesOf(t);
          const r = row(command, mode);
          r.seconds.push(s);
          r.pages = { with: after.with - before.with, without: after.without - before.without, native: after.native - before.native };
        } finally {
          await t.stop();
        }
      }
      row(command, 'plain directory').seconds.push(walk(command, plain.path));
    }
    note(`round ${round + 1} of ${ROUNDS} done`);
  }
}

try {
  await main();
} finally {
  for (const t of mounts) await t.dispose().catch((err: Error) => note(`cleanup: ${err.message}`));
  plain.remove();
}

const all = [...rows.values()];
if (json) {
  for (const r of all) process.stdout.write(`${JSON.stringify({ ...r, median: median(r.seconds) })}\n`);
} else {
  process.stdout.write(`${FILES.toLocaleString('en')} files in ${DIRS} directories; each walk on a just-started mount, caches dropped${CATALOG_CACHED ? ' (the catalog then read back: cached, as after a mount)' : ' (the catalog too)'}; median of ${ROUNDS} rounds (range)\n`);
  process.stdout.write('pages: listing pages answered in JavaScript with attributes / without, and by the binding from names read ahead\n\n');
  const line = (cells: string[]) => `${cells[0]!.padEnd(11)}${cells[1]!.padEnd(17)}${cells.slice(2).map((c, i) => c.padStart([10, 14, 10, 28][i]!)).join('')}\n`;
  process.stdout.write(line(['command', 'target', 'seconds', 'range', 'ratio', 'pages with/without/ahead']));
  for (const command of commands) {
    const base = median(row(command, 'plain directory').seconds);
    for (const r of all.filter((x) => x.command === command)) {
      const m = median(r.seconds);
      const range = `${Math.min(...r.seconds).toFixed(2)}–${Math.max(...r.seconds).toFixed(2)}`;
      const pages = r.pages ? `${r.pages.with}/${r.pages.without}/${r.pages.native}` : '';
      process.stdout.write(line([command, r.target, m.toFixed(2), range, r.target === 'plain directory' ? '' : `${(m / base).toFixed(2)}×`, pages]));
    }
  }
  const find = all.find((r) => r.command === 'find' && r.target === 'adaptive');
  const plainFind = all.find((r) => r.command === 'find' && r.target === 'plain directory');
  if (find && plainFind) {
    const ratio = median(find.seconds) / median(plainFind.seconds);
    process.stdout.write(`\ntarget: find ≤ 2× the plain directory (adaptive, the default): ${ratio.toFixed(2)}× ${ratio <= 2 ? 'met' : 'NOT met'}\n`);
  }
}
