// Versioned schema of the catalog. Migration N brings PRAGMA user_version from N-1
// to N; an existing catalog is upgraded in one transaction at open. Never edit a
// migration that has shipped: add the next one.
export const MIGRATIONS: readonly string[] = [
  // 1: namespace, attributes, placement, xattrs, access statistics and log
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- One row per inode. Times are nanoseconds since the epoch. For a regular file,
  -- tier/volume say where its bytes are and data_path is its path relative to the
  -- volume root (one of its names; hard links exist there as hard links too).
  CREATE TABLE inodes (
    ino        INTEGER PRIMARY KEY AUTOINCREMENT,
    mode       INTEGER NOT NULL,
    uid        INTEGER NOT NULL,
    gid        INTEGER NOT NULL,
    nlink      INTEGER NOT NULL,
    rdev       INTEGER NOT NULL DEFAULT 0,
    size       INTEGER NOT NULL DEFAULT 0,
    atime_ns   INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    ctime_ns   INTEGER NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,   -- bumped whenever the data changes
    tier       TEXT,
    volume     TEXT,
    data_path  TEXT,
    target     TEXT,                         -- symlink target
    state      TEXT NOT NULL DEFAULT 'ok'    -- ok | missing
  );
  CREATE INDEX inodes_data_path ON inodes (data_path) WHERE data_path IS NOT NULL;

  CREATE TABLE dirents (
    parent INTEGER NOT NULL,
    name   TEXT NOT NULL,
    ino    INTEGER NOT NULL,
    PRIMARY KEY (parent, name)
  ) WITHOUT ROWID;
  CREATE INDEX dirents_ino ON dirents (ino);

  CREATE TABLE xattrs (
    ino   INTEGER NOT NULL,
    name  TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (ino, name)
  ) WITHOUT ROWID;

  -- Problems found when importing or checking the tiers, for status and alerts.
  CREATE TABLE conflicts (
    id       INTEGER PRIMARY KEY,
    time_ms  INTEGER NOT NULL,
    path     TEXT NOT NULL,
    kind     TEXT NOT NULL,    -- duplicate | missing | type
    detail   TEXT NOT NULL,
    UNIQUE (path, kind)
  );

  CREATE TABLE access_stats (
    ino          INTEGER PRIMARY KEY,
    opens        INTEGER NOT NULL DEFAULT 0,
    reads        INTEGER NOT NULL DEFAULT 0,
    read_bytes   INTEGER NOT NULL DEFAULT 0,
    writes       INTEGER NOT NULL DEFAULT 0,
    write_bytes  INTEGER NOT NULL DEFAULT 0,
    first_ms     INTEGER NOT NULL,
    last_ms      INTEGER NOT NULL
  );

  CREATE TABLE access_log (
    id       INTEGER PRIMARY KEY,
    time_ms  INTEGER NOT NULL,
    ino      INTEGER NOT NULL,
    path     TEXT NOT NULL,
    op       TEXT NOT NULL,    -- open | read | write
    offset   INTEGER NOT NULL,
    length   INTEGER NOT NULL,
    size     INTEGER NOT NULL
  );
  `,
  // 2: files on object tiers, the move journal, pins, deferred deletion of old copies
  `
  -- For a file on an object tier: its layout (JSON: scheme, chunk size, stripes, cell
  -- keys and checksums), as also written in the file's manifest object.
  ALTER TABLE inodes ADD COLUMN layout TEXT;
  -- A tier name: the file (or everything below the directory) stays on that tier.
  ALTER TABLE inodes ADD COLUMN pin TEXT;

  -- The move protocol's journal, also its audit log. state: intent → committed → done,
  -- or intent → aborted. A restart finishes or undoes every move not done or aborted.
  CREATE TABLE moves (
    id           INTEGER PRIMARY KEY,
    ino          INTEGER NOT NULL,
    path         TEXT NOT NULL,
    from_tier    TEXT NOT NULL,
    to_tier      TEXT NOT NULL,
    generation   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    source       TEXT NOT NULL,          -- JSON: where the bytes were (volume + data path, or layout)
    target       TEXT,                   -- JSON: where the copy goes
    requested_by TEXT NOT NULL,          -- "cli", "rule:NAME", "watermark:TIER", "copy-up"
    bytes        INTEGER NOT NULL DEFAULT 0,
    verified     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    started_ms   INTEGER NOT NULL,
    finished_ms  INTEGER
  );
  CREATE INDEX moves_open ON moves (state) WHERE state IN ('intent', 'committed');
  CREATE INDEX moves_ino ON moves (ino);

  -- Copies that must go once nothing reads them: sources of finished moves, objects
  -- of unlinked cold files. Journaled so a crash never leaks them.
  CREATE TABLE garbage (
    id        INTEGER PRIMARY KEY,
    ino       INTEGER NOT NULL,
    tier      TEXT NOT NULL,
    location  TEXT NOT NULL,             -- JSON, as moves.source
    added_ms  INTEGER NOT NULL
  );
  `,
  // 3: classification inputs and outputs: heat, residency, importance class, decisions, the move queue
  `
  -- heat: an exponentially decayed access count, as of heat_ms (see recordAccessBatch).
  ALTER TABLE access_stats ADD COLUMN heat REAL NOT NULL DEFAULT 0;
  ALTER TABLE access_stats ADD COLUMN heat_ms INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX access_stats_last ON access_stats (last_ms);
  -- when the file arrived on its current tier (minimum residency), and its importance
  -- class (user.tierfs.class or a path rule: critical, scratch, …)
  ALTER TABLE inodes ADD COLUMN tier_since_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE inodes ADD COLUMN class TEXT;
  CREATE INDEX inodes_mtime ON inodes (mtime_ns) WHERE tier IS NOT NULL;
  CREATE INDEX inodes_pin ON inodes (pin) WHERE pin IS NOT NULL;
  CREATE INDEX inodes_tier_since ON inodes (tier_since_ms) WHERE tier IS NOT NULL;
  -- Files and bytes per tier, kept by triggers: placing a new file reads one row
  -- instead of summing the catalog.
  CREATE TABLE tier_usage (tier TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
  INSERT INTO tier_usage (tier, files, bytes)
    SELECT tier, count(*), coalesce(sum(size), 0) FROM inodes WHERE tier IS NOT NULL AND nlink > 0 GROUP BY tier;
  CREATE TRIGGER tier_usage_insert AFTER INSERT ON inodes WHEN NEW.tier IS NOT NULL AND NEW.nlink > 0
  BEGIN
    INSERT INTO tier_usage (tier, files, bytes) VALUES (NEW.tier, 1, NEW.size)
      ON CONFLICT (tier) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
  END;
  CREATE TRIGGER tier_usage_delete AFTER DELETE ON inodes WHEN OLD.tier IS NOT NULL AND OLD.nlink > 0
  BEGIN
    UPDATE tier_usage SET files = files - 1, bytes = bytes - OLD.size WHERE tier = OLD.tier;
  END;
  CREATE TRIGGER tier_usage_update AFTER UPDATE OF tier, size, nlink ON inodes
  BEGIN
    UPDATE tier_usage SET files = files - 1, bytes = bytes - OLD.size WHERE tier = OLD.tier AND OLD.nlink > 0;
    INSERT INTO tier_usage (tier, files, bytes) SELECT NEW.tier, 1, NEW.size WHERE NEW.tier IS NOT NULL AND NEW.nlink > 0
      ON CONFLICT (tier) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
  END;
  -- files whose inputs changed since the classifier last looked at them
  CREATE TABLE dirty (ino INTEGER PRIMARY KEY) WITHOUT ROWID;
  -- the latest decision per file, with the rule, inputs and reason (tierfs where)
  CREATE TABLE decisions (
    ino     INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    target  TEXT,
    rule    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    inputs  TEXT NOT NULL
  );
  -- the persistent queue of the background mover; one pending move per file
  CREATE TABLE move_queue (
    id            INTEGER PRIMARY KEY,
    ino           INTEGER NOT NULL UNIQUE,
    to_tier       TEXT NOT NULL,
    priority      INTEGER NOT NULL,      -- lower runs first: manual requests before automatic ones
    requested_by  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    enqueued_ms   INTEGER NOT NULL,
    not_before_ms INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT
  );
  CREATE INDEX move_queue_order ON move_queue (priority, not_before_ms, id);
  `,
  // 4: a stable position per directory entry, so readdir pages by cookie from the catalog
  // instead of copying a whole directory at opendir. The cookie is the rowid: it keeps
  // its value through a rename, so an entry that exists throughout a listing is listed
  // once, whatever is created or removed meanwhile. (A cookie can be given again after
  // the highest one is removed; that new entry lands where a reader already was, and
  // POSIX lets a new entry be listed or not.)
  `
  CREATE TABLE dirents_by_cookie (
    cookie INTEGER PRIMARY KEY,
    parent INTEGER NOT NULL,
    name   TEXT NOT NULL,
    ino    INTEGER NOT NULL,
    UNIQUE (parent, name)
  );
  INSERT INTO dirents_by_cookie (parent, name, ino) SELECT parent, name, ino FROM dirents ORDER BY parent, name;
  DROP TABLE dirents;
  ALTER TABLE dirents_by_cookie RENAME TO dirents;
  CREATE INDEX dirents_ino ON dirents (ino);
  CREATE INDEX dirents_listing ON dirents (parent, cookie);
  `,
  // 5: the end-to-end hash of a file's bytes, recorded by the first move that read them all
  `
  -- SHA-256 (hex) of the file's bytes at its current generation; NULL until a move has
  -- read the whole file, and cleared whenever the data changes. Every later move
  -- compares its copy with it, so a copy damaged after it was read is never committed.
  ALTER TABLE inodes ADD COLUMN sha256 TEXT;
  `,
  // 6: manifests follow the files they describe
  `
  -- Cold files whose manifest must be written again: renamed (also by a directory above
  -- them), chmod/chown/utimens-ed, pinned, an xattr changed, or a new copy. Filled by
  -- triggers in the same transaction as the change, so a crash before the rewrite
  -- leaves the row, and the next mount finishes it. seq grows with each change: a
  -- rewrite done for an older one does not take the row away.
  CREATE TABLE manifest_updates (ino INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
  CREATE TRIGGER manifest_update_inode AFTER UPDATE OF data_path, mode, uid, gid, mtime_ns, layout, pin ON inodes
    WHEN NEW.layout IS NOT NULL
  BEGIN
    INSERT INTO manifest_updates (ino, seq) VALUES (NEW.ino, 1) ON CONFLICT (ino) DO UPDATE SET seq = seq + 1;
  END;
  CREATE TRIGGER manifest_update_xattr_set AFTER INSERT ON xattrs
    WHEN (SELECT layout FROM inodes WHERE ino = NEW.ino) IS NOT NULL
  BEGIN
    INSERT INTO manifest_updates (ino, seq) VALUES (NEW.ino, 1) ON CONFLICT (ino) DO UPDATE SET seq = seq + 1;
  END;
  CREATE TRIGGER manifest_update_xattr_change AFTER UPDATE ON xattrs
    WHEN (SELECT layout FROM inodes WHERE ino = NEW.ino) IS NOT NULL
  BEGIN
    INSERT INTO manifest_updates (ino, seq) VALUES (NEW.ino, 1) ON CONFLICT (ino) DO UPDATE SET seq = seq + 1;
  END;
  CREATE TRIGGER manifest_update_xattr_remove AFTER DELETE ON xattrs
    WHEN (SELECT layout FROM inodes WHERE ino = OLD.ino) IS NOT NULL
  BEGIN
    INSERT INTO manifest_updates (ino, seq) VALUES (OLD.ino, 1) ON CONFLICT (ino) DO UPDATE SET seq = seq + 1;
  END;
  -- Manifests written before this version carry no xattrs or pin, and the name of the
  -- day the file was moved: every cold file is checked once (a rewrite only where they differ).
  INSERT INTO manifest_updates (ino, seq) SELECT ino, 1 FROM inodes WHERE layout IS NOT NULL AND nlink > 0;
  `,
  // 7: the metrics history: points of the daemon's key series (docs/MONITORING.md)
  `
  -- One row per point: the value of a series (a metric name, or NAME_pNN for a quantile)
  -- with one set of labels (JSON, keys sorted; {} for none), over the step that starts at
  -- time_ms. Counters are stored as their increase over the step, gauges as their value.
  -- step_ms is 60000, 3600000 or 86400000; coarser points are made from finer ones, and
  -- each step's points expire after its retention (metrics.history), so this stays bounded.
  CREATE TABLE metric_points (
    series  TEXT NOT NULL,
    labels  TEXT NOT NULL,
    step_ms INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (series, step_ms, time_ms, labels)
  ) WITHOUT ROWID;
  CREATE INDEX metric_points_age ON metric_points (step_ms, time_ms);
  `,
  // 8: alerts: the state of each alert now, and the history of their changes
  `
  -- An alert is a rule's instance for one set of labels (JSON, keys sorted). A row here is
  -- pending or firing; it leaves when the alert resolves, so a restarted daemon goes on
  -- from the same state and does not announce a firing alert again. Times are ms.
  CREATE TABLE alerts (
    rule         TEXT NOT NULL,
    labels       TEXT NOT NULL,
    severity     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'firing')),
    active_since INTEGER NOT NULL,
    fired_at     INTEGER,
    value        REAL NOT NULL,
    PRIMARY KEY (rule, labels)
  ) WITHOUT ROWID;
  -- Every change (pending, firing, resolved, or inactive: pending that ended unfired),
  -- with the value that caused it; bounded to alerts.keepHistory rows.
  CREATE TABLE alert_events (
    id           INTEGER PRIMARY KEY,
    time_ms      INTEGER NOT NULL,
    rule         TEXT NOT NULL,
    labels       TEXT NOT NULL,
    severity     TEXT NOT NULL,
    state        TEXT NOT NULL,
    value        REAL NOT NULL,
    active_since INTEGER NOT NULL
  );
  `,
  // 9: what a local file's backing file takes on disk (st_blocks, 512-byte units): du and
  // sparse-aware tools read it. NULL: not measured (object tiers), the size stands in.
  `
  ALTER TABLE inodes ADD COLUMN blocks INTEGER;
  `,
  // 10: configuration versions (tierfs config history|apply|rollback; src/config/versions.ts)
  `
  -- Every configuration the daemon has run, newest last. text is the YAML as written to
  -- the config file, hash its SHA-256 (hex). parent is the version it replaced,
  -- restored_from the version a rollback copied. file_written is 0 from the moment the
  -- version is recorded until the config file holds its text: a mount that finds a 0
  -- finishes the write (the catalog is the source of truth).
  CREATE TABLE config_versions (
    version       INTEGER PRIMARY KEY,
    parent        INTEGER,
    time_ms       INTEGER NOT NULL,
    uid           INTEGER,
    user          TEXT,
    message       TEXT NOT NULL,
    text          TEXT NOT NULL,
    hash          TEXT NOT NULL,
    restored_from INTEGER,
    file_written  INTEGER NOT NULL DEFAULT 1
  );
  `,
  // 11: renames under way (src/vfs/vfs.ts): a row is written before a rename changes
  // backing names and deleted in the transaction that renames in the catalog. A row found
  // at mount is a rename the daemon died in the middle of: it is finished (Vfs.finishRenames).
  `
  CREATE TABLE renames (
    id         INTEGER PRIMARY KEY,
    parent     INTEGER NOT NULL,
    name       TEXT NOT NULL,
    new_parent INTEGER NOT NULL,
    new_name   TEXT NOT NULL
  );
  `,
  // 12: object copies leaving their tier, for the cost of minimum storage durations (src/cost)
  `
  -- One row each time a file's copy on an object tier goes (the file deleted, moved to
  -- another tier, or rewritten): when it was written there (tier_since_ms) and the payload
  -- bytes of its objects per backend index (JSON {"0": bytes, ...}). Kept by triggers, so
  -- every path that drops a copy is counted; bounded by age in src/catalog/cost.ts.
  CREATE TABLE object_removals (
    id         INTEGER PRIMARY KEY,
    time_ms    INTEGER NOT NULL,
    ino        INTEGER NOT NULL,
    tier       TEXT NOT NULL,
    cause      TEXT NOT NULL,       -- deleted | moved
    written_ms INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    objects    INTEGER NOT NULL,
    backend_bytes TEXT NOT NULL
  );
  CREATE INDEX object_removals_time ON object_removals (time_ms);
  CREATE TRIGGER object_removal_delete AFTER DELETE ON inodes WHEN OLD.layout IS NOT NULL AND OLD.tier IS NOT NULL
  BEGIN
    INSERT INTO object_removals (time_ms, ino, tier, cause, written_ms, size, objects, backend_bytes)
    SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), OLD.ino, OLD.tier, 'deleted', OLD.tier_since_ms, OLD.size,
           coalesce(sum(n), 0), coalesce(json_group_object(b, bytes), '{}')
    FROM (SELECT json_extract(c.value, '$.backend') AS b, count(*) AS n, sum(json_extract(c.value, '$.length')) AS bytes
          FROM json_each(OLD.layout, '$.stripes') AS s, json_each(s.value, '$.cells') AS c GROUP BY b);
  END;
  CREATE TRIGGER object_removal_move AFTER UPDATE OF layout ON inodes
    WHEN OLD.layout IS NOT NULL AND OLD.tier IS NOT NULL
     AND (NEW.layout IS NULL OR json_extract(NEW.layout, '$.fileId') IS NOT json_extract(OLD.layout, '$.fileId'))
  BEGIN
    INSERT INTO object_removals (time_ms, ino, tier, cause, written_ms, size, objects, backend_bytes)
    SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), OLD.ino, OLD.tier, 'moved', OLD.tier_since_ms, OLD.size,
           coalesce(sum(n), 0), coalesce(json_group_object(b, bytes), '{}')
    FROM (SELECT json_extract(c.value, '$.backend') AS b, count(*) AS n, sum(json_extract(c.value, '$.length')) AS bytes
          FROM json_each(OLD.layout, '$.stripes') AS s, json_each(s.value, '$.cells') AS c GROUP BY b);
  END;
  `,
  // 13: when each file's heat decays to 1 (heat_ms + halfLife × log2 heat), so that an
  // incremental pass finds the files whose heat crossed a rule's threshold since the last
  // one with an index range (see Catalog.cooledBetween), instead of waiting for a full pass
  `
  ALTER TABLE access_stats ADD COLUMN cool_ms REAL;
  CREATE INDEX access_stats_cool ON access_stats (cool_ms) WHERE cool_ms IS NOT NULL;
  `,
  // 14: cool_ms on the inode too (kept by triggers), indexed by tier: a tier's files in
  // order of decayed heat straight from an index (heat now is 2^((cool_ms − now) / half-life),
  // and a file never opened, NULL, sorts first), so capacity planning reads the coldest
  // page of a tier instead of sorting every file on it at every pass
  `
  ALTER TABLE inodes ADD COLUMN cool_ms REAL;
  UPDATE inodes SET cool_ms = (SELECT a.cool_ms FROM access_stats a WHERE a.ino = inodes.ino);
  CREATE INDEX inodes_tier_cool ON inodes (tier, cool_ms) WHERE tier IS NOT NULL;
  CREATE TRIGGER access_stats_cool_insert AFTER INSERT ON access_stats
  BEGIN
    UPDATE inodes SET cool_ms = NEW.cool_ms WHERE ino = NEW.ino;
  END;
  CREATE TRIGGER access_stats_cool_update AFTER UPDATE OF cool_ms ON access_stats
  BEGIN
    UPDATE inodes SET cool_ms = NEW.cool_ms WHERE ino = NEW.ino;
  END;
  `,
  // 15: the mover asks for the next runnable moves (not deferred) in the order priority, id
  // at every tick; the index of migration 3 ordered by (priority, not_before_ms, id), so
  // SQLite sorted the whole queue each time — a queue of 50,000 demotions cost the mover
  // tens of milliseconds per move. The runnable filter is checked from the index itself.
  `
  DROP INDEX move_queue_order;
  CREATE INDEX move_queue_runnable ON move_queue (priority, id, not_before_ms);
  `,
  // 16: inodes with no name left (unlinked while open) are looked for at every mount; the
  // query read every inode, a quarter of a second at a million files. Such inodes are few.
  `
  CREATE INDEX inodes_unlinked ON inodes (ino) WHERE nlink = 0;
  `,
  // 17: every access updates a file's cool_ms in two indexes, access_stats_cool and (by the
  // trigger of 14) inodes_tier_cool; the files whose heat crossed a threshold are found
  // with the second, tier by tier, and the first, a fifth of an access's cost, goes.
  `
  DROP INDEX access_stats_cool;
  `,
  // 18: the number of inodes, kept by triggers: statfs (df, df -i, and whatever asks how
  // full the mount is) counted the catalog each time, half a second at a million files.
  `
  CREATE TABLE inode_count (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
  INSERT INTO inode_count (id, n) SELECT 1, count(*) FROM inodes;
  CREATE TRIGGER inode_count_insert AFTER INSERT ON inodes BEGIN UPDATE inode_count SET n = n + 1; END;
  CREATE TRIGGER inode_count_delete AFTER DELETE ON inodes BEGIN UPDATE inode_count SET n = n - 1; END;
  `,
  // 19: each entry's file type (the inode's mode & S_IFMT, which never changes), so that a
  // listing of names reads no inode: at a million files, reading a directory's inode rows
  // from disk was most of what a cold find cost.
  `
  ALTER TABLE dirents ADD COLUMN type INTEGER NOT NULL DEFAULT 0;
  UPDATE dirents SET type = (SELECT mode & 61440 FROM inodes WHERE inodes.ino = dirents.ino);
  `,
  // 20: a listing reads its entries from the listing index alone, which now holds the whole
  // entry. A directory's cookies are the table's row ids, given in the order entries were
  // made: files created among other directories' (eight writers over a tree) lie one table
  // page per entry apart, and reading 200 such directories of 1,000 names took 185 ms with
  // the catalog in the page cache, 65 ms from the index (throwaway measurement, 2026-12-04).
  `
  DROP INDEX dirents_listing;
  CREATE INDEX dirents_listing ON dirents (parent, cookie, ino, type, name);
  `,
  // 21: which backing file or directory a rename under way moves, volume by volume (JSON:
  // volume → st_ino and birth time), so that finishing it after a crash moves that one only, never one
  // made again under the old name since (Vfs.renameBacking). NULL in rows written before.
  `
  ALTER TABLE renames ADD COLUMN backing TEXT;
  `,
  // 22: exchanges (RENAME_EXCHANGE) are renames under way too: flags says which, and
  // exchanged what the new name's entry moves the other way, as backing says for the old
  // name's (Vfs.exchangeBacking).
  `
  ALTER TABLE renames ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE renames ADD COLUMN exchanged TEXT;
  `,
  // 23: alert notifications a stop left unsent, by the webhook they were for (its name, else
  // its URL), to be sent by the next mount (src/alerts/webhooks.ts).
  `
  CREATE TABLE webhook_backlog (id INTEGER PRIMARY KEY, webhook TEXT NOT NULL, notification TEXT NOT NULL);
  `,
];
