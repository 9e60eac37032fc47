// An object tier: files as erasure-coded stripes (or, when small, as plain copies) on
// one or more object stores, read back through a recall cache. This class only wires
// the pieces together; each job lives in its own file (writer, reader, scrub,
// manifest, caches), and the arithmetic of the layout in layout.ts.
import { join } from 'node:path';
import type { ObjectTierConfig } from '../../config/schema.js';
import { moduleLogger } from '../../log.js';
import { createObjectStore, ObjectStoreError, type CreateObjectStoreOptions, type ObjectStore } from '../../objectstore/index.js';
import type { BackendConfig } from '../../config/backends.js';
import { checkFileId, fsidBytes, headerLength } from './cell.js';
import { isLostCell, type TierContext } from './cell-io.js';
import { CodecCache } from './codecs.js';
import { DiskCache } from './disk-cache.js';
import { filePrefix, manifestKey } from './keys.js';
import { cellSize, survivableBackendLosses } from './layout.js';
import { listManifests, rewriteManifest } from './manifest.js';
import { incompleteStripe } from './presence.js';
import { RecallCache } from './recall-cache.js';
import { StripeReader } from './reader.js';
import { copySource } from './copy-source.js';
import { BackendEpisodes } from './backend-episodes.js';
import { checkBackend } from './backend-check.js';
import { scrubFile } from './scrub.js';
import type { BackendProbe, ByteSource, CellFileSet, IncompleteStripe, ManifestInfo, ObjectLayout, ObjectTierStats, ObjectTierStore, ScrubReport } from './types.js';
import { writeFile } from './writer.js';

const log = moduleLogger('object-tier');
const MiB = 2 ** 20;

/** Bytes of cells a copy of a whole file (a recall) has fetched ahead of its reader, at most. */
const COPY_AHEAD_BYTES = 64 * MiB;

export interface ObjectTierOptions {
  /** Directory of the disk recall cache, one per tier (e.g. <dataDir>/cache/<tier>); without it, no disk cache. */
  cacheDir?: string;
  /** Byte budget of checked cell payloads kept in memory. */
  memoryCacheBytes: number;
  /** Byte budget of the disk cache. */
  diskCacheBytes: number;
  /** Whole stripes fetched ahead of a sequential reader (default 2). */
  readAheadStripes?: number;
  /** Object requests in flight at once while writing, verifying, removing (default 16). */
  concurrency?: number;
  /** File bytes coded per trip to the codec's thread pool while writing (default 16 MiB). */
  batchBytes?: number;
  /** The backends' names in metrics and probes, in configuration order (default: b0, b1, …). */
  backendNames?: string[];
  /** Told how long each read that had to wait for object storage took, in seconds. */
  onRecall?: (seconds: number) => void;
}

export const DEFAULT_CACHE = { memoryCacheBytes: 256 * MiB, diskCacheBytes: 4096 * MiB } as const;

/** What the tier needs of its configuration: the scheme and sizes (backends come as stores). */
export type ObjectTierSettings = Pick<ObjectTierConfig, 'name' | 'scheme' | 'chunkSize' | 'smallFileThreshold'> & Partial<Pick<ObjectTierConfig, 'verifyWrites'>>;

export class ObjectTier implements ObjectTierStore {
  readonly name: string;
  readonly survivableBackendLosses: number;
  readonly backendNames: string[];
  private readonly ctx: TierContext;
  private readonly codecs = new CodecCache();
  private readonly concurrency: number;
  /** The disk cache opens asynchronously; every read waits for it (once). */
  private readonly opened: Promise<{ reader: StripeReader; cache: RecallCache }>;
  /** backends failing now, each logged once per episode */
  private readonly episodes: BackendEpisodes;

  constructor(
    private readonly config: ObjectTierSettings,
    stores: ObjectStore[],
    fsid: string,
    private readonly options: ObjectTierOptions,
  ) {
    if (stores.length === 0) throw new RangeError(`object tier ${config.name} has no backends`);
    if (config.chunkSize < 1 || config.chunkSize >= 2 ** 32) throw new RangeError(`object tier ${config.name}: chunkSize must be below 4 GiB`);
    fsidBytes(fsid);
    this.name = config.name;
    this.ctx = { name: config.name, fsid: fsid.toLowerCase(), stores };
    this.concurrency = options.concurrency ?? 16;
    this.survivableBackendLosses = survivableBackendLosses(config.scheme.k, config.scheme.m, stores.length);
    this.backendNames = options.backendNames ?? stores.map((_, i) => `b${i}`);
    this.episodes = new BackendEpisodes(config.name, this.backendNames);
    // Fail now, not at the first write, if the scheme cannot be coded.
    this.codecs.get(config.scheme.k, config.scheme.m);
    this.opened = this.open();
    // A rejection is reported where it is awaited; this keeps it from counting as unhandled meanwhile.
    this.opened.catch(() => undefined);
  }

