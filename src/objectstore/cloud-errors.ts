// How each cloud's errors are classed: one table per cloud, written from its documented
// error codes (HTTP status + code), plus the failures below HTTP that every client
// meets. The class decides what happens next: Transient and Throttled failures are
// retried (a throttled store after a longer wait), Corrupt is a Transient read that
// gave bad bytes, Conflict a Transient call whose conditional step found the object
// changed by another writer, NotFound and Archived/Restoring are answers, BucketMissing and
// Fatal are configuration or programming errors that no retry cures.
//
// Sources: S3 "Error responses" (List of error codes); Azure "Blob Storage error
// codes" and "Common REST API error codes"; Cloud Storage "HTTP status and error
// codes" for the JSON API. A row matches when each field it gives matches; the first
// matching row of the cloud's table wins, then the common rows, then the status
// class (5xx Transient, anything else Fatal).
import {
  ArchivedError, BucketMissingError, ConcurrentChangeError, CorruptDataError, FatalError, NotFoundError, ObjectStoreError, RestoringError, ThrottledError,
  TransientError,
} from './errors.js';

export type ErrorKind = 'Transient' | 'Throttled' | 'Corrupt' | 'Conflict' | 'NotFound' | 'BucketMissing' | 'Archived' | 'Restoring' | 'Fatal';

export interface ErrorRule {
  status?: number;
  /** The cloud's error code (S3 <Code>, Azure x-ms-error-code, GCS errors[0].reason), or a Node/SDK error code or name. */
  code?: string;
  /** Only for errors an SDK raises with nothing but a message. */
  message?: RegExp;
  kind: ErrorKind;
  why: string;
}

/** What an adapter could read off one failure. */
export interface ErrorFacts {
  status?: number;
  code?: string;
  message?: string;
}

export const S3_ERRORS: readonly ErrorRule[] = [
  { status: 404, code: 'NoSuchKey', kind: 'NotFound', why: 'the key does not exist' },
  { code: 'NoSuchBucket', kind: 'BucketMissing', why: 'the bucket does not exist' },
  { status: 404, code: 'NoSuchUpload', kind: 'NotFound', why: 'the multipart upload is gone: aborted or completed' },
  { status: 400, code: 'RequestTimeout', kind: 'Transient', why: 'the socket was idle too long before the request was read whole' },
  { status: 403, code: 'RequestTimeTooSkewed', kind: 'Transient', why: 'the client corrected its clock offset from this answer; the repeat is signed right' },
  { status: 400, code: 'IncompleteBody', kind: 'Transient', why: 'fewer bytes arrived than announced: the upload broke off' },
  { status: 400, code: 'BadDigest', kind: 'Corrupt', why: 'the body was damaged on the way up (its checksum does not match); send it again' },
  { status: 400, code: 'XAmzContentSHA256Mismatch', kind: 'Corrupt', why: 'the body was damaged on the way up; send it again' },
  { status: 400, code: 'TokenRefreshRequired', kind: 'Transient', why: 'the SDK refreshes the token before the repeat' },
  { status: 409, code: 'OperationAborted', kind: 'Transient', why: 'a conflicting operation is in progress; documented as "try again"' },
  { status: 500, code: 'InternalError', kind: 'Transient', why: 'documented as "try again"' },
  { status: 503, code: 'SlowDown', kind: 'Throttled', why: 'request rate too high' },
  { status: 503, code: 'ServiceUnavailable', kind: 'Throttled', why: 'documented as "reduce your request rate"' },
  { code: 'Throttling', kind: 'Throttled', why: 'request rate too high' },
  { code: 'RequestLimitExceeded', kind: 'Throttled', why: 'request rate too high' },
  { status: 403, code: 'InvalidObjectState', kind: 'Archived', why: 'the object is in an archive class or tier: restore it first' },
  { status: 400, code: 'ExpiredToken', kind: 'Fatal', why: 'the session credentials expired: renew them (a profile or role does so by itself)' },
  { status: 501, kind: 'Fatal', why: 'not implemented by this store: repeating cannot help' },
  // HEAD answers carry no body, so no code: the SDK names them after the status.
  { status: 404, code: 'NotFound', kind: 'NotFound', why: 'HEAD of a missing key (or bucket: the adapter asks which)' },
  { code: 'TimeoutError', kind: 'Transient', why: "the client's connection or socket timeout" },
  { message: /^Checksum mismatch/, kind: 'Corrupt', why: 'the body does not match the checksum S3 sent with it' },
];

