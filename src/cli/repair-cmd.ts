// tierfs scrub, tierfs fsck
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScrubProgress } from '../admin/api.js';
import { adminLines, socketPathOf } from '../admin/client.js';
import { resolve } from 'node:path';
import { Catalog } from '../catalog/catalog.js';
import { catalogPathOf, inspectCatalog, moveCatalogAside, setOrphanWalAside } from '../catalog/health.js';
import { loadConfig } from '../config/load.js';
import { completeCatalog, describeRecovery, rebuildCatalog, type RecoveryReport } from '../recovery/rebuild-catalog.js';
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
        const r = last.report;
        if (r.cellsBad > 0) damaged.push(`${last.path}: ${r.cellsBad} bad cells, ${r.cellsRepaired} repaired${r.stripesLost ? `, ${r.stripesLost} stripes LOST` : ''}`);
        if (r.manifestsBad) damaged.push(`${last.path}: ${r.manifestsBad} missing or bad manifest copies, ${r.manifestsRepaired ?? 0} written again`);
        bar.update(last.done, last.files, last.path);
      });
      bar.done();
      const total = last?.total ?? { cellsChecked: 0, cellsBad: 0, cellsRepaired: 0, stripesLost: 0 };
      if (opts.json) printJson({ files: last?.done ?? 0, ...total, damaged });
      else {
        for (const d of damaged) process.stdout.write(`${d}\n`);
        process.stdout.write(
          `scrubbed ${last?.done ?? 0} files: ${total.cellsChecked} cells checked, ${total.cellsBad} bad, ${total.cellsRepaired} repaired, ${total.stripesLost} stripes lost; ` +
            `${total.manifestsChecked ?? 0} manifest copies checked, ${total.manifestsBad ?? 0} bad, ${total.manifestsRepaired ?? 0} repaired\n`,
        );
      }
      if (total.stripesLost > 0 || total.cellsBad > total.cellsRepaired || (total.manifestsBad ?? 0) > (total.manifestsRepaired ?? 0)) process.exitCode = 1;
    });

  program
    .command('fsck')
    .option('-c, --config <file>', 'configuration file (default: ./tierfs.yaml, else the embedded default)')
    .option('--rebuild', 'rebuild the catalog: from the newest good backup (when it is missing, empty or damaged), then the manifests and local tiers')
    .option('--fsid <id>', 'the filesystem to rebuild when the tiers hold several')
    .option('--no-backup', 'rebuild from the tiers alone, without a catalog backup')
    .option('--json', 'print the report as JSON')
    .description('check the catalog against the manifests on the object tiers, or rebuild it (the filesystem must be unmounted)')
    .action(async (opts: { config?: string; rebuild?: boolean; fsid?: string; backup: boolean; json?: boolean }) => {
      const file = opts.config ?? (existsSync('tierfs.yaml') ? 'tierfs.yaml' : undefined);
      const { config } = loadConfig(file);
      refuseIfMounted(config.dataDir);
      const path = catalogPathOf(config.dataDir);
      setOrphanWalAside(path);
      const health = inspectCatalog(path);
      if (opts.rebuild) {
        let report: RecoveryReport;
        if (health.state === 'ok' && (opts.fsid === undefined || opts.fsid.toLowerCase() === health.fsid)) {
          report = await completeCatalog(config, 'asked: fsck --rebuild');
        } else {
          const keptAs = moveCatalogAside(path, health.state === 'ok' ? 'replaced' : health.state) ?? null;
          report = await rebuildCatalog(config, {
            why: `asked: fsck --rebuild (catalog ${health.state === 'corrupt' ? `damaged: ${health.detail}` : health.state})`,
            fsid: opts.fsid,
            backup: opts.backup ? 'newest' : 'none',
            catalogKeptAs: keptAs,
          });
        }
        if (opts.json) return printJson(report);
        for (const line of describeRecovery(report)) process.stdout.write(`${line}\n`);
        return;
      }
      if (health.state !== 'ok') {
        const state = health.state === 'corrupt' ? `damaged (${health.detail})` : health.state;
        const command = `tierfs fsck --rebuild${file ? ` --config ${resolve(file)}` : ''}`;
        if (opts.json) printJson({ catalog: health.state, detail: health.state === 'corrupt' ? health.detail : null, path, command });
        else process.stdout.write(`the catalog ${path} is ${state}: nothing to check the tiers against; rebuild it with: ${command}\n`);
        process.exitCode = 1;
        return;
      }
      const catalog = new Catalog(path);
      try {
        const tiers = [];
        for (const t of config.tiers) {
          if (t.kind === 'object') tiers.push(await openObjectTier(t, catalog.fsid, defaultCacheDir(config.dataDir, t.name), { diskCacheBytes: 0 }));
        }
        const report = await fsck(catalog, tiers, false);
        await Promise.all(tiers.map((t) => t.close()));
        if (opts.json) return printJson(report);
        process.stdout.write(`${report.manifests} manifests, ${report.consistent} cold files consistent\n`);
        for (const p of report.missingManifest) process.stdout.write(`missing manifest: ${p}\n`);
        for (const p of report.unknownManifests) process.stdout.write(`not in the catalog: ${p}\n`);
        if (report.missingManifest.length || report.unknownManifests.length) process.exitCode = 1;
      } finally {
        catalog.close();
      }
    });
}

/** Commands that rewrite the catalog run only while no daemon holds it. */
export function refuseIfMounted(dataDir: string): void {
  const pidFile = join(dataDir, 'daemon.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 0);
  } catch {
    return; // a stale pid file: its daemon is gone
  }
  throw new CliError(`tierfs is mounted from ${dataDir} (pid ${pid}): unmount it first`);
}
