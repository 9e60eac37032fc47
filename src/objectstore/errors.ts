// Typed object-store errors. Each adapter turns its SDK's errors into one of these
// (through its cloud's table in cloud-errors.ts), so the retry wrapper, the metrics
// and the object tier above decide by `code` alone.
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
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptDataError';
  }
}

/**
 * The object changed under a call that had made a later step conditional on the state
 * it left (GCS answers 412 to ifGenerationMatch): the step changed nothing, so no
 * writer's metadata lands on another writer's bytes. Transient: the whole call,
 * repeated, acts on the object as it is now.
 */
export class ConcurrentChangeError extends TransientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConcurrentChangeError';
  }
}

/**
 * The object sits in an archive class; `restore()` it first. Not lost: a reader
 * answers "try again later" (EAGAIN), scrub leaves it alone. `state` says whether a
 * restore is already under way (see RestoringError).
 */
export class ArchivedError extends ObjectStoreError {
  readonly state: 'archived' | 'restoring' = 'archived';

  constructor(key: string, options?: { cause?: unknown }, message = `object is archived and must be restored before reading: ${key}`) {
    super('Archived', message, options);
    this.name = 'ArchivedError';
  }
}

/** The object is archived and its restore is under way; `expectedBy` when the cloud says how long it takes. */
export class RestoringError extends ArchivedError {
  override readonly state = 'restoring';
  readonly expectedBy: Date | undefined;

  constructor(key: string, when: { expectedBy?: Date } = {}, options?: { cause?: unknown }) {
    const by = when.expectedBy ? `, expected by ${when.expectedBy.toISOString()}` : '';
    super(key, options, `object is being restored from its archive, read it again later${by}: ${key}`);
    this.name = 'RestoringError';
    this.expectedBy = when.expectedBy;
  }
}

/**
 * `err` refined by the object's state: a RestoringError when its head says a restore
 * is under way (a get of an archived object does not say), else `err` itself.
 */
export async function archivedState(err: ArchivedError, key: string, head: () => Promise<{ archive?: { state: string; expectedBy?: Date } }>): Promise<ArchivedError> {
  if (err instanceof RestoringError) return err;
  try {
    const { archive } = await head();
    if (archive?.state === 'restoring') return new RestoringError(key, archive.expectedBy ? { expectedBy: archive.expectedBy } : {}, { cause: err });
  } catch {
    // the head failing says nothing new about the object
  }
  return err;
}

/** Everything else: bad credentials, a missing bucket, an invalid key. Not retried. */
export class FatalError extends ObjectStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Fatal', message, options);
    this.name = 'FatalError';
  }
}

/** The bucket (container) an adapter was given does not exist: a configuration error, not a missing key. */
export class BucketMissingError extends FatalError {
  constructor(bucket: string, options?: { cause?: unknown }) {
    super(`bucket (container) does not exist: ${bucket}`, options);
    this.name = 'BucketMissingError';
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ObjectStoreError && (err.code === 'Transient' || err.code === 'Throttled');
}