export const AZURE_ERRORS: readonly ErrorRule[] = [
  { status: 404, code: 'BlobNotFound', kind: 'NotFound', why: 'the blob does not exist' },
  { status: 404, code: 'ContainerNotFound', kind: 'BucketMissing', why: 'the container does not exist' },
  { status: 409, code: 'BlobArchived', kind: 'Archived', why: 'the blob is in the Archive tier: rehydrate it first' },
  { status: 409, code: 'BlobBeingRehydrated', kind: 'Restoring', why: 'the blob is being rehydrated (up to 15 hours)' },
  { status: 503, code: 'ServerBusy', kind: 'Throttled', why: 'account or partition over its limits' },
  { status: 500, code: 'InternalError', kind: 'Transient', why: 'documented as "retry"' },
  { status: 500, code: 'OperationTimedOut', kind: 'Transient', why: 'the server-side timeout passed; documented as "retry"' },
  { status: 400, code: 'Md5Mismatch', kind: 'Corrupt', why: 'the body was damaged on the way up; send it again' },
  { status: 400, code: 'Crc64Mismatch', kind: 'Corrupt', why: 'the body was damaged on the way up; send it again' },
  // Azurite's answer to the same check (Azure's own code is Md5Mismatch).
  { status: 400, code: 'InvalidOperation', message: /contentMD5 doesn't match/, kind: 'Corrupt', why: 'the body was damaged on the way up; send it again' },
  { status: 403, code: 'AuthenticationFailed', kind: 'Fatal', why: 'the key or SAS is wrong or expired (a SAS has an end time): renew it' },
  { status: 403, code: 'AuthorizationFailure', kind: 'Fatal', why: 'the credential may not do this: a SAS without the permission or past its end time, a role missing, a network rule' },
  { status: 403, code: 'AuthorizationPermissionMismatch', kind: 'Fatal', why: 'the credential lacks the permission (a SAS or role without it)' },
  // Raised by @azure/identity when no Entra ID token can be had.
  { code: 'CredentialUnavailableError', kind: 'Fatal', why: 'no credential of the chain is set up here: configure one (environment, managed identity, az login)' },
  { code: 'AggregateAuthenticationError', kind: 'Fatal', why: 'every credential of the chain failed: configure one (environment, managed identity, az login)' },
  { code: 'AuthenticationRequiredError', kind: 'Fatal', why: 'the credential needs an interactive sign-in' },
  { status: 501, kind: 'Fatal', why: 'not implemented by this store: repeating cannot help' },
  // Raised by the SDK itself, with no HTTP answer behind them.
  { code: 'REQUEST_SEND_ERROR', kind: 'Transient', why: 'the request could not be sent (a socket error without a code)' },
  { code: 'AbortError', kind: 'Transient', why: 'the SDK aborted the request: its response stream broke off' },
  { code: 'PARSE_ERROR', kind: 'Transient', why: 'a truncated answer (the SDK retries these itself when its retries are on)' },
  { message: /^Data corruption failure/, kind: 'Corrupt', why: 'the body ended before the length the answer announced' },
];

export const GCS_ERRORS: readonly ErrorRule[] = [
  // By status: the reason is "notFound" for a missing object and a missing bucket
  // alike, and the message names the bucket; the adapter asks which one is missing.
  { status: 404, kind: 'NotFound', why: 'the object (or the bucket: the adapter asks which) does not exist' },
  { status: 408, kind: 'Transient', why: 'request timeout' },
  { status: 410, kind: 'Transient', why: 'the resumable upload session is gone: a repeat starts a fresh one' },
  { status: 429, kind: 'Throttled', why: 'rate limit exceeded' },
  { status: 412, kind: 'Conflict', why: 'the object changed since the generation this request was made conditional on (another writer): nothing was changed' },
  { status: 403, code: 'rateLimitExceeded', kind: 'Throttled', why: 'rate limit exceeded (older answers use 403)' },
  { status: 403, code: 'userRateLimitExceeded', kind: 'Throttled', why: 'rate limit exceeded (older answers use 403)' },
  { status: 500, kind: 'Transient', why: 'backend error: documented as retryable' },
  { status: 501, kind: 'Fatal', why: 'not implemented by this store: repeating cannot help' },
  { status: 502, kind: 'Transient', why: 'documented as retryable' },
  { status: 503, kind: 'Throttled', why: 'documented as retryable; often load, so back off' },
  { status: 504, kind: 'Transient', why: 'documented as retryable' },
  { status: 400, message: /doesn't match calculated (CRC32C|MD5)/, kind: 'Corrupt', why: 'the upload was damaged on the way: its X-Goog-Hash does not match the bytes that arrived' },
  { code: 'FILE_NO_UPLOAD', kind: 'Corrupt', why: "the stored object's hash differs from the one computed while sending (the client deleted it): send it again" },
  { code: 'FILE_NO_UPLOAD_DELETE', kind: 'Corrupt', why: "the stored object's hash differs from the one computed while sending, and deleting it failed: send it again" },
  // The JSON calls go through node-fetch, whose timeout is a FetchError.
  { code: 'request-timeout', kind: 'Transient', why: "the client's own request timeout" },
];

/** Failures below HTTP, the same for every client: nothing about the request itself. */
export const NETWORK_ERRORS: readonly ErrorRule[] = [
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE', 'ESOCKETTIMEDOUT',
].map((code) => ({ code, kind: 'Transient' as const, why: 'the connection failed; the request may not have been seen' }));

const STATUS_ERRORS: readonly ErrorRule[] = [
  { status: 408, kind: 'Transient', why: 'request timeout' },
  { status: 429, kind: 'Throttled', why: 'too many requests' },
  { status: 501, kind: 'Fatal', why: 'not implemented' },
  { status: 503, kind: 'Throttled', why: 'service unavailable: usually load' },
];

function matches(rule: ErrorRule, facts: ErrorFacts): boolean {
  return (
    (rule.status === undefined || rule.status === facts.status) &&
    (rule.code === undefined || rule.code === facts.code) &&
    (rule.message === undefined || rule.message.test(facts.message ?? ''))
  );
}

/** The rule for a failure: the cloud's table, then the network and status rows, then the status class. */
export function classify(table: readonly ErrorRule[], facts: ErrorFacts): ErrorRule {
  for (const rules of [table, NETWORK_ERRORS, STATUS_ERRORS]) {
    const rule = rules.find((r) => matches(r, facts));
    if (rule) return rule;
  }
  return facts.status !== undefined && facts.status >= 500
    ? { kind: 'Transient', why: 'a server error' }
    : { kind: 'Fatal', why: 'not a failure that a repeat can cure' };
}

/** The typed error for a classed failure; its message says what the answer means. `what` names the call, e.g. "get some/key". */
export function typedError(rule: ErrorRule, facts: ErrorFacts, what: string, key: string, bucket: string, cause: unknown): ObjectStoreError {
  const answer = [facts.status !== undefined ? `HTTP ${facts.status}` : undefined, facts.code, facts.message].filter(Boolean).join(' ');
  const detail = `${what}: ${answer} (${rule.why})`;
  switch (rule.kind) {
    case 'NotFound':
      return new NotFoundError(key, { cause });
    case 'BucketMissing':
      return new BucketMissingError(bucket, { cause });
    case 'Archived':
      return new ArchivedError(key, { cause });
    case 'Restoring':
      return new RestoringError(key, {}, { cause });
    case 'Corrupt':
      return new CorruptDataError(detail, { cause });
    case 'Conflict':
      return new ConcurrentChangeError(detail, { cause });
    case 'Throttled':
      return new ThrottledError(detail, { cause });
    case 'Transient':
      return new TransientError(detail, { cause });
    case 'Fatal':
      return new FatalError(detail, { cause });
  }
}

/**
 * Tells a missing key from a missing bucket where a 404 does not say which (an S3 HEAD
 * has no body; GCS says "notFound" for both): asks whether the bucket exists, at most
 * once per `ttlMs` while it does.
 */
export class BucketProbe {
  private seenAt = -Infinity;

  constructor(
    private readonly bucketExists: () => Promise<boolean>,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** The error for a 404 of `key`: NotFound, or BucketMissing when the bucket is gone. */
  async notFound(err: NotFoundError, bucket: string): Promise<ObjectStoreError> {
    if (Date.now() - this.seenAt < this.ttlMs) return err;
    let exists: boolean;
    try {
      exists = await this.bucketExists();
    } catch {
      return err; // the probe failing says nothing about the bucket
    }
    if (!exists) return new BucketMissingError(bucket, { cause: err.cause });
    this.seenAt = Date.now();
    return err;
  }
}
