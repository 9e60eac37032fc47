// The one schema of tierfs.yaml. Types come from it (z.infer), the docs and the
// JSON Schema are generated from it (`tierfs config docs`); nothing is written twice.
import { z } from 'zod';
import { bytes, duration, ratio } from './fields.js';
import { backendConfigSchema } from './backends.js';
import { moverSchema, policySchema } from './policy.js';
import { metricsSchema } from './metrics.js';
import { catalogSchema } from './catalog.js';
import { alertsSchema } from './alerts.js';
import { costProblems, costSchema } from './cost.js';

/**
 * An object tier's default chunkSize: data cells of 8 MiB with the default 4+2, the range
 * size object stores serve best; with 2 MiB cells a cold sequential read over s3rver
 * reached half the speed (docs/TUNING.md).
 */
export const DEFAULT_CHUNK_SIZE = 32 * 2 ** 20;

const tierName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a tier name is lower case letters, digits, "-" or "_", starting with a letter');

const watermarks = z
  .strictObject({
    high: ratio().default(0.9).describe('above this share of capacity, the tier demotes its coldest files, and takes new files only when every local tier is above its own'),
    low: ratio().default(0.75).describe('demotion stops at this share (within one file)'),
  })
  .refine((w) => w.low <= w.high, { message: 'watermarks.low must not be above watermarks.high' });

const volume = z.union([
  z.string().min(1).transform((path) => ({ path })),
  z.strictObject({ path: z.string().min(1).describe('a directory of its own (made root\'s, mode 0700: never /, /usr, /home or another of the system\'s); relative paths are relative to the config file') }),
]);

const localTier = z.strictObject({
  name: tierName,
  kind: z.literal('local'),
  volumes: z.array(volume).min(1).describe('directories (on SSD or HDD) that hold this tier’s files as plain files'),
  capacity: bytes().optional().describe('bytes this tier may use; default: the size of its volumes'),
  watermarks: watermarks.default({ high: 0.9, low: 0.75 }),
});

const objectTier = z.strictObject({
  name: tierName,
  kind: z.literal('object'),
  backends: z.array(backendConfigSchema).min(1).describe('object stores; the cells of a stripe are spread over them'),
  scheme: z
    .strictObject({
      k: z.number().int().min(1).max(128).describe('data cells per stripe'),
      m: z.number().int().min(0).max(64).describe('parity cells per stripe'),
    })
    .refine((s) => s.k + s.m <= 255, { message: 'k + m must be at most 255' })
    .default({ k: 4, m: 2 })
    .describe('Reed-Solomon k+m: a stripe survives the loss of any m cells'),
  chunkSize: bytes().default(DEFAULT_CHUNK_SIZE).describe('bytes of file data per stripe (each of its k data cells is one object: larger cells mean fewer requests for sequential reads and moves, more bytes fetched to rebuild a lost one)'),
  smallFileThreshold: bytes().default(256 * 2 ** 10).describe('files below this are stored as one object, not striped'),
  verifyWrites: z
    .enum(['checksums', 'read-back'])
    .default('checksums')
    .describe(
      'how a copy written here is checked before the file’s other copy may go. checksums: every object is sent with a checksum the store checks as it arrives ' +
        '(S3’s CRC-32 or Content-MD5, Azure’s and GCS’s MD5), so a damaged body is refused, and a HEAD then finds each object at its size. ' +
        'read-back: every object is also fetched back whole and checked: twice the traffic, and it catches a store that keeps other bytes than it acknowledged',
    ),
  capacity: bytes().optional(),
  watermarks: watermarks.default({ high: 0.9, low: 0.75 }),
});

const tier = z.discriminatedUnion('kind', [localTier, objectTier]);

