// How the filesystem backend lays keys out under its root, and the trailer each
// object file carries.
//
// Keys map to paths segment by segment, so "photos/2024/cat.jpg" becomes
// ROOT/photos/2024/cat.jpg~ and a tree stays readable by people. Two rules make
// every key storable and none able to leave the root:
//   - an object file's name ends in "~" and a directory name never holds a raw "~",
//     so the keys "a/b" (file "a/b~") and "a/b/c" (directory "a/b") coexist, and a key
//     ending in "/" (file "a/%~" for the empty last segment) is an object like any other;
//   - "%", "~" and control characters are percent-encoded, an empty segment is "%",
//     "." and ".." never get here (checkKey refuses them), nor does NUL or a leading "/".
// Anything else in the tree (temporary files "~tmp-…", foreign files) is not an object
// and is skipped by listings.
import { join } from 'node:path';
import { FatalError } from './errors.js';
import { checkKey } from './keys.js';

const OBJECT_SUFFIX = '~';
const MAX_NAME_BYTES = 255;

export function encodeSegment(segment: string): string {
  if (segment === '') return '%';
  return segment.replace(/[%~\x00-\x1f\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function decodeSegment(name: string): string | undefined {
  if (name === '%') return '';
  if (name.includes('~') || /%(?![0-9A-F]{2})/.test(name)) return undefined;
  return name.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The directory and file name of `key` under `root`. Throws FatalError for a key the layout cannot hold. */
export function objectPath(root: string, key: string): { dir: string; file: string } {
  checkKey(key);
  const segments = key.split('/').map(encodeSegment);
  const last = `${segments.pop()!}${OBJECT_SUFFIX}`;
  for (const name of [...segments, last]) {
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
      throw new FatalError(`key segment too long for a filesystem name (${MAX_NAME_BYTES} bytes): ${JSON.stringify(key)}`);
    }
  }
  const dir = join(root, ...segments);
  return { dir, file: join(dir, last) };
}

/** What a directory entry means: an object (its last key segment), a directory (a key segment), or neither. */
export function parseEntry(name: string, isDirectory: boolean): { segment: string; isObject: boolean } | undefined {
  if (isDirectory) {
    const segment = decodeSegment(name);
    return segment === undefined ? undefined : { segment, isObject: false };
  }
  if (!name.endsWith(OBJECT_SUFFIX)) return undefined;
  const segment = decodeSegment(name.slice(0, -OBJECT_SUFFIX.length));
  return segment === undefined ? undefined : { segment, isObject: true };
}

// An object file is its body followed by a trailer, so the body starts at offset 0
// (ranged reads need no arithmetic) and metadata known only after a streamed body can
// still be written in the same file, before the one atomic rename:
//   body | JSON {metadata, contentType} | uint32 BE length of the JSON | "TFSOBJ1\n"
export const TRAILER_MAGIC = Buffer.from('TFSOBJ1\n');
export const TRAILER_FIXED = 4 + TRAILER_MAGIC.length;

export interface TrailerInfo {
  metadata: Record<string, string>;
  contentType?: string;
}

export function encodeTrailer(info: TrailerInfo): Buffer {
  const json = Buffer.from(JSON.stringify(info));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([json, len, TRAILER_MAGIC]);
}

/** The JSON length from the fixed tail of an object file, or undefined if the file is not one of ours. */
export function trailerJsonLength(tail: Buffer): number | undefined {
  if (tail.length !== TRAILER_FIXED || !tail.subarray(4).equals(TRAILER_MAGIC)) return undefined;
  return tail.readUInt32BE(0);
}
