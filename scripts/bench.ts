// `npm run bench -- NAME [args]` runs scripts/bench/NAME.ts, which prints its table.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'bench');
const names = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || !names.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [--json] [options]\nbenchmarks: ${names.join(', ')}\n`);
  process.exit(name && name !== '--help' ? 2 : 0);
}
process.argv = [process.argv[0]!, join(dir, `${name}.ts`), ...rest];
await import(pathToFileURL(join(dir, `${name}.ts`)).href);
