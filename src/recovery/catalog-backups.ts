// Automatic backups of the catalog (issue 18, point 2). The catalog is the one copy of
// much of the namespace and sits on the hot tier's disk: when that disk dies, a
// backup elsewhere (an object tier, another disk) is what a rebuild starts from.
//
// A backup is SQLite's online backup of the catalog into a private file (page steps
// between which the mount goes on), gzip-compressed on the thread pool, and sent to
// the store as a stream; then the oldest beyond `keep` are deleted. One runs at a time.
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Catalog } from '../catalog/catalog.js';
import { timeStamp } from '../catalog/health.js';
import { moduleLogger } from '../log.js';
import type { BackupEntry, BackupStore } from './backup-store.js';

const log = moduleLogger('catalog-backup');

export interface CatalogBackupsOptions {
  keep: number;
  /** private directory for the copy while it is compressed (under dataDir) */
  workDir: string;
}

export interface CatalogBackupStatus {
  where: string;
  keep: number;
  last: BackupEntry | null;
  /** the catalog changed since the last backup (or none was taken by this daemon) */
  pending: boolean;
}

export class CatalogBackups {
  private last: BackupEntry | null = null;
  /** catalog.changeCount() when the last backup was taken */
  private changesAtLast = -1;
  private running: Promise<BackupEntry | null> | undefined;

  constructor(
    private readonly catalog: Catalog,
    readonly store: BackupStore,
    private readonly opts: CatalogBackupsOptions,
  ) {
    // Copies left by a backup that a crash cut short: nothing else lives there.
    rmSync(opts.workDir, { recursive: true, force: true });
  }

  /**
   * Take a backup unless nothing changed since the last one (force: take it anyway).
   * A call while one runs waits for it and then runs its own.
   */
  async take(opts: { force?: boolean } = {}): Promise<BackupEntry | null> {
    while (this.running) await this.running.catch(() => undefined);
    if (!opts.force && this.changesAtLast === this.catalog.changeCount()) return null;
    this.running = this.takeNow().finally(() => (this.running = undefined));
    return this.running;
  }

  status(): CatalogBackupStatus {
    return { where: this.store.where, keep: this.opts.keep, last: this.last, pending: this.changesAtLast !== this.catalog.changeCount() };
  }

  private async takeNow(): Promise<BackupEntry> {
    const started = new Date();
    const changes = this.catalog.changeCount();
    mkdirSync(this.opts.workDir, { recursive: true, mode: 0o700 });
    const copy = join(this.opts.workDir, `catalog-${timeStamp(started)}.db`);
    const gz = `${copy}.gz`;
    try {
      await this.catalog.backupTo(copy);
      await pipeline(createReadStream(copy), createGzip(), createWriteStream(gz, { mode: 0o600 }));
      const entry = await this.store.put(this.catalog.fsid, started, createReadStream(gz));
      this.last = entry;
      this.changesAtLast = changes;
      const pruned = await this.store.prune(this.catalog.fsid, this.opts.keep);
      log.info({ key: entry.key, where: entry.where, bytes: entry.size, catalogBytes: statSync(copy).size, pruned: pruned.length, ms: Date.now() - started.getTime() }, 'catalog backed up');
      return entry;
    } finally {
      rmSync(copy, { force: true });
      rmSync(gz, { force: true });
    }
  }
}