  private async open(): Promise<{ reader: StripeReader; cache: RecallCache }> {
    let disk: DiskCache | undefined;
    if (this.options.cacheDir && this.options.diskCacheBytes > 0) {
      try {
        disk = await DiskCache.open(this.options.cacheDir, this.options.diskCacheBytes);
      } catch (err) {
        log.error({ tier: this.name, dir: this.options.cacheDir, err: (err as Error).message }, 'disk cache unusable; reading without it');
      }
    }
    const cache = new RecallCache(this.options.memoryCacheBytes, disk);
    const reader = new StripeReader(this.ctx, this.codecs, cache, {
      // Read-ahead lands in the recall cache: without one, it would only fetch twice.
      readAheadStripes: this.options.memoryCacheBytes > 0 || disk ? (this.options.readAheadStripes ?? 2) : 0,
      // Few at a time, nearest first: the cell a sequential reader needs next must not
      // share the link with cells two stripes ahead.
      readAheadConcurrency: Math.min(this.concurrency, 4),
      restoreRetryMs: 15 * 60_000,
      onRecall: this.options.onRecall,
      episodes: this.episodes,
    });
    return { reader, cache };
  }

  /** Resolves once the disk cache is open. */
  async ready(): Promise<void> {
    await this.opened;
  }

  write(src: ByteSource, info: ManifestInfo, fileId: string, onProgress?: (bytes: number) => void): Promise<ObjectLayout> {
    const { k, m } = this.config.scheme;
    const settings = {
      k, m, chunkSize: this.config.chunkSize, smallFileThreshold: this.config.smallFileThreshold,
      batchBytes: this.options.batchBytes ?? 16 * MiB, concurrency: this.concurrency, verify: this.config.verifyWrites ?? 'checksums',
    };
    return writeFile(this.ctx, this.codecs, settings, src, info, fileId, onProgress);
  }

  async read(layout: ObjectLayout, offset: number, length: number): Promise<Buffer> {
    const { reader } = await this.opened;
    return reader.read(layout, offset, length);
  }

  copySource(layout: ObjectLayout, size = layout.size): ByteSource {
    if (layout.kind === 'single') return { size, read: (offset, length) => this.read(layout, offset, Math.min(length, size - offset)) };
    const cellOf = async (stripe: number, cell: number, into: Buffer) => (await this.opened).reader.cellForCopy(layout, stripe, cell, into);
    // Cells in flight up to 64 MiB (8 of 8 MiB): in a one-off trial (a 128 MiB recall over
    // s3rver) fewer left the store idle between cells, and more gained nothing.
    const ahead = Math.max(1, Math.min(this.concurrency, Math.floor(COPY_AHEAD_BYTES / cellSize(layout.chunkSize, layout.k))));
    return copySource(layout, cellOf, ahead, size);
  }

  async cellFiles(layout: ObjectLayout, offset = 0, length = layout.size): Promise<CellFileSet | undefined> {
    const { reader } = await this.opened;
    return reader.cellFiles(layout, offset, length);
  }

  noteCellsRead(paths: string[]): void {
    void this.opened.then(({ cache }) => cache.disk?.noteRead(paths)).catch(() => undefined);
  }

  /**
   * Manifests first, then cells: a removal cut short leaves cells without a manifest
   * (leaked objects, found by listing) but never a manifest whose cells are gone,
   * which a rebuild would take for a file.
   */
  async remove(layout: ObjectLayout): Promise<void> {
    const failures: string[] = [];
    const fail = () => new Error(`tier ${this.name}: could not delete every object of ${layout.fileId}: ${failures.join('; ')}`);
    // Per backend, in as few requests as it allows (S3: a thousand keys each).
    const keysOn = (refs: { backend: number; key: string }[], backend: number) => refs.filter((r) => r.backend === backend).map((r) => r.key);
    await this.onEachBackend(failures, (store, backend) => store.deleteMany(keysOn(layout.manifest, backend)));
    if (failures.length > 0) throw fail(); // the cells stay until every manifest is gone
    const cells = layout.stripes.flatMap((s) => s.cells);
    await this.onEachBackend(failures, (store, backend) => store.deleteMany(keysOn(cells, backend)));
    await this.forget(layout.fileId);
    if (failures.length > 0) throw fail();
  }

