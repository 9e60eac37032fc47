// tierfs catalog backup|backups|restore
import { existsSync, renameSync } from 'node:fs';
import type { Command } from 'commander';
import { adminJson, socketPathOf } from '../admin/client.js';
import { catalogPathOf, inspectCatalog, moveCatalogAside, setOrphanWalAside } from '../catalog/health.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { backupStoreOf, type BackupEntry } from '../recovery/backup-store.js';
import { describeRecovery, pickFsid, rebuildCatalog } from '../recovery/rebuild-catalog.js';
import { traceTiers } from '../recovery/traces.js';
import { pickMount } from './info-cmd.js';
import { CliError, formatBytes, printJson, table } from './output.js';
import { refuseIfMounted } from './repair-cmd.js';

const configOf = (flag: string | undefined): Config => loadConfig(flag ?? (existsSync('tierfs.yaml') ? 'tierfs.yaml' : undefined)).config;

/** The id of the catalog in dataDir, when it has one that can be read. */
function catalogFsid(cfg: Config): string | undefined {
  const h = inspectCatalog(catalogPathOf(cfg.dataDir));
  return h.state === 'ok' || h.state === 'empty' ? (h.fsid ?? undefined) : undefined;
}

/** Backups of the catalog's filesystem in the configured store; without a readable catalog, every backup the tiers hold. */
async function listBackups(cfg: Config, fsid: string | undefined): Promise<BackupEntry[]> {
  const id = fsid ?? catalogFsid(cfg);
  if (id !== undefined) return backupStoreOf(cfg).list(id.toLowerCase());
  const traces = await traceTiers(cfg);
  return traces.filesystems.flatMap((f) => f.backups.map((b) => b.entry));
}

export function registerCatalogCommands(program: Command): void {
  const catalog = program.command('catalog').description('backups of the catalog, and restoring one');

  catalog
    .command('backup')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--json', 'print the backup taken as JSON')
    .description('take a catalog backup now (online, through the running daemon), to where catalog.backup sends them')
    .action(async (mountpoint: string | undefined, opts: { json?: boolean }) => {
      const m = pickMount(mountpoint);
      const b = await adminJson<BackupEntry>(socketPathOf(m.dataDir), 'POST', '/v1/catalog/backup', {});
      if (opts.json) return printJson(b);
      process.stdout.write(`backed up the catalog to ${b.key} (${formatBytes(b.size)}, ${b.where})\n`);
    });

  catalog
    .command('backups')
    .option('-c, --config <file>', 'configuration file (default: ./tierfs.yaml, else the embedded default)')
    .option('--fsid <id>', 'backups of this filesystem (default: the catalog’s; without a catalog, all found)')
    .option('--json', 'print as JSON (an array, newest first)')
    .description('list the catalog backups, newest first')
    .action(async (opts: { config?: string; fsid?: string; json?: boolean }) => {
      const backups = await listBackups(configOf(opts.config), opts.fsid);
      if (opts.json) return printJson(backups);
      if (backups.length === 0) return void process.stdout.write('no catalog backups found\n');
      process.stdout.write(`${table(['time', 'size', 'where', 'key'], backups.map((b) => [b.time, formatBytes(b.size), b.where, b.key]))}\n`);
    });

  catalog
    .command('restore')
    .option('-c, --config <file>', 'configuration file (default: ./tierfs.yaml, else the embedded default)')
    .option('--backup <key>', 'this backup (default: the newest good one)')
    .option('--fsid <id>', 'the filesystem whose backup to restore (default: the catalog’s, else the only one the tiers hold)')
    .option('--json', 'print the report as JSON')
    .description(
      'replace the catalog with a backup, then add what the tiers gained since (files written, moved, created after it); ' +
        'the catalog that was there is kept aside. The filesystem must be unmounted',
    )
    .action(async (opts: { config?: string; backup?: string; fsid?: string; json?: boolean }) => {
      const cfg = configOf(opts.config);
      refuseIfMounted(cfg.dataDir);
      const path = catalogPathOf(cfg.dataDir);
      setOrphanWalAside(path);
      const traces = await traceTiers(cfg);
      const fsid = pickFsid(traces, opts.fsid ?? catalogFsid(cfg));
      const backups = traces.filesystems.find((f) => f.fsid === fsid)?.backups ?? [];
      if (backups.length === 0) throw new CliError(`no catalog backups of filesystem ${fsid ?? '(none found)'}; \`tierfs fsck --rebuild\` rebuilds from the tiers alone`);
      const health = inspectCatalog(path);
      const keptAs = moveCatalogAside(path, health.state === 'corrupt' ? 'corrupt' : 'replaced') ?? null;
      try {
        const report = await rebuildCatalog(cfg, {
          why: 'asked: catalog restore',
          fsid,
          backup: opts.backup ? { key: opts.backup } : 'newest',
          requireBackup: true,
          traces,
          catalogKeptAs: keptAs,
        });
        if (opts.json) return printJson(report);
        for (const line of describeRecovery(report)) process.stdout.write(`${line}\n`);
      } catch (err) {
        // Nothing restored: the catalog that was there comes back, unless a rebuilt one took its place.
        if (keptAs && !existsSync(path)) for (const s of ['', '-wal', '-shm']) if (existsSync(keptAs + s)) renameSync(keptAs + s, path + s);
        throw err;
      }
    });
}
