// The catalog's protection, as configured in tierfs.yaml: automatic backups, and what a
// mount does when it finds the catalog missing, empty or damaged while the tiers hold
// a filesystem's data.
import { z } from 'zod';
import { bytes, duration } from './fields.js';

export const catalogBackupSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    interval: duration()
      .refine((ms) => ms >= 100, 'interval must be at least 100ms')
      .default(3_600_000)
      .describe('how often a consistent copy of the catalog is taken (online, compressed); only if it changed since the last'),
    keep: z.number().int().min(1).max(10_000).default(24).describe('backups kept; older ones are deleted'),
    tier: z
      .string()
      .optional()
      .describe('an object tier whose first backend holds the backups, under <fsid>/_catalog/; default: the first object tier'),
    dir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'a directory for the backups instead of an object tier (put it on another disk than dataDir); ' +
          'default when there is no object tier: dataDir/backups. Relative to the config file',
      ),
  })
  .refine((b) => b.tier === undefined || b.dir === undefined, { message: 'give catalog.backup.tier or catalog.backup.dir, not both' })
  .prefault({});

export const catalogSchema = z
  .strictObject({
    recovery: z
      .enum(['auto', 'refuse'])
      .default('auto')
      .describe(
        'a mount that finds the catalog missing, empty or damaged while the tiers hold a filesystem: ' +
          '"auto" rebuilds it (newest good backup, then manifests and local tiers) before mounting; ' +
          '"refuse" stops and prints the command to run. Never a new, empty filesystem',
      ),
    backup: catalogBackupSchema,
    cacheSize: bytes()
      .default(64 * 2 ** 20)
      .describe(
        "memory the daemon keeps of the catalog's pages (SQLite's page cache): a lookup, stat or listing whose pages are there reads nothing, even after the kernel dropped its caches. The catalog takes about 550 bytes a file",
      ),
    commitDelay: duration()
      .refine((ms) => ms <= 1000, 'commitDelay must be at most 1s')
      .default(5)
      .describe(
        'how long changes to the catalog may gather before they are written together (group commit): creates, writes and closes are answered at once ' +
          '(a crash before the commit loses none of them: the next mount finds them on their tier), renames once a row saying one is under way is committed (the next mount finishes it), ' +
          'unlinks of local files once their backing name is set aside in the volume\'s .tierfs-tmp (the next mount finishes them), ' +
          'other unlinks and attribute changes only once committed, ' +
          'which never waits for this delay. 0: at the end of each turn of the event loop',
      ),
    configVersions: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe('configuration versions kept in the catalog (tierfs config history); older ones are deleted'),
  })
  .prefault({});

export type CatalogConfig = z.output<typeof catalogSchema>;
export type CatalogBackupConfig = z.output<typeof catalogBackupSchema>;
