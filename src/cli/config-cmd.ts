// tierfs init, tierfs config validate|show|docs|schema (and, on a running mount,
// apply|set|history|diff|rollback: config-live-cmd.ts)
import { existsSync, writeFileSync, mkdirSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { configSchema } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { describeKeys, renderKeyDocsMarkdown, renderKeyDocsText } from '../config/docs.js';
import { starterConfig } from '../config/template.js';
import { CliError, formatBytes, printJson } from './output.js';
import { cellsInParts, survivableBackendLosses } from '../tiers/object/index.js';
import { registerConfigLiveCommands, registerTierCommands, showVersion } from './config-live-cmd.js';
import { configJsonSchema } from '../config/json-schema.js';
import { describePricing, priceTiers } from '../cost/pricing.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('init')
    .argument('[dir]', 'where to write tierfs.yaml', '.')
    .option('--force', 'overwrite an existing tierfs.yaml')
    .description('write a commented starter tierfs.yaml: hot and warm local tiers and a cold tier on a local object store')
    .action((dir: string, opts: { force?: boolean }) => {
      mkdirSync(dir, { recursive: true });
      const file = join(resolve(dir), 'tierfs.yaml');
      if (existsSync(file) && !opts.force) throw new CliError(`${file} exists; use --force to overwrite it`);
      const fs = statfsSync(dirname(file));
      writeFileSync(file, starterConfig({ totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize }));
      process.stdout.write(`wrote ${file}\nnext: tierfs mount --config ${file} MOUNTPOINT\n`);
    });

  const config = program.command('config').description('check and show configuration');
  config
    .command('validate')
    .argument('[file]', 'configuration file', 'tierfs.yaml')
    .option('--json', 'print the result as JSON')
    .description('check a configuration file; exits non-zero and names each bad key and line')
    .action((file: string, opts: { json?: boolean }) => {
      const { config: cfg, file: path } = loadConfig(file);
      const durability = cfg.tiers.flatMap((t) =>
        t.kind === 'object'
          ? [{ tier: t.name, k: t.scheme.k, m: t.scheme.m, backends: t.backends.length, survivesBackendLosses: survivableBackendLosses(t.scheme.k, t.scheme.m, t.backends.length), cellsInParts: cellsInParts(t) }]
          : [],
      );
      const prices = priceTiers(cfg);
      if (opts.json) return printJson({ valid: true, file: path, durability, prices, config: cfg });
      process.stdout.write(`${path}: valid (${cfg.tiers.length} tiers: ${cfg.tiers.map((t) => t.name).join(', ')})\n`);
      for (const d of durability) {
        process.stdout.write(
          `  ${d.tier}: ${d.k}+${d.m} over ${d.backends} backend${d.backends > 1 ? 's' : ''}: any ${d.m} cells of a stripe may be lost; ` +
            `survives the loss of ${d.survivesBackendLosses} whole backend${d.survivesBackendLosses === 1 ? '' : 's'}\n`,
        );
        for (const b of d.cellsInParts) {
          process.stdout.write(
            `  ${d.tier}: a cell is ${b.cellBytes.toLocaleString('en-US')} bytes (chunkSize/${d.k} and a header), above backend ${b.backend}'s ` +
              `multipartThreshold of ${b.multipartThreshold.toLocaleString('en-US')} (${formatBytes(b.multipartThreshold)}): ` +
              `each goes up as a multipart upload, three requests or more beyond one put; raise multipartThreshold above the cell size\n`,
          );
        }
      }
      process.stdout.write(`prices (tierfs report cost):\n${describePricing(prices).map((l) => `  ${l}\n`).join('')}`);
    });
  config
    .command('show')
    .argument('[file|version]', 'a configuration file (default: the embedded default), or a version number (or "current") of the running mount')
    .option('--json', 'a version: print it as JSON (with who, when, why)')
    .option('--mount <mountpoint>', 'a version: of which mount (default: the only one)')
    .description('a file: print its effective configuration, defaults filled in, as JSON; a version: print its YAML text')
    .action((arg: string | undefined, opts: { json?: boolean; mount?: string }) =>
      arg !== undefined && /^(\d+|current)$/.test(arg) ? showVersion(arg, opts) : printJson(loadConfig(arg).config),
    );
  config
    .command('schema')
    .description('print the JSON Schema of tierfs.yaml (committed as docs/tierfs.schema.json; see the README for editors)')
    .action(() => printJson(configJsonSchema()));
  config
    .command('docs')
    .option('--json-schema', 'print the JSON Schema instead of the key reference')
    .option('--markdown', 'print the key reference as Markdown (a table)')
    .option('--json', 'print the key reference as JSON (key, type, default, syntax, meaning)')
    .description('the reference of every configuration key (type, default, units, meaning), generated from the schema')
    .action((opts: { jsonSchema?: boolean; markdown?: boolean; json?: boolean }) => {
      // The same schema as docs/tierfs.schema.json (tierfs config schema).
      if (opts.jsonSchema) return printJson(configJsonSchema());
      const keys = describeKeys(configSchema);
      if (opts.json) return printJson(keys);
      process.stdout.write(opts.markdown ? renderKeyDocsMarkdown(keys) : renderKeyDocsText(keys));
    });
  registerConfigLiveCommands(config);
  registerTierCommands(program);
}
