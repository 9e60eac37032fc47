// The move protocol (DESIGN.md): a file changes tier without any crash point losing it.
//
//   1 journal INTENT (ino, from, to, generation, where the copy will go)
//   2 copy to the target (local: temp file + fsync; object: cells + manifest)
//   3 verify: the copy read back equals what was read from the source (SHA-256 for
//     local copies; cell checksums and the file hash for object copies)
//   4 one transaction: unchanged since 1 and not open for writing?
//        yes → switch the location, journal COMMITTED, old copy onto the garbage list
//        no  → drop the copy, journal ABORTED (the caller may retry later)
//   5 delete the old copy once nothing reads it, journal DONE
// recover(): INTENT without COMMITTED → remove the partial copy; COMMITTED → step 5.
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Catalog, Inode, MoveRecord } from '../catalog/catalog.js';
import { FsError } from '../errors.js';
import type { TierSet } from '../tiers/tier-set.js';
import type { LocalTier } from '../tiers/local/local-tier.js';
import { copyToTemp, fileSource, hashFile, tempPathOf } from '../tiers/local/copy.js';
import type { ByteSource, ObjectLayout } from '../tiers/object/types.js';
import { isReg, type Vfs } from '../vfs/vfs.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('mover');

/** Where a copy of a file is, as journaled (moves.source / moves.target, garbage.location). */
export type CopyLocation =
  | { kind: 'local'; tier: string; volume: string; paths: string[]; temp?: string }
  | { kind: 'object'; tier: string; fileId: string; layout?: ObjectLayout };

export type MoveStep = 'intent' | 'copied' | 'verified' | 'committed';

export interface MoveOptions {
  /** tests: stop at this step until the marker file `<dir>/paused-<step>` is removed */
  pauseAt?: { step: MoveStep; dir: string };
  /** awaited before each piece of data is copied (the mover's bandwidth limit) */
  throttle?: (bytes: number) => Promise<void>;
}

export interface MoveOutcome {
  id: number;
  state: 'done' | 'committed' | 'aborted';
  bytes: number;
  reason?: string;
}

export class MoveProtocol {
  /** bytes copied so far, per move id, for progress reports */
  readonly progress = new Map<number, { bytes: number; total: number }>();

  constructor(
    private readonly catalog: Catalog,
    private readonly tiers: TierSet,
    private readonly vfs: Vfs,
    private readonly opts: MoveOptions = {},
  ) {}

  /** Where the bytes of i are now. */
  private currentLocation(i: Inode): CopyLocation {
    if (!i.tier) throw new FsError('EINVAL', `inode ${i.ino} has no data`);
    if (i.layout) {
      const layout = JSON.parse(i.layout) as ObjectLayout;
      return { kind: 'object', tier: i.tier, fileId: layout.fileId, layout };
    }
    const paths = this.catalog.namesOf(i.ino).map((n) => this.childPath(n.parent, n.name));
    return { kind: 'local', tier: i.tier, volume: i.volume!, paths: paths.length ? paths : [i.dataPath!] };
  }

  private childPath(parent: number, name: string): string {
    const p = this.catalog.pathOf(parent) ?? '';
    return p === '' ? name : `${p}/${name}`;
  }

  private async source(loc: CopyLocation, size: number): Promise<ByteSource & { close(): Promise<void> }> {
    if (loc.kind === 'local') return fileSource(this.tiers.local(loc.tier).pathOf(loc.volume, loc.paths[0]!));
    const store = this.tiers.object(loc.tier);
    const layout = loc.layout!;
    return { size, read: (off, len) => store.read(layout, off, len), close: async () => undefined };
  }

