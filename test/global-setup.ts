// Tests run the CLI and the daemon as a user does: `node bin/tierfs.js`, which runs the
// compiled dist/. Starting from dist/ takes about a second; through tsx (the sources,
// transpiled at every start) it took five on this machine, for every mount and every CLI
// call of the suite. So the suite compiles once, here, whenever a source is newer than
// the last build — never a stale dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..');
// tsc writes every output on each run: the CLI's entry point dates the last build.
const STAMP = join(REPO, 'dist', 'cli', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  if (built > Math.max(newestSource(join(REPO, 'src')), statSync(join(REPO, 'tsconfig.json')).mtimeMs)) return;
  const started = Date.now();
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.json')], { stdio: 'inherit' });
  console.log(`compiled src/ to dist/ for the CLI and daemon the tests start (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