  async removePartial(fileId: string): Promise<void> {
    checkFileId(fileId);
    const failures: string[] = [];
    const fail = () => new Error(`tier ${this.name}: could not remove all of ${fileId}: ${failures.join('; ')}`);
    // The manifest (wherever the write got to) first, as in remove().
    await this.onEachBackend(failures, (store) => store.delete(manifestKey(this.ctx.fsid, fileId)));
    if (failures.length > 0) throw fail();
    await this.onEachBackend(failures, async (store) => {
      const keys: string[] = [];
      for await (const entry of store.list(filePrefix(this.ctx.fsid, fileId))) keys.push(entry.key);
      await store.deleteMany(keys);
    });
    await this.forget(fileId);
    if (failures.length > 0) throw fail();
  }

  /** work on every backend at once; a backend whose objects are lost to it is noted in failures, not thrown. */
  private async onEachBackend(failures: string[], work: (store: ObjectStore, backend: number) => Promise<unknown>): Promise<void> {
    await Promise.all(
      this.ctx.stores.map(async (store, backend) => {
        try {
          await work(store, backend);
        } catch (err) {
          if (!isLostCell(err)) throw err;
          failures.push(`backend ${backend}: ${(err as Error).message}`);
        }
      }),
    );
  }

  scrub(layout: ObjectLayout, repair: boolean): Promise<ScrubReport> {
    return scrubFile(this.ctx, this.codecs, layout, repair);
  }

  rewriteManifest(layout: ObjectLayout, info: Omit<ManifestInfo, 'writeSequence'>): Promise<boolean> {
    return rewriteManifest(this.ctx, layout, info);
  }

  manifests(): AsyncIterable<{ info: ManifestInfo; layout: ObjectLayout }> {
    return listManifests(this.ctx);
  }

  incompleteStripe(layout: ObjectLayout): Promise<IncompleteStripe | null> {
    return incompleteStripe(this.ctx, layout);
  }

  /**
   * New budgets for this tier's recall caches (cache.memory and cache.disk applied while
   * mounted). A cache that was off at open stays off until a remount; the configuration
   * refuses that change (config/live-changes.ts).
   */
  async resizeCaches(memoryBytes: number, diskBytes: number): Promise<void> {
    const { cache } = await this.opened;
    cache.resizeMemory(memoryBytes);
    if (diskBytes > 0) cache.disk?.resize(diskBytes);
  }

  /** Counters of reads and caches, for metrics and tests. */
  async stats(): Promise<ObjectTierStats> {
    const { reader, cache } = await this.opened;
    return {
      ...reader.counters,
      ...cache.counters,
      memoryCacheBytes: cache.memoryBytes,
      diskCacheBytes: cache.disk?.usedBytes ?? 0,
    };
  }

