// Prometheus metrics of object-store calls, by tier, backend and operation: requests,
// bytes, latency, errors by code, and retries. The registry is passed in; metrics
// already registered there (by another store, or by the daemon's registry from the
// same definitions) are reused.
import { deleteInRequests } from './delete-many.js';
import type { Readable } from 'node:stream';
import { Counter, Histogram, type Registry } from 'prom-client';
import { tap, through } from './body.js';
import { ObjectStoreError } from './errors.js';
import type {
  CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, ObjectStoreOp, PutOptions,
  PutResult, RestoreOptions,
} from './types.js';

/**
 * The names, types and labels of the object-store metrics. src/metrics/definitions.ts
 * takes these into the daemon's one table of metrics (which adds what a healthy value
 * looks like and what history keeps); a store used alone registers them from here.
 * `tier` is absent when a store is not part of a tier (tests, benchmarks).
 */
export const OBJECTSTORE_METRICS = {
  requests: {
    name: 'tierfs_objectstore_requests_total', type: 'counter', unit: 'requests',
    help: 'Object-store calls made, each attempt counted', labels: ['tier', 'backend', 'op'],
  },
  bytes: {
    name: 'tierfs_objectstore_bytes_total', type: 'counter', unit: 'bytes',
    help: 'Body bytes sent (put) and received (get)', labels: ['tier', 'backend', 'op'],
  },
  latency: {
    name: 'tierfs_objectstore_request_duration_seconds', type: 'histogram', unit: 'seconds',
    help: 'Time per call; for streamed gets, until the stream is open', labels: ['tier', 'backend', 'op'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  errors: {
    name: 'tierfs_objectstore_errors_total', type: 'counter', unit: 'errors',
    help: 'Failed calls by error code', labels: ['tier', 'backend', 'op', 'code'],
  },
  retries: {
    name: 'tierfs_objectstore_retries_total', type: 'counter', unit: 'retries',
    help: 'Calls repeated by the retry wrapper, by the error that caused it', labels: ['tier', 'backend', 'op', 'code'],
  },
} as const;

type Labels = 'tier' | 'backend' | 'op';

/** What a store's metrics are labelled with. */
export interface StoreLabels {
  backend: string;
  tier?: string;
}

export class ObjectStoreMetrics {
  readonly requests: Counter<Labels>;
  readonly bytes: Counter<Labels>;
  readonly latency: Histogram<Labels>;
  readonly errors: Counter<Labels | 'code'>;
  readonly retries: Counter<Labels | 'code'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const counter = (d: { name: string; help: string; labels: readonly string[] }) =>
      (registry.getSingleMetric(d.name) as Counter<string> | undefined) ?? new Counter({ name: d.name, help: d.help, labelNames: d.labels, registers });
    const d = OBJECTSTORE_METRICS;
    this.requests = counter(d.requests);
    this.bytes = counter(d.bytes);
    this.errors = counter(d.errors);
    this.retries = counter(d.retries);
    this.latency =
      (registry.getSingleMetric(d.latency.name) as Histogram<Labels> | undefined) ??
      new Histogram({ name: d.latency.name, help: d.latency.help, labelNames: d.latency.labels, buckets: [...d.latency.buckets], registers });
  }
}

export class MeteredStore implements ObjectStore {
  readonly backend: string;
  readonly limits: ObjectStore['limits'];

  /** `labels` tell stores apart in the metrics; default: the backend name, no tier. */
  constructor(
    private readonly inner: ObjectStore,
    private readonly metrics: ObjectStoreMetrics,
    private readonly labels: StoreLabels = { backend: inner.backend },
  ) {
    this.backend = inner.backend;
    this.limits = inner.limits;
  }

  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<PutResult> {
    if (Buffer.isBuffer(body)) {
      return this.measure('put', () => this.inner.put(key, body, opts), () => body.length);
    }
    let sent = 0;
    const counted = through(body, tap((chunk) => { sent += chunk.length; }));
    return this.measure('put', () => this.inner.put(key, counted, opts), () => sent);
  }

  get(key: string, opts?: GetOptions): Promise<GetResult> {
    return this.measure('get', () => this.inner.get(key, opts), (r) => r.data.length);
  }

  async getStream(key: string, opts?: GetOptions): Promise<GetStreamResult> {
    const result = await this.measure('get', () => this.inner.getStream(key, opts), () => 0);
    let received = 0;
    const labels = this.labelsOf('get');
    // Count once, when the stream is done, rather than a counter update per chunk.
    const counted = through(result.stream, tap((chunk) => { received += chunk.length; }));
    counted.once('close', () => this.metrics.bytes.inc(labels, received));
    counted.once('error', (err) => this.countError('get', err));
    return { ...result, stream: counted };
  }

  head(key: string, opts?: CallOptions): Promise<ObjectMeta> {
    return this.measure('head', () => this.inner.head(key, opts), () => 0);
  }

  delete(key: string, opts?: CallOptions): Promise<void> {
    return this.measure('delete', () => this.inner.delete(key, opts), () => 0);
  }

  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void> {
    return deleteInRequests(this, keys, opts, (batch) => this.measure('delete', () => this.inner.deleteMany(batch, opts), () => 0));
  }

  restore(key: string, opts?: RestoreOptions): Promise<void> {
    return this.measure('restore', () => this.inner.restore(key, opts), () => 0);
  }

  async *list(prefix?: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    const labels = this.labelsOf('list');
    this.metrics.requests.inc(labels);
    const stop = this.metrics.latency.startTimer(labels);
    try {
      yield* this.inner.list(prefix, opts);
    } catch (err) {
      this.countError('list', err);
      throw err;
    } finally {
      stop();
    }
  }

  /** Called by the retry wrapper above this one. */
  countRetry(op: ObjectStoreOp, err: ObjectStoreError): void {
    this.metrics.retries.inc({ ...this.labelsOf(op), code: err.code });
  }

  private async measure<T>(op: ObjectStoreOp, call: () => Promise<T>, bytesOf: (result: T) => number): Promise<T> {
    const labels = this.labelsOf(op);
    this.metrics.requests.inc(labels);
    const stop = this.metrics.latency.startTimer(labels);
    try {
      const result = await call();
      const n = bytesOf(result);
      if (n > 0) this.metrics.bytes.inc(labels, n);
      return result;
    } catch (err) {
      this.countError(op, err);
      throw err;
    } finally {
      stop();
    }
  }

  /** tier first when there is one, so a series reads tier, backend, op. */
  private labelsOf(op: ObjectStoreOp): Partial<Record<Labels, string>> {
    return this.labels.tier === undefined ? { backend: this.labels.backend, op } : { tier: this.labels.tier, backend: this.labels.backend, op };
  }

  private countError(op: ObjectStoreOp, err: unknown): void {
    // A call its caller aborted failed no one: counted apart from the store's failures.
    const code = err instanceof ObjectStoreError ? err.code : (err as Error)?.name === 'AbortError' ? 'Aborted' : 'Fatal';
    this.metrics.errors.inc({ ...this.labelsOf(op), code });
  }
}
