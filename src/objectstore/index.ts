// Builds an object store from its configuration: the backend's adapter, wrapped (from
// the inside out) by integrity checks, metrics and retries. Callers use only the
// ObjectStore interface and the typed errors exported here.
import type { Registry } from 'prom-client';
import type { BackendConfig } from '../config/backends.js';
import { moduleLogger } from '../log.js';
import { AzureStore } from './azure.js';
import { FsStore } from './fs.js';
import { GcsStore } from './gcs.js';
import { VerifyingStore } from './integrity.js';
import { MemoryStore } from './memory.js';
import { MeteredStore, ObjectStoreMetrics, type StoreLabels } from './metrics.js';
import { RetryingStore, type RetryHooks, type RetryPolicy } from './retry.js';
import { S3Store } from './s3.js';
import type { ObjectStore } from './types.js';

export type * from './types.js';
export * from './errors.js';
export { CRC_METADATA } from './integrity.js';
export { FaultyStore, type FaultOptions } from './faults.js';
export { MemoryStore } from './memory.js';
export { OBJECTSTORE_METRICS, type StoreLabels } from './metrics.js';

export interface CreateObjectStoreOptions {
  /** Where the metrics go; without one, calls are not metered. */
  registry?: Registry;
  /** What the metrics are labelled with; default: the backend's name (else its type), no tier. */
  labels?: StoreLabels;
  /** Wraps the bare adapter before the other wrappers; tests put a FaultyStore here. */
  wrapAdapter?: (adapter: ObjectStore) => ObjectStore;
  /** Seeded randomness and a fake clock for tests of the retry behaviour. */
  retryHooks?: Omit<RetryHooks, 'onRetry'>;
  /** Record and check a CRC of each body (default); off for objects that carry their own. */
  bodyChecksums?: boolean;
}

const log = moduleLogger('objectstore');

/** The bare adapter for a backend, with no retries, metrics or integrity checks. */
export function createAdapter(config: BackendConfig): ObjectStore {
  const sizes = {
    multipartThreshold: config.multipartThreshold,
    partSize: config.partSize,
    partConcurrency: config.partConcurrency,
    listPageSize: config.listPageSize,
  };
  switch (config.type) {
    case 's3':
      return new S3Store({
        ...sizes,
        bucket: config.bucket,
        ...(config.region ? { region: config.region } : {}),
        endpoint: config.endpoint,
        forcePathStyle: config.forcePathStyle,
        checksums: config.checksums,
        timeouts: config.timeouts,
        credentials:
          config.accessKeyId && config.secretAccessKey
            ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, sessionToken: config.sessionToken }
            : undefined,
      });
    case 'azure':
      return new AzureStore({
        ...sizes,
        container: config.container,
        connectionString: config.connectionString,
        accountUrl: config.accountUrl,
        accountName: config.accountName,
        accountKey: config.accountKey,
        ...(config.auth ? { auth: config.auth } : {}),
        timeouts: config.timeouts,
      });
    case 'gcs':
      return new GcsStore({
        ...sizes, bucket: config.bucket, endpoint: config.endpoint, projectId: config.projectId, keyFilename: config.keyFilename,
        timeouts: config.timeouts,
      });
    case 'fs':
      return new FsStore({ root: config.root, fsync: config.fsync });
    case 'memory':
      return new MemoryStore({ listPageSize: config.listPageSize });
  }
}

/** A ready store: adapter → integrity checks → metrics (if a registry is given) → retries. */
export function createObjectStore(config: BackendConfig, opts: CreateObjectStoreOptions = {}): ObjectStore {
  const adapter = createAdapter(config);
  let store: ObjectStore = new VerifyingStore(opts.wrapAdapter ? opts.wrapAdapter(adapter) : adapter, opts.bodyChecksums ?? true);
  const labels = opts.labels ?? { backend: config.name ?? config.type };
  const metered = opts.registry ? new MeteredStore(store, new ObjectStoreMetrics(opts.registry), labels) : undefined;
  store = metered ?? store;
  const policy: RetryPolicy = {
    maxAttempts: config.retry.maxAttempts,
    baseDelayMs: config.retry.baseDelay,
    maxDelayMs: config.retry.maxDelay,
    deadlineMs: config.retry.deadline,
  };
  // Only where the data lives, never credentials.
  log.debug({ backend: config.type, name: config.name ?? config.type, where: whereOf(config) }, 'object store ready');
  return new RetryingStore(store, policy, { ...opts.retryHooks, onRetry: (op, err) => metered?.countRetry(op, err) });
}

function whereOf(config: BackendConfig): string {
  switch (config.type) {
    case 's3':
      return `${config.endpoint ?? 'aws'}/${config.bucket}`;
    case 'azure':
      return `${config.accountUrl ?? 'connection string'}/${config.container}`.replace(/\?.*$/, '');
    case 'gcs':
      return `${config.endpoint ?? 'google'}/${config.bucket}`;
    case 'fs':
      return config.root;
    case 'memory':
      return 'memory';
  }
}
