// Erasure-coding errors. The addon throws plain Errors with a `code`; callers
// get an EcError, so `err instanceof EcError` and `err.code` both work.

export type EcErrorCode =
  | 'EC_RANGE' // k < 1, m < 0, k + m > 255
  | 'EC_SHARD_COUNT' // an array with the wrong number of shards
  | 'EC_SHARD_SIZE' // shards of one stripe with different byte lengths
  | 'EC_SHARD_TYPE' // a shard that is not a Uint8Array (or null where none is allowed)
  | 'EC_TOO_FEW_SHARDS' // fewer than k readable shards
  | 'EC_BAD_INDEX' // a shard index out of range or repeated, or a shard to rebuild without a buffer
  | 'EC_KERNEL_UNKNOWN'
  | 'EC_KERNEL_UNAVAILABLE' // the CPU lacks the instructions of the kernel asked for
  | 'EC_NO_MEMORY';

export class EcError extends Error {
  constructor(
    readonly code: EcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EcError';
  }
}

/** The EcError for an error thrown by the addon; anything else unchanged. */
export function toEcError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string' && code.startsWith('EC_') && !(err instanceof EcError)) {
    return new EcError(code as EcErrorCode, err.message);
  }
  return err;
}
