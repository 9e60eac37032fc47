// `npm run bench -- NAME [args]` runs scripts/bench/NAME.ts, which prints its table.
// `npm run bench -- NAME --help` prints that bench's own account of itself (the comment
// it opens with: what it measures and its options) without loading it: a bench starts
// its work as soon as it is loaded.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'bench');
const names = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || !names.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [--json] [options]\n       npm run bench -- NAME --help\nbenchmarks: ${names.join(', ')}\n`);
  process.exit(name && name !== '--help' && name !== '-h' ? 2 : 0);
}
const file = join(dir, `${name}.ts`);
if (rest.includes('--help') || rest.includes('-h')) {
  process.stdout.write(`${leadingComment(readFileSync(file, 'utf8'))}\n`);
  process.exit(0);
}
process.argv = [process.argv[0]!, file, ...rest];
await import(pathToFileURL(file).href);

/** The `//` lines a file opens with, without the slashes. */
function leadingComment(source: string): string {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}
