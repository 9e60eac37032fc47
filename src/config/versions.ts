// Configuration versions in the catalog (migration 8): every configuration the daemon
// runs is one row — who applied it, why, the YAML text and its hash, the version it
// replaced and, for a rollback, the version it copied. The newest `keep` are kept.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

export interface ConfigVersion {
  version: number;
  parent: number | null;
  timeMs: number;
  uid: number | null;
  user: string | null;
  message: string;
  text: string;
  hash: string;
  restoredFrom: number | null;
  /** false while the config file does not hold this text yet (a crash in between: see reconcileConfigFile) */
  fileWritten: boolean;
}

export type NewVersion = Pick<ConfigVersion, 'uid' | 'user' | 'message' | 'text' | 'restoredFrom'> & { fileWritten: boolean };

export const hashText = (text: string) => createHash('sha256').update(text).digest('hex');

interface Row {
  version: number;
  parent: number | null;
  time_ms: number;
  uid: number | null;
  user: string | null;
  message: string;
  text: string;
  hash: string;
  restored_from: number | null;
  file_written: number;
}

const fromRow = (r: Row): ConfigVersion => ({
  version: r.version,
  parent: r.parent,
  timeMs: r.time_ms,
  uid: r.uid,
  user: r.user,
  message: r.message,
  text: r.text,
  hash: r.hash,
  restoredFrom: r.restored_from,
  fileWritten: r.file_written === 1,
});

export class ConfigVersions {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    /** versions kept; older ones are deleted as new ones come */
    public keep = 100,
    /** commits what the connection's owner has pending (the catalog's open group): add() syncs on its own */
    private readonly commitPending: () => void = () => undefined,
  ) {
    this.s = {
      latest: db.prepare<[], Row>('SELECT * FROM config_versions ORDER BY version DESC LIMIT 1'),
      get: db.prepare<[number], Row>('SELECT * FROM config_versions WHERE version = ?'),
      list: db.prepare<[], Row>('SELECT * FROM config_versions ORDER BY version'),
      add: db.prepare(
        `INSERT INTO config_versions (version, parent, time_ms, uid, user, message, text, hash, restored_from, file_written)
         VALUES (@version, @parent, @timeMs, @uid, @user, @message, @text, @hash, @restoredFrom, @fileWritten)`,
      ),
      written: db.prepare('UPDATE config_versions SET file_written = 1 WHERE version = ?'),
      remove: db.prepare('DELETE FROM config_versions WHERE version = ?'),
      prune: db.prepare('DELETE FROM config_versions WHERE version <= ?'),
    };
  }

  latest(): ConfigVersion | undefined {
    const r = this.s.latest.get();
    return r && fromRow(r);
  }

  get(version: number): ConfigVersion | undefined {
    const r = this.s.get.get(version);
    return r && fromRow(r);
  }

  list(): ConfigVersion[] {
    return this.s.list.all().map(fromRow);
  }

  /**
   * Record the next version, child of the newest, and drop those beyond `keep`. Synced
   * to disk before it returns (synchronous = FULL for this transaction): the config file
   * is written only after, so even a power cut cannot leave a file ahead of the catalog.
   */
  add(v: NewVersion, timeMs = Date.now()): ConfigVersion {
    this.commitPending(); // the safety level cannot change inside a transaction
    const before = this.db.pragma('synchronous', { simple: true }) as number;
    this.db.pragma('synchronous = FULL');
    try {
      return this.addNow(v, timeMs);
    } finally {
      this.db.pragma(`synchronous = ${before}`);
    }
  }

  private addNow(v: NewVersion, timeMs: number): ConfigVersion {
    return this.db.transaction(() => {
      const parent = this.latest()?.version ?? null;
      const version = (parent ?? 0) + 1;
      const row = { ...v, version, parent, timeMs, hash: hashText(v.text), fileWritten: v.fileWritten ? 1 : 0 };
      this.s.add.run(row);
      if (this.keep > 0) this.s.prune.run(version - this.keep);
      return { ...row, fileWritten: v.fileWritten };
    })();
  }

  markWritten(version: number): void {
    this.s.written.run(version);
  }

  /** Take back a version whose file could not be written (it never ran). */
  remove(version: number): void {
    this.s.remove.run(version);
  }
}