  /**
   * Asks each backend for a key that does not exist: NotFound (or the object) means it
   * answers, and so does Throttled (it is there, only busy); anything else, or no answer
   * within timeoutMs, means it is down.
   */
  async probe(timeoutMs: number): Promise<BackendProbe[]> {
    const key = `${this.ctx.fsid}/probe`;
    return Promise.all(
      this.ctx.stores.map(async (store, i): Promise<BackendProbe> => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        });
        const up = (): BackendProbe => {
          this.episodes.succeeded(i);
          return { backend: this.backendNames[i]!, up: true };
        };
        try {
          await Promise.race([store.head(key), late]);
          return up();
        } catch (err) {
          if (err instanceof ObjectStoreError && (err.code === 'NotFound' || err.code === 'Throttled')) return up();
          return { backend: this.backendNames[i]!, up: false, error: (err as Error).message };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  /**
   * Why each backend cannot serve this tier (backend-check.ts), empty when all can:
   * a test object written, read and removed (a new tier: it holds nothing yet).
   */
  async checkStores(timeoutMs: number): Promise<string[]> {
    const problems = await Promise.all(this.ctx.stores.map((store) => checkBackend(store, this.ctx.fsid, [], timeoutMs)));
    return problems.flatMap((p, i) => (p === null ? [] : [`backend ${this.backendNames[i]}: ${p}`]));
  }

  get stores(): readonly ObjectStore[] {
    return this.ctx.stores;
  }

  /** Serve backend `index` through `store` from now on: a new connection to the same objects, checked first. */
  replaceStore(index: number, store: ObjectStore): void {
    if (!(index >= 0 && index < this.ctx.stores.length)) throw new RangeError(`tier ${this.name} has no backend ${index}`);
    this.ctx.stores[index] = store;
    this.episodes.succeeded(index);
  }

  /** Waits for background work: read-ahead, restores asked for, disk cache writes. */
  async idle(): Promise<void> {
    const { reader, cache } = await this.opened;
    await reader.idle();
    await cache.disk?.idle();
  }

  async close(): Promise<void> {
    const opened = await this.opened.catch(() => undefined);
    if (!opened) return;
    await opened.reader.idle();
    await opened.cache.disk?.close();
    opened.cache.clear();
  }

  private async forget(fileId: string): Promise<void> {
    const { reader, cache } = await this.opened;
    reader.forget(fileId);
    cache.dropFile(fileId);
  }
}

/**
 * The tier of a configuration, its stores built from the backend configs (retries,
 * integrity checks and, with a registry, metrics included). cacheDir is this tier's
 * own directory; the daemon gives <dataDir>/cache/<tier name>.
 */
export async function openObjectTier(
  config: ObjectTierConfig,
  fsid: string,
  cacheDir: string,
  options: Partial<ObjectTierOptions> & { store?: CreateObjectStoreOptions } = {},
): Promise<ObjectTier> {
  for (const b of cellsInParts(config)) {
    log.warn({ tier: config.name, backend: b.backend, cellBytes: b.cellBytes, multipartThreshold: b.multipartThreshold }, 'cells are above the backend\'s multipartThreshold: each is uploaded in parts, three requests or more beyond one; raise multipartThreshold above the cell size');
  }
  const stores = config.backends.map((_, i) => tierStore(config, i, options.store));
  const tier = new ObjectTier(config, stores, fsid, { ...DEFAULT_CACHE, backendNames: backendLabels(config.backends), ...options, cacheDir });
  await tier.ready();
  return tier;
}

/** The store of backend `index` of a tier, as openObjectTier makes it (tierfs config apply reconnects one). */
export function tierStore(config: ObjectTierConfig, index: number, options?: CreateObjectStoreOptions): ObjectStore {
  // Cells and manifests carry their own checksums (cell.ts, manifest.ts): the store's is one too many.
  const labels = { tier: config.name, backend: backendLabels(config.backends)[index]! };
  return createObjectStore(config.backends[index]!, { bodyChecksums: false, labels, ...options });
}

/**
 * What each backend of a tier is called in metrics and probes: its name; unnamed, its
 * type, or type-N (N its place in the list) when the tier has several of that type.
 */
export function backendLabels(backends: readonly Pick<BackendConfig, 'name' | 'type'>[]): string[] {
  return backends.map((b, i) => b.name ?? (backends.filter((o) => o.type === b.type).length > 1 ? `${b.type}-${i}` : b.type));
}

/**
 * The network backends of a tier whose multipartThreshold is below the tier's largest cell
 * object (a data cell of a whole chunk and its header): each such cell goes up as a
 * multipart upload — a request to start, one per part, one to complete — where one put
 * would do, and stores bill requests.
 */
export function cellsInParts(config: ObjectTierConfig): { backend: string; cellBytes: number; multipartThreshold: number }[] {
  const cellBytes = cellSize(config.chunkSize, config.scheme.k) + headerLength('00000000-0000-0000-0000-000000000000');
  const labels = backendLabels(config.backends);
  return config.backends.flatMap((b, i) =>
    b.type !== 'fs' && b.type !== 'memory' && cellBytes > b.multipartThreshold ? [{ backend: labels[i]!, cellBytes, multipartThreshold: b.multipartThreshold }] : [],
  );
}

/** <dataDir>/cache/<tier>: where a tier's disk cache lives unless told otherwise. */
export function defaultCacheDir(dataDir: string, tierName: string): string {
  return join(dataDir, 'cache', tierName);
}
