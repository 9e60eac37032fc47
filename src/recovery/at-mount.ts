// No silent new filesystem (issue 18, point 4). Before a mount opens its catalog: if the
// catalog is missing, empty or damaged while the tiers hold a filesystem's data, a new
// empty catalog would get a new filesystem id and hide all of it. Instead the mount
// rebuilds the catalog (catalog.recovery: auto) or stops and prints the command that
// does (refuse). A damaged catalog is always kept aside, never opened for writing.
import { catalogPathOf, inspectCatalog, moveCatalogAside, setOrphanWalAside, type CatalogHealth } from '../catalog/health.js';
import type { Config } from '../config/schema.js';
import { moduleLogger } from '../log.js';
import { filesystemsOn, rebuildCatalog, RecoveryError, type RecoveryReport } from './rebuild-catalog.js';
import { describeTraces, traceTiers, type TierTraces } from './traces.js';

const log = moduleLogger('recovery');

function describeHealth(h: CatalogHealth): string {
  switch (h.state) {
    case 'missing':
      return 'missing';
    case 'empty':
      return 'empty';
    case 'corrupt':
      return `damaged (${h.detail})`;
    case 'ok':
      return 'intact';
  }
}

/**
 * Whether the tiers hold a filesystem this catalog does not show. An empty catalog of
 * its own id with nothing of it on the object tiers but backups is a new filesystem,
 * mounted before: nothing to recover. Local files alone are imported at every mount
 * (how tierfs adopts existing directories), so they need no rebuild.
 */
function holdsHiddenFilesystem(h: CatalogHealth, traces: TierTraces): boolean {
  const found = filesystemsOn(traces);
  if (h.state !== 'empty' || h.fsid === null) return found.length > 0;
  return found.some((f) => f.fsid !== h.fsid || f.manifests + f.objects > 0);
}

export interface PrepareOptions {
  /** the configuration file, for the command a refusal prints */
  configFile?: string;
}

/**
 * Make dataDir's catalog safe to open: returns the recovery report when the catalog
 * was rebuilt, null when it was fine (or there was nothing to lose). Throws
 * RecoveryError, with the command to run, when it will not decide alone.
 */
export async function prepareCatalog(cfg: Config, opts: PrepareOptions = {}): Promise<RecoveryReport | null> {
  const path = catalogPathOf(cfg.dataDir);
  if (setOrphanWalAside(path)) log.warn({ path }, 'a catalog WAL without its catalog was kept aside');
  const health = inspectCatalog(path);
  if (health.state === 'ok') return null;

  const state = describeHealth(health);
  // A damaged catalog is never written to, whatever comes next.
  const keptAs = health.state === 'corrupt' ? moveCatalogAside(path, 'corrupt') ?? null : null;
  if (keptAs) log.error({ path, keptAs, detail: state }, 'the catalog is damaged; kept aside');

  const traces = await traceTiers(cfg);
  const command = `tierfs fsck --rebuild${opts.configFile ? ` --config ${opts.configFile}` : ''}`;
  if (traces.unreadable.length > 0) {
    throw new RecoveryError(
      `the catalog ${path} is ${state}, and these stores could not be listed, so whether they hold this filesystem is unknown:\n` +
        traces.unreadable.map((u) => `  ${u}`).join('\n') +
        `\nMounting now could start a new, empty filesystem over them. When they answer, mount again (or run: ${command})`,
    );
  }
  if (!holdsHiddenFilesystem(health, traces)) {
    if (keptAs) {
      // Nothing of a filesystem on the object tiers: a new catalog, with the local tiers imported, loses nothing.
      return rebuildCatalog(cfg, { why: `catalog ${state}`, backup: 'none', traces, catalogKeptAs: keptAs });
    }
    return null;
  }

  const found = filesystemsOn(traces);
  const what = describeTraces(traces).map((l) => `  ${l}`).join('\n');
  if (found.length > 1) {
    throw new RecoveryError(
      `the catalog ${path} is ${state}, and the tiers hold several filesystems:\n${what}\n` +
        `Mounting now would start a new, empty one and hide them. Rebuild the catalog of the one to mount:\n` +
        found.map((f) => `  ${command} --fsid ${f.fsid}`).join('\n'),
    );
  }
  if (cfg.catalog.recovery === 'refuse') {
    throw new RecoveryError(
      `the catalog ${path} is ${state}, but the tiers hold a filesystem:\n${what}\n` +
        `Mounting now would start a new, empty filesystem and hide it. Rebuild the catalog (newest good backup, then the tiers):\n` +
        `  ${command}\nthen mount again. (catalog.recovery: auto does this at mount.)`,
    );
  }
  // An empty catalog is kept aside too: it is what the rebuild replaces.
  const aside = keptAs ?? (health.state === 'empty' ? moveCatalogAside(path, 'empty') ?? null : null);
  log.warn({ path, state, found: describeTraces(traces) }, 'the catalog is lost but the tiers hold the filesystem: rebuilding it before mounting');
  return rebuildCatalog(cfg, { why: `catalog ${state} at mount`, fsid: found[0]!.fsid, backup: 'newest', traces, catalogKeptAs: aside });
}
