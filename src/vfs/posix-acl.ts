// POSIX ACLs as the kernel hands them to a FUSE filesystem that negotiated
// FUSE_POSIX_ACL: the values of system.posix_acl_access and system.posix_acl_default in
// the kernel's xattr format. The kernel enforces them; the filesystem stores them and
// keeps the file mode in step (an access ACL's owner, mask or group, and other entries
// are the mode's permission bits), and gives new entries the default ACL of their
// directory, as ext4 does (posix_acl_create, posix_acl_chmod, posix_acl_equiv_mode).
import { FsError } from '../errors.js';

export const ACL_ACCESS = 'system.posix_acl_access';
export const ACL_DEFAULT = 'system.posix_acl_default';

const VERSION = 2;
const HEADER = 4;
const ENTRY = 8;

export const Tag = { UserObj: 0x01, User: 0x02, GroupObj: 0x04, Group: 0x08, Mask: 0x10, Other: 0x20 } as const;
export type Tag = (typeof Tag)[keyof typeof Tag];

export interface AclEntry {
  tag: Tag;
  perm: number;
  /** uid or gid for User and Group entries; unused otherwise */
  id: number;
}

const TAG_ORDER: readonly Tag[] = [Tag.UserObj, Tag.User, Tag.GroupObj, Tag.Group, Tag.Mask, Tag.Other];
const UNDEFINED_ID = 0xffffffff;

/** Parses and checks an ACL value: EINVAL for anything ext4 would refuse. */
export function parseAcl(value: Buffer): AclEntry[] {
  if (value.length < HEADER || (value.length - HEADER) % ENTRY !== 0 || value.readUInt32LE(0) !== VERSION) throw new FsError('EINVAL', 'not a POSIX ACL');
  const entries: AclEntry[] = [];
  for (let at = HEADER; at < value.length; at += ENTRY) {
    const tag = value.readUInt16LE(at) as Tag;
    const perm = value.readUInt16LE(at + 2);
    if (!TAG_ORDER.includes(tag) || perm > 7) throw new FsError('EINVAL', 'not a POSIX ACL');
    entries.push({ tag, perm, id: tag === Tag.User || tag === Tag.Group ? value.readUInt32LE(at + 4) : UNDEFINED_ID });
  }
  const count = (t: Tag) => entries.filter((e) => e.tag === t).length;
  const named = count(Tag.User) + count(Tag.Group);
  if (count(Tag.UserObj) !== 1 || count(Tag.GroupObj) !== 1 || count(Tag.Other) !== 1 || count(Tag.Mask) > 1 || (named > 0 && count(Tag.Mask) !== 1)) {
    throw new FsError('EINVAL', 'a POSIX ACL needs one owner, group and other entry, and a mask with named entries');
  }
  return entries;
}

export function serializeAcl(entries: readonly AclEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => TAG_ORDER.indexOf(a.tag) - TAG_ORDER.indexOf(b.tag) || a.id - b.id);
  const out = Buffer.alloc(HEADER + ENTRY * sorted.length);
  out.writeUInt32LE(VERSION, 0);
  sorted.forEach((e, i) => {
    const at = HEADER + ENTRY * i;
    out.writeUInt16LE(e.tag, at);
    out.writeUInt16LE(e.perm, at + 2);
    out.writeUInt32LE(e.tag === Tag.User || e.tag === Tag.Group ? e.id : UNDEFINED_ID, at + 4);
  });
  return out;
}

const entryOf = (entries: readonly AclEntry[], tag: Tag) => entries.find((e) => e.tag === tag);

/** The permission bits an access ACL stands for, and whether the mode says all of it (no ACL need be kept). */
export function modeOfAcl(entries: readonly AclEntry[]): { perms: number; equivalent: boolean } {
  const owner = entryOf(entries, Tag.UserObj)!.perm;
  const group = (entryOf(entries, Tag.Mask) ?? entryOf(entries, Tag.GroupObj)!).perm;
  const other = entryOf(entries, Tag.Other)!.perm;
  return { perms: (owner << 6) | (group << 3) | other, equivalent: entries.length === 3 };
}

/** A chmod of a file with an access ACL: the owner, mask (or group) and other entries take the new bits. */
export function aclWithMode(entries: readonly AclEntry[], mode: number): AclEntry[] {
  const groupTag = entryOf(entries, Tag.Mask) ? Tag.Mask : Tag.GroupObj;
  return entries.map((e) => {
    if (e.tag === Tag.UserObj) return { ...e, perm: (mode >> 6) & 7 };
    if (e.tag === groupTag) return { ...e, perm: (mode >> 3) & 7 };
    if (e.tag === Tag.Other) return { ...e, perm: mode & 7 };
    return e;
  });
}

/**
 * A new entry in a directory with a default ACL: its access ACL is the default one with
 * the requested mode's bits taken away (the umask does not apply), and its mode follows
 * from that. access is null when the mode says all of it.
 */
export function inheritAcl(defaults: readonly AclEntry[], mode: number): { mode: number; access: AclEntry[] | null } {
  const groupTag = entryOf(defaults, Tag.Mask) ? Tag.Mask : Tag.GroupObj;
  const access = defaults.map((e) => {
    if (e.tag === Tag.UserObj) return { ...e, perm: e.perm & ((mode >> 6) & 7) };
    if (e.tag === groupTag) return { ...e, perm: e.perm & ((mode >> 3) & 7) };
    if (e.tag === Tag.Other) return { ...e, perm: e.perm & mode & 7 };
    return e;
  });
  const { perms, equivalent } = modeOfAcl(access);
  return { mode: (mode & ~0o777) | perms, access: equivalent ? null : access };
}
