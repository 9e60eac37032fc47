// Prometheus metrics of object-store calls, by backend and operation: requests,
// bytes, latency, errors by code, and retries. The registry is passed in; metrics
// already registered there (by another store on the same registry) are reused.
import type { Readable } from 'node:stream';
import { Counter, Histogram, type Registry } from 'prom-client';
import { tap, through } from './body.js';
import { ObjectStoreError } from './errors.js';
import type {
  CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ListOptions, ObjectMeta, ObjectStore, ObjectStoreOp, PutOptions,
  PutResult, RestoreOptions,
} from './types.js';

type Labels = 'backend' | 'op';

export class ObjectStoreMetrics {
  readonly requests: Counter<Labels>;
  readonly bytes: Counter<Labels>;
  readonly latency: Histogram<Labels>;
  readonly errors: Counter<Labels | 'code'>;
  readonly retries: Counter<Labels | 'code'>;

  constructor(registry: Registry) {
    const reuse = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    const registers = [registry];
    this.requests = reuse('tierfs_objectstore_requests_total', () => new Counter({
      name: 'tierfs_objectstore_requests_total', help: 'Object-store calls made, each attempt counted', labelNames: ['backend', 'op'], registers,
    }));
    this.bytes = reuse('tierfs_objectstore_bytes_total', () => new Counter({
      name: 'tierfs_objectstore_bytes_total', help: 'Body bytes sent (put) and received (get)', labelNames: ['backend', 'op'], registers,
    }));
    this.latency = reuse('tierfs_objectstore_request_duration_seconds', () => new Histogram({
      name: 'tierfs_objectstore_request_duration_seconds',
      help: 'Time per call; for streamed gets, until the stream is open',
      labelNames: ['backend', 'op'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }));
    this.errors = reuse('tierfs_objectstore_errors_total', () => new Counter({
      name: 'tierfs_objectstore_errors_total', help: 'Failed calls by error code', labelNames: ['backend', 'op', 'code'], registers,
    }));
    this.retries = reuse('tierfs_objectstore_retries_total', () => new Counter({
      name: 'tierfs_objectstore_retries_total', help: 'Calls repeated by the retry wrapper, by the error that caused it', labelNames: ['backend', 'op', 'code'], registers,
    }));
  }
}

export class MeteredStore implements ObjectStore {
  readonly backend: string;
  readonly limits: ObjectStore['limits'];

  /** `label` tells stores of one backend apart in the metrics; default: the backend name. */
  constructor(
    private readonly inner: ObjectStore,
    private readonly metrics: ObjectStoreMetrics,
    private readonly label: string = inner.backend,
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
    const labels = { backend: this.label, op: 'get' };
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

  restore(key: string, opts?: RestoreOptions): Promise<void> {
    return this.measure('restore', () => this.inner.restore(key, opts), () => 0);
  }

  async *list(prefix?: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    const labels = { backend: this.label, op: 'list' };
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
    this.metrics.retries.inc({ backend: this.label, op, code: err.code });
  }

  private async measure<T>(op: ObjectStoreOp, call: () => Promise<T>, bytesOf: (result: T) => number): Promise<T> {
    const labels = { backend: this.label, op };
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

  private countError(op: ObjectStoreOp, err: unknown): void {
    // A call its caller aborted failed no one: counted apart from the store's failures.
    const code = err instanceof ObjectStoreError ? err.code : (err as Error)?.name === 'AbortError' ? 'Aborted' : 'Fatal';
    this.metrics.errors.inc({ backend: this.label, op, code });
  }
}
