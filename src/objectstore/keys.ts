// Rules every key and every metadata entry must follow, the same on every backend, so
// that moving a tier from one backend to another can never meet a key it cannot hold.
import { FatalError } from './errors.js';

const MAX_KEY_BYTES = 1024; // S3's and GCS's limit; Azure allows more

/** Throws FatalError unless `key` is a key every backend (the filesystem one included) can store. */
export function checkKey(key: string): void {
  const bad = (why: string) => new FatalError(`invalid object key ${JSON.stringify(key)}: ${why}`);
  if (key.length === 0) throw bad('empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw bad(`longer than ${MAX_KEY_BYTES} bytes`);
  if (key.includes('\0')) throw bad('contains NUL');
  if (key.startsWith('/')) throw bad('absolute (starts with "/")');
  if (/[\uD800-\uDFFF]/u.test(key)) throw bad('has a lone surrogate (not well-formed unicode)');
  // "." and ".." mean something to every filesystem and to URL normalisers on the way
  // to a server; refusing them everywhere keeps keys portable and paths inside a root.
  if (key.split('/').some((seg) => seg === '.' || seg === '..')) throw bad('has a "." or ".." segment');
}

const METADATA_NAME = /^[a-z][a-z0-9]{0,62}$/;

/**
 * Metadata names are lower-case letters and digits: S3 lower-cases names, Azure wants
 * C# identifiers, HTTP headers cannot carry much else. Values are printable ASCII.
 */
export function checkMetadata(metadata: Record<string, string> | undefined): void {
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (!METADATA_NAME.test(name)) throw new FatalError(`invalid metadata name ${JSON.stringify(name)}: use [a-z][a-z0-9]*`);
    if (!/^[\x20-\x7e]*$/.test(value)) throw new FatalError(`invalid metadata value for ${name}: printable ASCII only`);
  }
}

/** The range a get returns: the asked range clipped to an object of `size` bytes. */
export function clipRange(range: { offset: number; length: number } | undefined, size: number) {
  if (!range) return { offset: 0, length: size };
  if (!Number.isSafeInteger(range.offset) || range.offset < 0 || !Number.isSafeInteger(range.length) || range.length < 0) {
    throw new FatalError(`invalid range ${JSON.stringify(range)}`);
  }
  const offset = Math.min(range.offset, size);
  return { offset, length: Math.max(0, Math.min(range.length, size - offset)) };
}

/** Throws FatalError for a negative or fractional range, before any request is made. */
export function checkRange(range: { offset: number; length: number } | undefined): void {
  clipRange(range, Number.MAX_SAFE_INTEGER);
}

/** Byte-wise comparison of keys: the order S3, Azure and GCS list in (UTF-8 bytes, not UTF-16 units). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
