// At every mount, before serving: bring the catalog and the local tiers into
// agreement. Files already in the tier directories are imported (how users adopt
// tierfs over existing data); a file found on two tiers is reported, never silently
// shadowed; a file whose bytes changed behind the catalog's back (a crash mid-write)
// gets its size and times from the disk; a file whose bytes are gone is marked missing.
// A name (or symlink target) that is not valid UTF-8 is left where it is and
// reported: names are strings here, and decoding would turn `caf\xe8` and
// `caf\xe9` into the same name and merge the two files.
import * as fs from 'node:fs';
import type { Catalog, ReconcileRow } from '../catalog/catalog.js';
import { ROOT_INO } from '../catalog/catalog.js';
import type { LocalTier } from '../tiers/local/local-tier.js';
import { startScan, type PendingScan, type ScannedEntry } from '../tiers/local/scan-dir.js';
import { TEMP_DIR } from '../tiers/local/copy.js';
import { userXattrsOf } from '../tiers/local/xattrs.js';
import { CLASS_XATTR, isDir, isReg, PIN_XATTR, TIER_XATTR } from './vfs.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('reconcile');

export interface ReconcileReport {
  imported: number;
  updated: number;
  duplicates: number;
  missing: number;
  orphansRemoved: number;
  /** entries left on the tiers because their name or symlink target is not valid UTF-8 */
  invalidNames: number;
}

/**
 * Names tierfs itself uses for temporary backing files; never imported. (An exchange that
 * a daemon died in once left a file's bytes under `<name>.tierfs-exchange-…`: imported
 * under that name, where its owner finds them.)
 */
/** The volume's own temp directory, at its root only: a user's `.tierfs-tmp-notes` in a directory is theirs. */
const isOwnTemp = (rel: string, name: string) => rel === '' && name === TEMP_DIR;

