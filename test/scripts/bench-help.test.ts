// `npm run bench -- NAME --help` answers with the bench's options and exits 0 without
// starting the benchmark (which mounts, starts servers and runs for minutes).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/tierfs.js';

const benchDir = join(REPO, 'scripts', 'bench');
const benches = readdirSync(benchDir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));

/** The options a bench reads from its arguments, found in its source. */
function optionsOf(source: string): string[] {
  const called = [...source.matchAll(/(?:opt|option|flag|includes|indexOf)\('(--[a-z][a-z-]*)'/g)].map((m) => m[1]!);
  // node:util parseArgs({ options: { json: {...}, 'ram-mib': {...} } })
  const parsed = /parseArgs\(\{\s*options:\s*\{([\s\S]*?)\n\s*\},\n/.exec(source);
  const declared = parsed ? [...parsed[1]!.matchAll(/^\s*'?([a-z][a-z-]*)'?:\s*\{/gm)].map((m) => `--${m[1]}`) : [];
  return [...new Set([...called, ...declared])];
}

describe('npm run bench -- NAME --help', () => {
  it('finds the benches and the options each reads', () => {
    expect(benches).toEqual(expect.arrayContaining(['ec', 'fuse', 'fuse-binding', 'objectstore', 'placement', 'recall']));
    expect(optionsOf(readFileSync(join(benchDir, 'ec.ts'), 'utf8'))).toEqual(expect.arrayContaining(['--json', '--ram-mib', '--modes']));
  });

  it.each(benches)('%s --help prints its options and exits 0 at once', (name) => {
    const started = Date.now();
    const r = spawnSync('npm', ['run', '--silent', 'bench', '--', name, '--help'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined(); // not killed by the timeout: it did not start the benchmark
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`npm run bench -- ${name}`);
    for (const option of optionsOf(readFileSync(join(benchDir, `${name}.ts`), 'utf8'))) expect(r.stdout, option).toContain(option);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
