// The name an unlinked local file's backing name is set aside under in its volume's temp
// directory until the catalog's change commits (Vfs.unlink): it says which catalog name
// went, so that a mount after a crash can finish that unlink (Vfs.finishUnlinks). A name
// can be up to 255 bytes, more than fits beside the rest, so it is there as a CRC-32:
// the name of that inode in that directory whose digest it is.
import { crc32 } from 'node:zlib';

export const UNLINK_TAG_PREFIX = 'unlinking-';
// parent, ino, the name's digest, then pid and count
const TAG_PATTERN = new RegExp(`^${UNLINK_TAG_PREFIX}(\\d+)-(\\d+)-(\\d+)-\\d+-\\d+$`);

export interface UnlinkTag {
  parent: number;
  ino: number;
  nameDigest: number;
}

export const nameDigest = (name: string): number => crc32(name);

let setAside = 0;

/** A temp name for parent/name of ino, unique in this process (pid and a count). */
export function unlinkTag(parent: number, ino: number, name: string): string {
  return `${UNLINK_TAG_PREFIX}${parent}-${ino}-${nameDigest(name)}-${process.pid}-${++setAside}`;
}

export function parseUnlinkTag(tag: string): UnlinkTag | undefined {
  const m = TAG_PATTERN.exec(tag);
  return m ? { parent: Number(m[1]), ino: Number(m[2]), nameDigest: Number(m[3]) } : undefined;
}

/**
 * The name a file replaced by a rename is set aside under on its volume (when the rename
 * itself does not replace it there: it is on another volume or tier) until the rename's
 * names commit: finishing that rename after a crash then knows the name no longer holds it.
 */
export const REPLACED_TAG_PREFIX = 'replaced-';

export function replacedTag(intent: number): string {
  return `${REPLACED_TAG_PREFIX}${intent}-${process.pid}-${++setAside}`;
}