export const configSchema = z
  .strictObject({
    version: z.literal(1).default(1).describe('format version of this file'),
    dataDir: z.string().min(1).describe('holds the catalog, the admin socket and caches; relative to the config file'),
    tiers: z.array(tier).min(1).describe('fastest first; new files go to the first local tier with room'),
    mount: z
      .strictObject({
        // 252 pages, not 256: libfuse splices a reply only into a pipe that holds its data and
        // three pages more, and a pipe may not outgrow /proc/sys/fs/pipe-max-size (1 MiB by
        // default), so every 1 MiB read was copied through memory instead (pread + writev).
        maxRead: bytes()
          .default(1008 * 2 ** 10)
          .describe('largest read the kernel asks of the daemon; the default lets a full one go by splice through a pipe of the default largest size (1 MiB)'),
        maxWrite: bytes().default(2 ** 20),
        splice: z.boolean().default(true),
        readAhead: bytes().default(2 ** 20).describe('kernel read-ahead on the mount: larger means fewer, larger reads of cold files'),
        attrTimeout: duration().default(1000).describe('how long the kernel may cache attributes'),
        entryTimeout: duration().default(1000).describe('how long the kernel may cache names'),
        negativeTimeout: duration()
          .default(1000)
          .describe('how long the kernel may remember that a name does not exist (0: ask every time); names appear only through the mount, which updates the kernel at once'),
        pageCache: z.enum(['keep', 'auto', 'none']).default('auto'),
        writebackCache: z.boolean().default(false),
        defaultPermissions: z.boolean().default(true).describe('the kernel checks permissions against the attributes'),
        posixAcl: z.boolean().default(true).describe('POSIX ACLs (setfacl): stored, carried across moves, enforced by the kernel'),
        allowOther: z.boolean().default(false).describe('let users other than the mounting one in (non-root needs user_allow_other)'),
        fastPath: z.boolean().default(true).describe('serve reads and writes of local files natively, without JavaScript'),
        nativeCreates: z
          .boolean()
          .default(true)
          .describe(
            'let the native binding answer creates of files in a directory a file was created in (its names and backing directory handed over; needs fastPath): a create then waits for no JavaScript; and lookups of names that do not exist there and in a directory where a lookup missed (its names handed over)',
          ),
        passthrough: z
          .enum(['auto', 'off'])
          .default('auto')
          .describe(
            "local files' reads, writes and mmap go from the kernel straight to the backing file (FUSE passthrough, Linux 6.9+, as root; needs fastPath and no writebackCache); auto falls back to fastPath where the kernel does not offer it. Per-read counts of such files are not seen, only opens and closes",
          ),
        readdirplus: z
          .enum(['adaptive', 'always', 'auto', 'off'])
          .default('adaptive')
          .describe(
            "whether a listing carries each entry's attributes (READDIRPLUS), which spares a lookup per entry to whatever stats what it lists (du, ls -l, rsync, find -size) and costs a walk that reads names alone (find, os.walk). adaptive: learned per calling process — its first directory with them, the next ones without until the files it lists are being looked up (by it, or by another process: find | xargs stat), then with them (a du looks up one directory's entries before it is known); always; auto, as the kernel decides per directory (a directory's first page, and the rest once its entries are being looked up while it is read, as ls does but find and du do not); or off. docs/PERFORMANCE.md has the figures",
          ),
      })
      .prefault({}),
    recording: z
      .strictObject({
        enabled: z.boolean().default(true),
        flushInterval: duration().default(250).describe('access counts are written to the catalog at most this often'),
        logMaxRows: z.number().int().min(0).default(1_000_000).describe('the raw access log keeps at most this many rows'),
      })
      .prefault({}),
    cache: z
      .strictObject({
        memory: bytes()
          .default(256 * 2 ** 20)
          .describe(
            'recall cache in memory, per object tier: the blocks small random reads fetched alone, cells rebuilt from parity, and whole cells where the disk cache cannot serve them (disk 0, copies written before blocks had checksums)',
          ),
        disk: bytes()
          .default(4 * 2 ** 30)
          .describe('recall cache on disk under dataDir/cache, per object tier: whole cells, fetched straight into their files and read from them (through the page cache); survives restarts. It takes no new cells while its filesystem is short: it leaves 5% of it free (at most 1 GiB), for the catalog beside it'),
      })
      .prefault({})
      .describe('decoded cells of cold files, kept so repeated reads do not fetch again'),
    policy: policySchema,
    mover: moverSchema,
    catalog: catalogSchema.describe('backups of the catalog, and how a mount recovers a lost one'),
    metrics: metricsSchema,
    alerts: alertsSchema,
    cost: costSchema,
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.tiers.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'name'], message: `tier name "${t.name}" is used twice` });
      seen.add(t.name);
    });
    cfg.policy.rules.forEach((r, i) => {
      if (r.target !== undefined && !seen.has(r.target)) {
        ctx.addIssue({ code: 'custom', path: ['policy', 'rules', i, 'target'], message: `no tier named "${r.target}" (tiers: ${[...seen].join(', ')})` });
      }
      if (r.target === undefined && r.setClass === undefined) {
        ctx.addIssue({ code: 'custom', path: ['policy', 'rules', i], message: 'a rule needs a target, a setClass, or both' });
      }
    });
    cfg.mover.windows.forEach((w, i) =>
      w.tiers?.forEach((t, j) => {
        if (!seen.has(t)) ctx.addIssue({ code: 'custom', path: ['mover', 'windows', i, 'tiers', j], message: `no tier named "${t}"` });
      }),
    );
    if (cfg.mount.allowOther && !cfg.mount.defaultPermissions) {
      ctx.addIssue({
        code: 'custom',
        path: ['mount', 'defaultPermissions'],
        message:
          'mount.defaultPermissions: false with mount.allowOther: true would let every user act as root ' +
          '(tierfs leaves permission checks to the kernel): keep defaultPermissions true, or allowOther false',
      });
    }
    const backupTier = cfg.catalog.backup.tier;
    if (backupTier !== undefined && !cfg.tiers.some((t) => t.name === backupTier && t.kind === 'object')) {
      ctx.addIssue({ code: 'custom', path: ['catalog', 'backup', 'tier'], message: `no object tier named "${backupTier}"` });
    }
    for (const p of costProblems(cfg.cost, [...seen])) ctx.addIssue({ code: 'custom', ...p });
    if (!cfg.tiers.some((t) => t.kind === 'local')) {
      ctx.addIssue({ code: 'custom', path: ['tiers'], message: 'at least one tier must be local: new files are written there' });
    }
  });

export type Config = z.output<typeof configSchema>;
export type TierConfig = Config['tiers'][number];
export type LocalTierConfig = Extract<TierConfig, { kind: 'local' }>;
export type ObjectTierConfig = Extract<TierConfig, { kind: 'object' }>;
export type MountConfig = Config['mount'];