/** The kind of conflict an entry with a name that is not valid UTF-8 is reported as. */
const INVALID_NAME = 'name';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The name as a string, or undefined when its bytes are not valid UTF-8. */
function decodeName(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Bytes outside printable ASCII (and the backslash) as \xNN: shows exactly which entry is meant. */
function escapeName(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/**
 * xattrsOfKnown: also take the xattrs of entries the catalog knows from their backing
 * files and directories (a catalog restored from a backup is older than they are). New
 * entries always bring theirs.
 */
export function reconcile(catalog: Catalog, tiers: LocalTier[], opts: { xattrsOfKnown?: boolean } = {}): ReconcileReport {
  return catalog.mapped(() => reconcileAll(catalog, tiers, opts));
}

function reconcileAll(catalog: Catalog, tiers: LocalTier[], opts: { xattrsOfKnown?: boolean }): ReconcileReport {
  const report: ReconcileReport = { imported: 0, updated: 0, duplicates: 0, missing: 0, orphansRemoved: 0, invalidNames: 0 };
  // Found again below if still there; gone if renamed or removed since the last mount.
  for (const c of catalog.conflicts()) if (c.kind === INVALID_NAME) catalog.clearConflict(c.path, c.kind);

  // Unlinked while open, and the daemon died before the last close: what that close would
  // have done (a cold file's objects to the garbage list, or they would be stored for ever).
  for (const ino of catalog.orphans()) {
    catalog.dropInode(ino);
    report.orphansRemoved++;
  }

  // Files the walk found at the very path where the catalog keeps their bytes: no second
  // look below (and none at all when every file was found so).
  const found = new InoSet();
  const elsewhere = new Map<number, Copy>();
  for (const tier of tiers) {
    for (const volume of tier.volumes) {
      // (device, inode) of backing files seen on this volume: hard links become one inode.
      const links = new Map<bigint, number>();
      const w: Walk = { links, found, elsewhere, newLinks: [], report, xattrsOfKnown: opts.xattrsOfKnown === true, firstTier: tiers[0]!.name };
      catalog.tx(() => {
        walk(catalog, tier, volume, '', ROOT_INO, w, beginScan(tier, volume, ''));
        for (const l of w.newLinks) importFile(catalog, tier, volume, w, l.parentIno, l.name, l.path, l.st);
      });
    }
  }

  if (found.size < catalog.filesWithDataCount()) {
    catalog.tx(() => checkNotFound(catalog, tiers, found, elsewhere, report));
  }
  if (report.imported || report.duplicates || report.missing || report.updated || report.invalidNames) {
    log.info(report, 'reconciled catalog with tiers');
  }
  return report;
}

/**
 * Inode numbers as bits: the catalog hands them out from 1 upwards, so they are dense. A
 * Set of a million numbers was 7% of a 1M-file mount (growing it rehashes); numbers past
 * a bitmap of 32 MiB go to one.
 */
class InoSet {
  private static readonly BITMAP_INOS = 2 ** 28;
  private bits = new Uint32Array(1024);
  private readonly far = new Set<number>();
  size = 0;

  add(ino: number): void {
    if (ino >= InoSet.BITMAP_INOS) {
      if (!this.far.has(ino)) this.size++;
      this.far.add(ino);
      return;
    }
    const word = ino >>> 5;
    if (word >= this.bits.length) {
      const grown = new Uint32Array(Math.max(word + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const bit = 1 << (ino & 31);
    if ((this.bits[word]! & bit) === 0) {
      this.bits[word]! |= bit;
      this.size++;
    }
  }

  has(ino: number): boolean {
    if (ino >= InoSet.BITMAP_INOS) return this.far.has(ino);
    const word = ino >>> 5;
    return word < this.bits.length && (this.bits[word]! & (1 << (ino & 31))) !== 0;
  }
}

/** A copy of a known file met at its path on another tier or volume than the catalog's. */
interface Copy {
  tier: string;
  volume: string;
  size: number;
  mtimeNs: bigint;
}

/**
 * The files the walk did not find where the catalog keeps their bytes: there after all,
 * at the same path on another tier or volume with the same size and mtime (the catalog
 * is older than a move between local tiers: restored from a backup), or missing.
 */
function checkNotFound(catalog: Catalog, tiers: LocalTier[], found: InoSet, elsewhere: Map<number, Copy>, report: ReconcileReport): void {
  for (const f of catalog.filesWithData()) {
    if (found.has(f.ino)) continue;
    const tier = tiers.find((t) => t.name === f.tier);
    if (!tier || !f.volume || f.dataPath === null) continue;
    const exists = fs.existsSync(tier.pathOf(f.volume, f.dataPath));
    // Taken only with the size and mtime the catalog has (a move keeps both, to the µs):
    // another file that happens to sit at that path is a duplicate, never the file.
    const other = exists ? undefined : elsewhere.get(f.ino);
    const known = other && catalog.getInode(f.ino)!;
    const moved = other && known && other.size === known.size && other.mtimeNs / 1000n === known.mtimeNs / 1000n ? other : undefined;
    if (moved) {
      catalog.setLocation(f.ino, { tier: moved.tier, volume: moved.volume, layout: null });
      catalog.clearConflict(f.dataPath, 'duplicate');
      if (f.state === 'missing') unmissing(catalog, f.ino, f.dataPath);
      log.warn({ path: f.dataPath, from: `${f.tier} (${f.volume})`, to: `${moved.tier} (${moved.volume})` }, 'a file the catalog placed elsewhere was found on another tier: the catalog now says so');
      report.updated++;
      continue;
    }
    if (!exists && f.state !== 'missing') {
      catalog.setState(f.ino, 'missing');
      catalog.reportConflict(f.dataPath, 'missing', `bytes not found on tier ${f.tier} (${f.volume})`);
      report.missing++;
    } else if (exists && f.state === 'missing') {
      unmissing(catalog, f.ino, f.dataPath);
    }
  }
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A file marked missing whose bytes are back where the catalog keeps them. */
function unmissing(catalog: Catalog, ino: number, dataPath: string): void {
  catalog.setState(ino, 'ok');
  catalog.clearConflict(dataPath, 'missing');
}

/** A regular file the catalog does not know: a new name of a file met already (by device and inode), or a new file. */
function importFile(catalog: Catalog, tier: LocalTier, volume: string, w: Walk, parentIno: number, name: string, path: string, st: ScannedEntry): void {
  const linked = st.nlink > 1 ? w.links.get(st.ino) : undefined;
  if (linked !== undefined) {
    const i = catalog.getInode(linked)!;
    catalog.addName(parentIno, name, linked);
    catalog.setNlink(linked, i.nlink + 1, i.ctimeNs);
  } else {
    const ino = catalog.createInode({ ...attrsOf(st), nlink: 1, tier: tier.name, volume, dataPath: path, target: null }, parentIno, name);
    catalog.setBlocks(ino, st.blocks);
    w.links.set(st.ino, ino);
    w.found.add(ino);
    importXattrs(catalog, ino, tier, volume, path, 'file');
  }
  w.report.imported++;
}

function attrsOf(st: ScannedEntry) {
  return { mode: st.mode, uid: st.uid, gid: st.gid, rdev: 0, size: st.size, atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

interface Walk {
  links: Map<bigint, number>;
  found: InoSet;
  /** known files met on another tier or volume than the catalog's, by inode: the first copy met */
  elsewhere: Map<number, Copy>;
  /** new names of files with several names, imported after the volume's walk (importFile) */
  newLinks: { parentIno: number; name: string; path: string; st: ScannedEntry }[];
  report: ReconcileReport;
  xattrsOfKnown: boolean;
  firstTier: string;
}

/**
 * One backing directory and everything below it, each directory listed and lstat-ed by a
 * native thread (scan-dir.ts), the next ones while this one is compared with the catalog:
 * a stat per file tells a crash mid-write by its size and time. Times are compared as
 * doubles of milliseconds; nanoseconds are read only where they are stored (new entries,
 * changed files). `scan`: this directory's, begun by the caller (beginScan).
 */
function walk(catalog: Catalog, tier: LocalTier, volume: string, rel: string, parentIno: number, w: Walk, scan: PendingScan): void {
  const { links, found, report, xattrsOfKnown, firstTier } = w;
  let scanned: ScannedEntry[];
  try {
    scanned = scan.finish();
  } catch (err) {
    log.warn({ err, path: rel === '' ? volume : tier.pathOf(volume, rel) }, 'cannot read backing directory');
    return;
  }
  const known = new Map(catalog.reconcileListing(parentIno).map((e) => [e.name, e]));
  const subdirs: { path: string; ino: number }[] = [];
  const visit = (name: string, st: ScannedEntry, existing: ReconcileRow | undefined): void => {
    const path = rel === '' ? name : `${rel}/${name}`;
    const type = st.mode & fs.constants.S_IFMT;
    if (type === fs.constants.S_IFDIR) {
      let dirIno = existing?.ino;
      if (existing && !isDir(existing.mode)) {
        conflict(catalog, path, 'type', `a directory on tier ${tier.name} (${volume}) where the catalog has a file`, report);
        return;
      }
      if (!existing) {
        dirIno = catalog.createInode({ ...attrsOf(st), size: 0, nlink: 2, tier: null, volume: null, dataPath: null, target: null }, parentIno, name);
        const parent = catalog.getInode(parentIno)!;
        catalog.setNlink(parentIno, parent.nlink + 1, parent.ctimeNs);
        report.imported++;
      }
      // Directories are on every volume; their xattrs are kept on the first tier's.
      if ((!existing || xattrsOfKnown) && tier.name === firstTier) {
        if (existing) takeOwnerAndMode(catalog, existing.ino, st);
        importXattrs(catalog, dirIno!, tier, volume, path, 'dir', existing !== undefined);
      }
      subdirs.push({ path, ino: dirIno! });
    } else if (type === fs.constants.S_IFREG) {
      if (existing) {
        if (checkKnownFile(catalog, existing, tier, volume, path, st, w, report) && existing.dataPath === path) {
          found.add(existing.ino);
          if (existing.state === 'missing') unmissing(catalog, existing.ino, path);
        }
        if (xattrsOfKnown && existing.tier === tier.name && existing.volume === volume && existing.dataPath === path) {
          takeOwnerAndMode(catalog, existing.ino, st);
          importXattrs(catalog, existing.ino, tier, volume, path, 'file', true);
        }
        return;
      }
      // A new name of a file with other names: imported once the whole volume is walked,
      // when every name the catalog knows of it has been met (a link made just before a
      // crash, in a directory walked before the file's known name, must join that file,
      // not become a second one over the same bytes).
      if (st.nlink > 1 && !links.has(st.ino)) return void w.newLinks.push({ parentIno, name, path, st });
      importFile(catalog, tier, volume, w, parentIno, name, path, st);
    } else if (type === fs.constants.S_IFLNK && !existing) {
      const target = decodeName(fs.readlinkSync(tier.pathOf(volume, path), { encoding: 'buffer' }));
      if (target === undefined) {
        invalidName(catalog, tier, volume, rel, Buffer.from(name), 'the target of this symlink', report);
        return;
      }
      catalog.createInode({ ...attrsOf(st), nlink: 1, tier: null, volume: null, dataPath: null, target }, parentIno, name);
      report.imported++;
    }
  };
  // What the catalog knows is checked in the directory's order, unsorted; what it does not
  // is imported after, in name order (inode numbers follow it; a new name of a known file
  // is linked to it wherever it sorts).
  const fresh: { name: string; st: ScannedEntry }[] = [];
  for (const st of scanned) {
    if (st.mode === 0) continue; // gone since it was listed
    const name = st.name;
    if (name === undefined) invalidName(catalog, tier, volume, rel, st.bytes, 'its name', report);
    else if (isOwnTemp(rel, name)) continue;
    else {
      const existing = known.get(name);
      if (existing) visit(name, st, existing);
      else fresh.push({ name, st });
    }
  }
  for (const { name, st } of fresh.sort((a, b) => byName(a.name, b.name))) visit(name, st, undefined);
  subdirs.sort((a, b) => byName(a.path, b.path));
  // Subdirectories are scanned on threads, up to SCANS_AHEAD of them while the one before
  // is compared with the catalog: the disk's stats and the catalog's work overlap, and a
  // cold disk serves several directories at once (one ahead left a 1M-file mount waiting
  // on the disk). At most SCANS_AHEAD per level of the walk are open at a time.
  const scans: PendingScan[] = [];
  for (let k = 0; k < subdirs.length; k++) {
    for (let a = k + scans.length; a < subdirs.length && scans.length < SCANS_AHEAD; a++) scans.push(beginScan(tier, volume, subdirs[a]!.path));
    walk(catalog, tier, volume, subdirs[k]!.path, subdirs[k]!.ino, w, scans.shift()!);
  }
}

const SCANS_AHEAD = 8;

/** The scan of a backing directory, begun; a failure to open it is thrown by finish(). */
function beginScan(tier: LocalTier, volume: string, rel: string): PendingScan {
  let fd: number;
  try {
    fd = tier.openDir(volume, rel);
  } catch (err) {
    return {
      finish: () => {
        throw err;
      },
    };
  }
  return startScan(fd);
}

/**
 * The user.* xattrs of a backing file or directory into the catalog: the pin as the
 * entry's pin, a class as its class too; the tier xattr is virtual and never stored. A
 * volume without xattr support has none to give: nothing is lost that was there.
 */
function importXattrs(catalog: Catalog, ino: number, tier: LocalTier, volume: string, path: string, kind: 'file' | 'dir', exact = false): void {
  let fd: number;
  try {
    fd = kind === 'dir' ? tier.openDir(volume, path) : tier.openFile(volume, path, fs.constants.O_RDONLY);
  } catch (err) {
    log.warn({ err, path, volume }, 'cannot open a backing entry to read its xattrs');
    return;
  }
  try {
    const onDisk = userXattrsOf(fd);
    for (const { name, value } of onDisk) {
      if (name === TIER_XATTR) continue;
      if (name === PIN_XATTR) {
        catalog.setPin(ino, value.toString('utf8'));
        continue;
      }
      if (!catalog.getXattr(ino, name)?.equals(value)) catalog.setXattr(ino, name, value);
      if (name === CLASS_XATTR) catalog.setClass(ino, value.toString('utf8'));
    }
    // exact (a catalog older than the tiers: restored from a backup): what the backing
    // entry no longer has was removed since, an ACL, a pin or a class among them.
    if (exact) {
      const kept = new Set(onDisk.map((x) => x.name));
      for (const name of catalog.listXattrs(ino)) if (!kept.has(name)) catalog.removeXattr(ino, name);
      if (!kept.has(PIN_XATTR)) catalog.setPin(ino, null);
      if (!kept.has(CLASS_XATTR)) catalog.setClass(ino, null);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTSUP') log.warn({ err, path, volume }, 'cannot read the xattrs of a backing entry');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Owner, group and mode of a known entry from its backing one, which the mount keeps the
 * same as the catalog's (mirrorAttrs): where they differ, the catalog is the older (a
 * backup's), and a chown or chmod made since must not be undone.
 */
function takeOwnerAndMode(catalog: Catalog, ino: number, st: ScannedEntry): void {
  const i = catalog.getInode(ino);
  if (!i) return;
  const mode = (i.mode & ~0o7777) | (st.mode & 0o7777);
  if (i.uid === st.uid && i.gid === st.gid && i.mode === mode) return;
  catalog.updateAttrs({ ...i, uid: st.uid, gid: st.gid, mode });
}

/** A backing file of a name the catalog knows; true when it is where the catalog keeps that file's bytes. */
function checkKnownFile(
  catalog: Catalog,
  existing: ReconcileRow,
  tier: LocalTier,
  volume: string,
  path: string,
  st: ScannedEntry,
  w: Pick<Walk, 'links' | 'elsewhere'>,
  report: ReconcileReport,
): boolean {
  if (!isReg(existing.mode)) {
    conflict(catalog, path, 'type', `a file on tier ${tier.name} (${volume}) where the catalog has another kind of entry`, report);
    return false;
  }
  if (existing.tier !== tier.name || existing.volume !== volume) {
    if (existing.dataPath === path && !w.elsewhere.has(existing.ino)) {
      w.elsewhere.set(existing.ino, { tier: tier.name, volume, size: st.size, mtimeNs: st.mtimeNs });
    }
    conflict(
      catalog,
      path,
      'duplicate',
      `also on tier ${tier.name} (${volume}); tierfs serves the copy on tier ${existing.tier} (${existing.volume})`,
      report,
    );
    return false;
  }
  const changed = st.size !== existing.size || !sameTime(st.mtimeMs, existing.mtimeMs);
  // A file with other names can be met again under one the catalog does not know.
  if (st.nlink > 1) w.links.set(st.ino, existing.ino);
  if (existing.blocks !== st.blocks) catalog.setBlocks(existing.ino, st.blocks);
  if (changed) {
    // The bytes changed after the catalog last heard of them: a crash during writes.
    catalog.updateData(existing.ino, st.size, st.mtimeNs, st.ctimeNs, true);
    report.updated++;
  }
  return true;
}

/**
 * Times set through utimes (a moved copy, touch -d) pass through a double of seconds,
 * which libuv then truncates to whole microseconds: they come back up to about 1.25 µs
 * off (1580608922.002 s lands at …001999000 ns). That is not a change of the data. Both
 * times are doubles of milliseconds here (a quarter of a microsecond of precision today):
 * compared within 2 µs.
 */
function sameTime(diskMs: number, catalogMs: number): boolean {
  return Math.abs(diskMs - catalogMs) < 0.002;
}

function invalidName(
  catalog: Catalog,
  tier: LocalTier,
  volume: string,
  rel: string,
  name: Buffer,
  what: string,
  report: ReconcileReport,
): void {
  const path = rel === '' ? escapeName(name) : `${rel}/${escapeName(name)}`;
  const detail = `${what} is not valid UTF-8: left on tier ${tier.name} (${volume}) and not imported; rename it there to use it through the mount`;
  catalog.reportConflict(path, INVALID_NAME, detail);
  log.warn({ path, tier: tier.name, volume }, detail);
  report.invalidNames++;
}

function conflict(catalog: Catalog, path: string, kind: string, detail: string, report: ReconcileReport): void {
  catalog.reportConflict(path, kind, detail);
  log.warn({ path, kind }, detail);
  report.duplicates++;
}
