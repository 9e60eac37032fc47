// tierfs scrub, tierfs fsck
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScrubProgress } from '../admin/api.js';
import { adminLines, socketPathOf } from '../admin/client.js';
import { Catalog } from '../catalog/catalog.js';
import { loadConfig } from '../config/load.js';
import type { ObjectTierConfig } from '../config/schema.js';
import { createObjectStore } from '../objectstore/index.js';
import { defaultCacheDir, openObjectTier } from '../tiers/object/index.js';
import { fsck } from '../vfs/rebuild.js';
import { pickMount } from './info-cmd.js';
import { CliError, printJson } from './output.js';
import { ProgressBar } from './progress.js';

export function registerRepairCommands(program: Command): void {
  program
    .command('scrub')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--tier <tier>', 'only this object tier')
    .option('--repair', 'rewrite missing or corrupt cells, rebuilt from the rest of their stripe')
    .option('--json', 'print the summary as JSON')
    .description('read every cell on the object tiers and check its checksum; with --repair rebuild what is lost (paced to mover.bandwidth)')
    .action(async (mountpoint: string | undefined, opts: { tier?: string; repair?: boolean; json?: boolean }) => {
      const m = pickMount(mountpoint);
      const bar = new ProgressBar(opts.repair ? 'scrub+repair' : 'scrub');
      let last: ScrubProgress | undefined;
      const damaged: string[] = [];
      await adminLines(socketPathOf(m.dataDir), '/v1/scrub', { tier: opts.tier, repair: Boolean(opts.repair) }, (v) => {
        last = v as ScrubProgress;
        if (last.report.cellsBad > 0) damaged.push(`${last.path}: ${last.report.cellsBad} bad cells, ${last.report.cellsRepaired} repaired${last.report.stripesLost ? `, ${last.report.stripesLost} stripes LOST` : ''}`);
        bar.update(last.done, last.files, last.path);
      });
      bar.done();
      const total = last?.total ?? { cellsChecked: 0, cellsBad: 0, cellsRepaired: 0, stripesLost: 0 };
      if (opts.json) printJson({ files: last?.done ?? 0, ...total, damaged });
      else {
        for (const d of damaged) process.stdout.write(`${d}\n`);
        process.stdout.write(
          `scrubbed ${last?.done ?? 0} files: ${total.cellsChecked} cells checked, ${total.cellsBad} bad, ${total.cellsRepaired} repaired, ${total.stripesLost} stripes lost\n`,
        );
      }
      if (total.stripesLost > 0 || total.cellsBad > total.cellsRepaired) process.exitCode = 1;
    });

  program
    .command('fsck')
    .option('-c, --config <file>', 'configuration file (default: ./tierfs.yaml, else the embedded default)')
    .option('--rebuild', 'add to the catalog every file found on an object tier that it lacks')
    .option('--json', 'print the report as JSON')
    .description('check the catalog against the manifests on the object tiers, or rebuild it from them (the filesystem must be unmounted)')
    .action(async (opts: { config?: string; rebuild?: boolean; json?: boolean }) => {
      const file = opts.config ?? (existsSync('tierfs.yaml') ? 'tierfs.yaml' : undefined);
      const { config } = loadConfig(file);
      const pidFile = join(config.dataDir, 'daemon.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        try {
          process.kill(pid, 0);
          throw new CliError(`tierfs is mounted from ${config.dataDir} (pid ${pid}): unmount it first`);
        } catch (err) {
          if (err instanceof CliError) throw err;
        }
      }
      const catalog = new Catalog(join(config.dataDir, 'catalog.db'));
      try {
        const objectTiers = config.tiers.filter((t) => t.kind === 'object');
        // A new catalog has a new filesystem id; the manifests carry the old one.
        const adopted = opts.rebuild ? await adoptFsid(catalog, objectTiers) : undefined;
        const tiers = [];
        for (const t of objectTiers) tiers.push(await openObjectTier(t, catalog.fsid, defaultCacheDir(config.dataDir, t.name), { diskCacheBytes: 0 }));
        const report = await fsck(catalog, tiers, Boolean(opts.rebuild));
        await Promise.all(tiers.map((t) => t.close()));
        if (opts.json) return printJson({ ...report, adoptedFsid: adopted ?? null });
        process.stdout.write(`${report.manifests} manifests, ${report.consistent} cold files consistent\n`);
        for (const p of report.missingManifest) process.stdout.write(`missing manifest: ${p}\n`);
        for (const p of report.unknownManifests) process.stdout.write(`not in the catalog: ${p}\n`);
        for (const p of report.restored) process.stdout.write(`restored: ${p}\n`);
        for (const p of report.skipped) process.stdout.write(`skipped: ${p}\n`);
        if (!opts.rebuild && (report.missingManifest.length || report.unknownManifests.length)) process.exitCode = 1;
      } finally {
        catalog.close();
      }
    });
}

/**
 * An empty catalog (lost, or deleted) is new and so has a new filesystem id. When it
 * holds no files yet and the object tiers hold manifests of exactly one filesystem,
 * it takes that id so the rebuild finds them. Keys start with the fsid (tiers/object/keys.ts).
 */
async function adoptFsid(catalog: Catalog, tiers: ObjectTierConfig[]): Promise<string | undefined> {
  if (catalog.inodeCount() > 1) return undefined;
  const ids = new Set<string>();
  for (const t of tiers) {
    for (const backend of t.backends) {
      const store = createObjectStore(backend);
      for await (const e of store.list('')) if (e.key.endsWith('/manifest')) ids.add(e.key.slice(0, e.key.indexOf('/')));
    }
  }
  if (ids.size !== 1) return undefined;
  const [fsid] = ids;
  catalog.setFsid(fsid!);
  return fsid;
}
