// Is the catalog consistent with what is on the tiers? Read from outside the daemon: the
// catalog (SQLite, read-only, beside the running daemon), the local volumes and the
// directories of filesystem-backed object stores, each walked in full. Run it when no
// move is in flight and the mover has collected its garbage.
//
// Checked: every file the catalog knows has its bytes where the catalog says and nowhere
// else — on a local volume, one backing inode holding every name of the file (hard links
// stay links), with the file's size and mode; on an object tier, every cell and manifest
// of its current layout. And nothing else is there: no backing file or directory the
// catalog does not name (the next mount would import it as a file the user deleted), no
// leftover temp copy, no object of a copy that is not some file's current layout, no
// move left half done, no garbage left uncollected.
import Database from 'better-sqlite3';
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const ROOT_INO = 1;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export interface AuditedTiers {
  catalog: string;
  locals: { name: string; volumes: string[] }[];
  /** roots of each object tier's fs backends, in the order of the tier's backends list */
  objects: { name: string; roots: string[] }[];
}

interface Row {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  tier: string | null;
  volume: string | null;
  dataPath: string | null;
  layout: string | null;
  state: string;
  target: string | null;
}

interface Layout {
  tier: string;
  fileId: string;
  size: number;
  stripes: { cells: { backend: number; key: string }[] }[];
  manifest: { backend: number; key: string }[];
}