  private async pause(step: MoveStep): Promise<void> {
    const p = this.opts.pauseAt;
    if (!p || p.step !== step) return;
    const marker = join(p.dir, `paused-${step}`);
    writeFileSync(marker, String(process.pid));
    log.warn({ step }, 'test hook: move paused');
    while (existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Move one file to tier `to`. Pins are honoured, except by a copy-up: a write to a
   * file pinned to an object tier must still land on a local one.
   */
  async move(ino: number, to: string, requestedBy: string, opts: { ignorePin?: boolean; unthrottled?: boolean } = {}): Promise<MoveOutcome> {
    const throttle = opts.unthrottled ? undefined : this.opts.throttle;
    const i = this.vfs.inode(ino);
    if (!isReg(i.mode)) throw new FsError('EISDIR', 'only files move between tiers; a directory moves file by file');
    const target = this.tiers.get(to);
    if (i.tier === to) return { id: 0, state: 'done', bytes: 0, reason: `already on ${to}` };
    const pin = this.catalog.effectivePin(ino);
    if (pin && pin.tier !== to && !opts.ignorePin) throw new FsError('EPERM', `pinned to tier ${pin.tier}: unpin it first`);
    if (i.state === 'missing') throw new FsError('EIO', `the bytes of ${i.dataPath} are missing`);

    const from = this.currentLocation(i);
    const path = i.dataPath ?? this.catalog.pathOf(ino) ?? '';
    let dest: CopyLocation;
    if (target.kind === 'local') {
      const usage = this.catalog.usageByTier().get(to)?.bytes ?? 0;
      if (!target.local.hasRoom(usage, i.size)) throw new FsError('ENOSPC', `tier ${to} has no room below its high watermark`);
      const volume = target.local.pickVolume();
      const paths = from.kind === 'local' ? from.paths : this.catalog.namesOf(ino).map((n) => this.childPath(n.parent, n.name));
      for (const p of paths) {
        // Never overwrite what is there: a stray copy is the user's to resolve (tierfs status lists it).
        if (existsSync(target.local.pathOf(volume, p))) {
          throw new FsError('EEXIST', `another file is already at ${p} on tier ${to}; resolve it first`);
        }
      }
      dest = { kind: 'local', tier: to, volume, paths, temp: `move-${ino}-${randomUUID()}` };
    } else {
      dest = { kind: 'object', tier: to, fileId: randomUUID() };
    }

    const id = this.catalog.journalIntent({
      ino,
      path,
      fromTier: i.tier!,
      toTier: to,
      generation: i.generation,
      source: JSON.stringify(from),
      target: JSON.stringify(dest),
      requestedBy,
    });
    await this.pause('intent');
    this.progress.set(id, { bytes: 0, total: i.size });
    const onProgress = (bytes: number) => this.progress.set(id, { bytes, total: i.size });
    try {
      const src = await this.source(from, i.size);
      try {
        if (dest.kind === 'local') {
          const copy = await copyToTemp(dest.volume, dest.temp!, src, { mode: i.mode & 0o7777, onProgress, throttle });
          await this.pause('copied');
          // Verify: the bytes on the target disk, read back, must be the ones read from the source.
          if ((await hashFile(copy.path)) !== copy.sha256) throw new FsError('EIO', 'copy on the target does not match the source');
        } else {
          const store = this.tiers.object(dest.tier);
          const throttled: ByteSource = throttle ? { size: src.size, read: async (o, l) => (await throttle(l), src.read(o, l)) } : src;
          dest.layout = await store.write(throttled, this.manifestInfo(i, path), dest.fileId, onProgress);
          await this.pause('copied');
          // The store read every cell and the manifest back before it returned: the copy is
          // what was read from the source. That the source did not change meanwhile is the
          // commit's check (generation, open writers), so the source is not read twice.
        }
      } finally {
        await src.close();
      }
      await this.pause('verified');
      if (dest.kind === 'local') this.placeLocal(this.tiers.local(dest.tier), dest);
      const committed = this.commit(id, ino, i.generation, dest);
      if (!committed.ok) {
        await this.dropCopy(dest);
        this.catalog.journalState(id, 'aborted', { bytes: i.size, verified: true, error: committed.reason });
        return { id, state: 'aborted', bytes: i.size, reason: committed.reason };
      }
      await this.pause('committed');
      const done = await this.collectGarbage();
      return { id, state: done.has(id) ? 'done' : 'committed', bytes: i.size };
    } catch (err) {
      await this.dropCopy(dest).catch((e) => log.error({ err: e, id }, 'could not remove a failed copy'));
      this.catalog.journalState(id, 'aborted', { error: (err as Error).message });
      throw err;
    } finally {
      this.progress.delete(id);
    }
  }

  private manifestInfo(i: Inode, path: string) {
    return {
      fsid: this.catalog.fsid,
      ino: i.ino,
      generation: i.generation,
      path,
      mode: i.mode,
      uid: i.uid,
      gid: i.gid,
      atimeNs: String(i.atimeNs),
      mtimeNs: String(i.mtimeNs),
      ctimeNs: String(i.ctimeNs),
    };
  }

  /** Put a verified local copy at its names on the target volume (first by rename, the rest as hard links). */
  private placeLocal(tier: LocalTier, dest: Extract<CopyLocation, { kind: 'local' }>): void {
    const [first, ...others] = dest.paths;
    const firstPath = tier.pathOf(dest.volume, first!);
    mkdirSync(dirname(firstPath), { recursive: true });
    // rename() is atomic: the name appears whole or not at all.
    renameSync(tempPathOf(dest.volume, dest.temp!), firstPath);
    for (const p of others) {
      const abs = tier.pathOf(dest.volume, p);
      mkdirSync(dirname(abs), { recursive: true });
      linkSync(firstPath, abs);
    }
  }

  /** Step 4, one transaction: switch only if nothing changed and nobody writes. */
  private commit(id: number, ino: number, generation: number, dest: CopyLocation): { ok: true } | { ok: false; reason: string } {
    return this.catalog.tx(() => {
      const cur = this.catalog.getInode(ino);
      if (!cur || cur.nlink === 0) return { ok: false, reason: 'file was deleted during the move' } as const;
      if (cur.generation !== generation) return { ok: false, reason: 'file changed during the move' } as const;
      if (this.vfs.isOpenForWrite(ino)) return { ok: false, reason: 'file is open for writing' } as const;
      const old = this.currentLocation(cur);
      this.catalog.setLocation(
        ino,
        dest.kind === 'local'
          ? { tier: dest.tier, volume: dest.volume, layout: null }
          : { tier: dest.tier, volume: null, layout: JSON.stringify(dest.layout) },
      );
      this.catalog.journalState(id, 'committed', { bytes: cur.size, verified: true, target: JSON.stringify(dest) });
      this.catalog.addGarbage(ino, old.tier, JSON.stringify({ ...old, moveId: id }));
      return { ok: true } as const;
    });
  }

  /** Remove a copy that never became the file's location. */
  private async dropCopy(loc: CopyLocation): Promise<void> {
    if (loc.kind === 'local') {
      const tier = this.tiers.local(loc.tier);
      if (loc.temp) rmSync(tempPathOf(loc.volume, loc.temp), { force: true });
      for (const p of loc.paths) this.removeLocalName(tier, loc.volume, p);
    } else {
      const store = this.tiers.object(loc.tier);
      if (loc.layout) await store.remove(loc.layout);
      else await store.removePartial(loc.fileId);
    }
  }

  /** Remove one name on a volume unless it is the file's current location there. */
  private removeLocalName(tier: LocalTier, volume: string, path: string): void {
    const owner = this.catalog.byDataPath(path);
    if (owner && owner.tier === tier.name && owner.volume === volume) return;
    rmSync(tier.pathOf(volume, path), { force: true });
  }

  /**
   * Step 5: delete old copies nothing reads any more. Local copies go at once (open
   * descriptors keep their bytes readable); object copies wait for their readers.
   * Returns the ids of the moves this finished.
   */
  async collectGarbage(): Promise<Set<number>> {
    const finished = new Set<number>();
    for (const g of this.catalog.garbage()) {
      const loc = JSON.parse(g.location) as (CopyLocation & { moveId?: number }) | { layout: ObjectLayout; moveId?: undefined };
      try {
        if ('kind' in loc && loc.kind === 'local') {
          if (!this.tiers.has(loc.tier)) continue;
          const tier = this.tiers.local(loc.tier);
          for (const p of loc.paths) this.removeLocalName(tier, loc.volume, p);
        } else {
          const layout = 'kind' in loc ? loc.layout : loc.layout;
          if (!layout || !this.tiers.has(layout.tier)) continue;
          if (this.vfs.isReadingCopy(layout.fileId)) continue;
          await this.tiers.object(layout.tier).remove(layout);
        }
        this.catalog.tx(() => {
          this.catalog.removeGarbage(g.id);
          if (loc.moveId !== undefined) {
            const m = this.catalog.getMove(loc.moveId);
            if (m?.state === 'committed') this.catalog.journalState(loc.moveId, 'done', { bytes: m.bytes, verified: m.verified });
            finished.add(loc.moveId);
          }
        });
      } catch (err) {
        log.warn({ err, garbage: g.id }, 'could not delete an old copy yet; will retry');
      }
    }
    return finished;
  }

  /** At mount, before anything else touches the tiers: undo or finish every interrupted move. */
  async recover(): Promise<{ undone: number; finished: number }> {
    let undone = 0;
    for (const m of this.catalog.unfinishedMoves()) {
      if (m.state !== 'intent') continue;
      const dest = m.target ? (JSON.parse(m.target) as CopyLocation) : undefined;
      if (dest && this.tiers.has(dest.tier)) await this.dropCopy(dest);
      this.catalog.journalState(m.id, 'aborted', { error: 'interrupted (daemon stopped); partial copy removed' });
      undone++;
    }
    const finished = (await this.collectGarbage()).size;
    if (undone || finished) log.info({ undone, finished }, 'recovered interrupted moves');
    return { undone, finished };
  }

  recent(limit?: number): MoveRecord[] {
    return this.catalog.recentMoves(limit);
  }
}
