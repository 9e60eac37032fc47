// Typed object-store errors. Each adapter turns its SDK's errors into one of these,
// so the retry wrapper, the metrics and the object tier above decide by `code` alone.
export type ObjectStoreErrorCode = 'NotFound' | 'Throttled' | 'Transient' | 'Archived' | 'Fatal';

export class ObjectStoreError extends Error {
  constructor(
    readonly code: ObjectStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}

/** The key does not exist. */
export class NotFoundError extends ObjectStoreError {
  constructor(key: string, options?: { cause?: unknown }) {
    super('NotFound', `object not found: ${key}`, options);
    this.name = 'NotFoundError';
  }
}

/** The backend asked us to slow down (HTTP 429, S3 SlowDown, Azure ServerBusy). Retryable. */
export class ThrottledError extends ObjectStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Throttled', message, options);
    this.name = 'ThrottledError';
  }
}

/** A failure that may not happen again: a reset connection, a 5xx, a timeout. Retryable. */
export class TransientError extends ObjectStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Transient', message, options);
    this.name = 'TransientError';
  }
}

/** A request that went past one of its timeouts (see timeouts.ts). */
export class RequestTimeoutError extends TransientError {
  constructor(
    readonly phase: 'answer' | 'body',
    readonly ms: number,
    what: string,
  ) {
    super(`${what}: ${phase === 'answer' ? 'no answer' : 'the body stood still'} for ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/**
 * The reason the retry wrapper aborts a call's signal with once its deadline passed.
 * Transient, but never retried: nothing starts after the deadline.
 */
export class DeadlineExceededError extends TransientError {
  constructor(ms: number) {
    super(`the call's deadline of ${ms} ms passed`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * A body that does not match its checksum or its expected length. It is Transient
 * because a fresh read usually cures it; if it does not, the caller sees this error
 * (never the bytes) and can rebuild the data from parity.
 */
export class CorruptDataError extends TransientError {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptDataError';
  }
}

/** The object sits in an archive class; `restore()` it first. */
export class ArchivedError extends ObjectStoreError {
  constructor(key: string, options?: { cause?: unknown }) {
    super('Archived', `object is archived and must be restored before reading: ${key}`, options);
    this.name = 'ArchivedError';
  }
}

/** Everything else: bad credentials, a missing bucket, an invalid key. Not retried. */
export class FatalError extends ObjectStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Fatal', message, options);
    this.name = 'FatalError';
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ObjectStoreError && (err.code === 'Transient' || err.code === 'Throttled');
}

// Socket-level failures that say nothing about the request itself.
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE',
]);
// An SDK that aborts a request itself (Azure, when the response stream breaks off)
// says so with an AbortError; aborts by our caller never get here (see isCallerAbort).

export function isNetworkError(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown } | null;
  return (
    (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) ||
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    e?.name === 'RequestTimeout'
  );
}

/** The typed error for an HTTP status from any backend; `what` names the operation and key. */
export function errorFromStatus(status: number | undefined, what: string, cause: unknown): ObjectStoreError {
  const detail = `${what}: ${(cause as Error)?.message ?? String(cause)}`;
  if (status === 429 || status === 503) return new ThrottledError(detail, { cause });
  if (status === 408 || (status !== undefined && status >= 500)) return new TransientError(detail, { cause });
  if (status === undefined && isNetworkError(cause)) return new TransientError(detail, { cause });
  return new FatalError(detail, { cause });
}