/** What the catalog and the tiers disagree on; empty when they agree. */
export function auditTiers(t: AuditedTiers): string[] {
  const problems: string[] = [];
  const db = new Database(t.catalog, { readonly: true, fileMustExist: true });
  let rows: Row[];
  let dirents: { parent: number; name: string; ino: number }[];
  try {
    db.exec('BEGIN'); // one consistent view
    rows = db
      .prepare('SELECT ino, mode, nlink, size, uid, gid, mtime_ns AS mtimeNs, tier, volume, data_path AS dataPath, layout, state, target FROM inodes')
      .safeIntegers(true)
      .all()
      .map((r) => {
        const row = r as Record<string, unknown>;
        const n = (k: string) => (row[k] === null ? null : Number(row[k]));
        return { ...row, ino: n('ino'), mode: n('mode'), nlink: n('nlink'), size: n('size'), uid: n('uid'), gid: n('gid') } as Row;
      });
    dirents = db.prepare('SELECT parent, name, ino FROM dirents').all() as typeof dirents;
    const open = db.prepare("SELECT id, path, from_tier AS f, to_tier AS t, state FROM moves WHERE state IN ('intent', 'committed')").all();
    for (const m of open) problems.push(`move not finished: ${JSON.stringify(m)}`);
    const garbage = db.prepare('SELECT ino, tier, location FROM garbage').all();
    for (const g of garbage) problems.push(`garbage not collected: ${JSON.stringify(g)}`);
    // A manifest still to be written again: its put (a temporary object at first) may be under way.
    const manifests = db.prepare('SELECT ino FROM manifest_updates').pluck().all();
    for (const ino of manifests) problems.push(`manifest not rewritten yet: inode ${ino}`);
    db.exec('COMMIT');
  } finally {
    db.close();
  }

  // Names, from the root down.
  const byIno = new Map(rows.map((r) => [r.ino, r]));
  const children = new Map<number, { name: string; ino: number }[]>();
  for (const d of dirents) children.set(d.parent, [...(children.get(d.parent) ?? []), d]);
  const namesOf = new Map<number, string[]>();
  const dirs = new Map<string, Row>();
  const walkCatalog = (ino: number, path: string) => {
    for (const c of children.get(ino) ?? []) {
      const p = path ? `${path}/${c.name}` : c.name;
      const r = byIno.get(c.ino);
      if (!r) {
        problems.push(`catalog: ${p} names inode ${c.ino}, which does not exist`);
        continue;
      }
      namesOf.set(c.ino, [...(namesOf.get(c.ino) ?? []), p]);
      if ((r.mode & S_IFMT) === S_IFDIR) {
        dirs.set(p, r);
        walkCatalog(c.ino, p);
      }
    }
  };
  walkCatalog(ROOT_INO, '');

  const localVolumes = new Map(t.locals.map((l) => [l.name, l.volumes]));
  const objectRoots = new Map(t.objects.map((o) => [o.name, o.roots]));
  const claimed = new Set<string>(); // volume + '\0' + path of every backing name the catalog owns
  const liveFileIds = new Map<string, Set<string>>(t.objects.map((o) => [o.name, new Set()]));

  for (const r of rows) {
    if (r.ino === ROOT_INO) continue;
    const names = namesOf.get(r.ino) ?? [];
    if (names.length === 0) {
      problems.push(`catalog: inode ${r.ino} has no name left (nothing holds it open)`);
      continue;
    }
    if ((r.mode & S_IFMT) === S_IFDIR) continue;
    if ((r.mode & S_IFMT) === S_IFLNK) {
      // Symlinks are mirrored on the first local tier's volumes, at every name.
      for (const volume of t.locals[0]?.volumes ?? []) {
        for (const name of names) {
          claimed.add(`${volume}\0${name}`);
          const st = lstatSync(join(volume, name), { throwIfNoEntry: false });
          if (!st?.isSymbolicLink()) problems.push(`missing mirrored symlink: ${name} on ${volume}${st ? ' but a non-symlink' : ''}`);
          else if (readlinkSync(join(volume, name)) !== r.target) problems.push(`mirrored symlink ${name} on ${volume} points to ${readlinkSync(join(volume, name))}, the catalog's to ${r.target}`);
        }
      }
      continue;
    }
    if ((r.mode & S_IFMT) !== S_IFREG) continue;
    const what = `${names.join(' = ')} (ino ${r.ino}, on ${r.tier}${r.volume ? ` ${r.volume}` : ''})`;
    if (names.length !== r.nlink) problems.push(`catalog: ${what} has nlink ${r.nlink} but ${names.length} names`);
    if (r.state !== 'ok') problems.push(`catalog: ${what} is ${r.state}`);
    const volumes = r.tier ? localVolumes.get(r.tier) : undefined;
    if (volumes) {
      if (r.layout) problems.push(`catalog: ${what} is local and has an object layout too`);
      if (!r.volume || !volumes.includes(r.volume)) {
        problems.push(`catalog: ${what}: volume ${r.volume} is not one of tier ${r.tier}'s`);
        continue;
      }
      if (!r.dataPath || !names.includes(r.dataPath)) problems.push(`catalog: ${what}: data path ${r.dataPath} is not one of its names`);
      let first: { ino: bigint; name: string } | undefined;
      for (const name of names) {
        claimed.add(`${r.volume}\0${name}`);
        const st = lstatSync(join(r.volume, name), { throwIfNoEntry: false, bigint: true });
        if (!st || !st.isFile()) {
          problems.push(`missing backing file: ${what}: nothing at ${name} on ${r.volume}${st ? ' but a non-file' : ''}`);
          continue;
        }
        if (first && st.ino !== first.ino) problems.push(`broken hard link: ${what}: ${name} and ${first.name} are different files on the volume`);
        first ??= { ino: st.ino, name };
        if (Number(st.nlink) !== names.length) problems.push(`backing link count: ${what}: ${name} has ${st.nlink} links on the volume, the file ${names.length}`);
        if (Number(st.size) !== r.size) problems.push(`backing size: ${what}: ${name} is ${st.size} bytes on the volume, ${r.size} in the catalog`);
        const mode = Number(st.mode) & 0o7777;
        if (mode !== (r.mode & 0o7777)) problems.push(`backing mode: ${what}: ${name} is ${mode.toString(8)} on the volume, ${(r.mode & 0o7777).toString(8)} in the catalog`);
        if (Number(st.uid) !== r.uid || Number(st.gid) !== r.gid) problems.push(`backing owner: ${what}: ${name} is ${st.uid}:${st.gid} on the volume, ${r.uid}:${r.gid} in the catalog`);
        // The next mount takes a backing file whose mtime differs as changed behind its back
        // (times set through Node's utimes land up to about 1.25 µs off: reconcile.ts allows 2).
        const drift = st.mtimeNs > r.mtimeNs ? st.mtimeNs - r.mtimeNs : r.mtimeNs - st.mtimeNs;
        if (drift >= 2000n) problems.push(`backing mtime: ${what}: ${name} has mtime ${st.mtimeNs} ns on the volume, ${r.mtimeNs} in the catalog`);
      }
      continue;
    }
    const roots = r.tier ? objectRoots.get(r.tier) : undefined;
    if (!roots) {
      problems.push(`catalog: ${what}: no such tier`);
      continue;
    }
    if (r.volume) problems.push(`catalog: ${what} is on an object tier and has a volume`);
    if (!r.layout) {
      problems.push(`catalog: ${what} has no layout`);
      continue;
    }
    const layout = JSON.parse(r.layout) as Layout;
    if (layout.tier !== r.tier) problems.push(`catalog: ${what}: its layout is of tier ${layout.tier}`);
    if (layout.size !== r.size) problems.push(`catalog: ${what}: its layout holds ${layout.size} bytes, the file ${r.size}`);
    liveFileIds.get(r.tier!)!.add(layout.fileId);
    for (const ref of [...layout.stripes.flatMap((s) => s.cells), ...layout.manifest]) {
      if (!existsSync(`${join(roots[ref.backend]!, ref.key)}~`)) problems.push(`missing object: ${what}: ${ref.key} on backend ${ref.backend}`);
    }
  }

  // The volumes: nothing there that the catalog does not name.
  for (const l of t.locals) {
    for (const volume of l.volumes) {
      const walk = (rel: string) => {
        for (const name of readdirSync(join(volume, rel)).sort()) {
          const p = rel ? `${rel}/${name}` : name;
          const st = lstatSync(join(volume, p));
          if (p === '.tierfs-tmp') {
            const left = readdirSync(join(volume, p));
            if (left.length > 0) problems.push(`temp copies left on ${volume}: ${left.join(', ')}`);
          } else if (st.isDirectory()) {
            const d = dirs.get(p);
            if (!d) problems.push(`orphan backing directory: ${p} on ${volume} (not a directory of the mount)`);
            else if ((st.mode & 0o7777) !== (d.mode & 0o7777)) {
              problems.push(`backing mode: directory ${p} is ${(st.mode & 0o7777).toString(8)} on ${volume}, ${(d.mode & 0o7777).toString(8)} in the catalog`);
            }
            walk(p);
          } else if (!claimed.has(`${volume}\0${p}`)) {
            problems.push(`orphan backing ${st.isFile() ? 'file' : 'entry'}: ${p} on ${volume} (tier ${l.name}) is no file's name there`);
          }
        }
      };
      walk('');
    }
  }

  // The object stores: every object belongs to a current layout (keys are <fsid>/<fileId>/...).
  for (const o of t.objects) {
    const live = liveFileIds.get(o.name)!;
    o.roots.forEach((root, backend) => {
      const walk = (rel: string) => {
        let names: string[];
        try {
          names = readdirSync(join(root, rel)).sort();
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // a copy's objects collected meanwhile
          throw err;
        }
        for (const name of names) {
          if (!rel && name === '.tierfs') continue; // the mounts' heartbeats (recovery/mount-heartbeat.ts): no file's data
          const p = rel ? `${rel}/${name}` : name;
          // An object put under way renames its temporary file meanwhile: what went is no finding.
          const st = lstatSync(join(root, p), { throwIfNoEntry: false });
          if (!st) continue;
          if (st.isDirectory()) walk(p);
          else if (!name.endsWith('~')) problems.push(`stray file in the store of tier ${o.name}, backend ${backend}: ${p}`);
          else if (!live.has(p.split('/')[1]!)) problems.push(`orphan object on tier ${o.name}, backend ${backend}: ${p.slice(0, -1)}`);
        }
      };
      walk('');
    });
  }
  return problems;
}
