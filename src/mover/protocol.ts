// The move protocol (docs/ARCHITECTURE.md): a file changes tier without any crash point, power
// cut or concurrent change losing it.
//
//   1 open the source (synchronously with the look at the file's names: one renamed over
//     later must not make the move copy another file); journal INTENT (ino, from, to,
//     generation, where the copy will go) — durable
//   2 copy to the target (local: private temp file, owner and mode, fsync; object:
//     cells + manifest, each put with a checksum its store checks, then found at its
//     size or read back whole: the tier's verifyWrites)
//   3 verify: local, the copy read back equals what was read from the source (SHA-256);
//     object, the SHA-256 of what was read from the source and coded
//   4 one synchronous critical section (no other request of the mount runs inside it):
//      unchanged since 1, not open for writing, and the copy's hash equals the file's
//      recorded SHA-256 (when one is known)?
//        yes → local target: give the copy the owner, mode and times the file has
//              *now* (a chmod during the copy changes no data), link it under the
//              names the file has now (link never replaces: a name already there
//              aborts the move), fsync those directories up to the volume; then
//              switch the location, record the hash, journal COMMITTED, old copy
//              onto the garbage list — in a durable transaction
//        no  → drop the copy, journal ABORTED (the caller may retry later)
//   5 delete the old copy once nothing reads it, journal DONE. Never before the commit
//     is on disk: the source is the only copy a rolled-back catalog knows. A local old
//     copy goes at once, still inside 4: a later directory rename would carry it away
//     from the names recorded.
// One move per file at a time, whoever asks (mover, copy-up, CLI): a second request
// waits for the first and then looks at the file again.
// recover(): INTENT without COMMITTED → remove the partial copy; COMMITTED → step 5.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { type BigIntStats, constants, existsSync, linkSync, lstatSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog, Inode, MoveRecord } from '../catalog/catalog.js';
import { FsError } from '../errors.js';
import type { TierSet } from '../tiers/tier-set.js';
import { backingIdentity, type LocalTier } from '../tiers/local/local-tier.js';
import { fdSource, matchAttrsSync, prepareTemp, syncDirsUp, TEMP_DIR, tempPathOf } from '../tiers/local/copy.js';
import type { ByteSource, ObjectLayout } from '../tiers/object/types.js';
import { isReg, nowNs, type Vfs } from '../vfs/vfs.js';
import { manifestInfoOf } from '../recovery/manifest-sync.js';
import { moduleLogger } from '../log.js';
import { CopyThread } from '../tiers/local/copy-thread.js';

const log = moduleLogger('mover');

/** Where a copy of a file is, as journaled (moves.source / moves.target, garbage.location). */
export type CopyLocation =
  | {
      kind: 'local';
      tier: string;
      volume: string;
      paths: string[];
      temp?: string;
      /** an old copy's backingIdentity and oldCopyStamp as the move committed (not in rows written before) */
      identity?: string;
      stamp?: string;
    }
  | { kind: 'object'; tier: string; fileId: string; layout?: ObjectLayout };

export type MoveStep = 'intent' | 'copied' | 'verified' | 'committed';
export type CrashPoint = 'copying' | 'placed';

export interface MoveOptions {
  /** tests: stop at this step until the marker file `<dir>/paused-<step>` is removed */
  pauseAt?: { step: MoveStep; dir: string };
  /** tests: awaited at every step, before pauseAt (random short pauses: see testRandomPauses in daemon.ts) */
  atStep?: (step: MoveStep) => Promise<void>;
  /**
   * tests: the daemon kills itself (SIGKILL) at this point of a move, where no pause
   * can stop it: 'copying' once part of the data is copied, 'placed' once a local
   * copy's names are in place and the commit has not been written.
   */
  crashAt?: CrashPoint;
  /** tests: damage one byte of what the source returned, as failing memory or a buggy reader would */
  corruptSourceRead?: boolean;
  /** awaited before each piece of data is copied (the mover's bandwidth limit) */
  throttle?: (bytes: number) => Promise<void>;
}

export interface MoveRequest {
  /** a copy-up must bring a file pinned to an object tier back all the same */
  ignorePin?: boolean;
  /**
   * The caller admitted the file to this tier as a new file is admitted (vfs.place): it
   * may take the tier past its high watermark, while there is space (a copy-up, which an
   * application waits for in open()).
   */
  admitted?: boolean;
  unthrottled?: boolean;
  /** a copy-up: nothing to do if the file is no longer on an object tier (a move that ran first brought it back) */
  onlyIfCold?: boolean;
  /**
   * A copy-up for a truncate (to this size) or an open with O_TRUNC (0): only the bytes
   * the file keeps are fetched, and the commit records the truncation with the new copy
   * (a change of the data: new generation, mtime and ctime). Overwriting a 50 GiB cold
   * file must not download it first, nor need 50 GiB free on a local tier.
   */
  keepBytes?: number;
}

export interface MoveOutcome {
  id: number;
  state: 'done' | 'committed' | 'aborted';
  bytes: number;
  reason?: string;
}

/** wait(), or a rejection as soon as `stopped` is aborted (then wait is not called at all). */
function untilStopped<T>(wait: () => Promise<T>, stopped: AbortSignal): Promise<T> {
  if (stopped.aborted) return Promise.reject(stopped.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(stopped.reason as Error);
    stopped.addEventListener('abort', stop, { once: true });
    wait()
      .then(resolve, reject)
      .finally(() => stopped.removeEventListener('abort', stop));
  });
}

type Verdict = { ok: true } | { ok: false; reason: string };
const refuse = (reason: string): Verdict => ({ ok: false, reason });

export class MoveProtocol {
  /** bytes copied so far, per move id, for progress reports */
  readonly progress = new Map<number, { bytes: number; total: number }>();
  /** the move running for each file (at most one per file), what stops its copy early, and when it has let go of its source */
  private readonly running = new Map<number, { move: Promise<MoveOutcome>; stop: AbortController; released: Promise<void> }>();
  /** where the bytes of moves between local volumes are copied and read back */
  private readonly copyThread = new CopyThread();

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
    const paths = this.namesNow(i.ino);
    return { kind: 'local', tier: i.tier, volume: i.volume!, paths: paths.length ? paths : [i.dataPath!] };
  }

  /** Every name of a file as a path from the mount root, as the catalog has them now. */
  private namesNow(ino: number): string[] {
    return this.catalog.namesOf(ino).map(({ parent, name }) => {
      const p = this.catalog.pathOf(parent) ?? '';
      return p === '' ? name : `${p}/${name}`;
    });
  }

  private source(loc: CopyLocation, size: number): ByteSource & { fd?: number; close(): Promise<void> } {
    const src: ByteSource & { fd?: number; close(): Promise<void> } =
      loc.kind === 'local'
        ? fdSource(this.tiers.local(loc.tier).openFile(loc.volume, loc.paths[0]!, constants.O_RDONLY))
        : // (size: all of the copy, or what a truncate keeps of it: keepBytes)
          { ...this.tiers.object(loc.tier).copySource(loc.layout!, size), close: async () => undefined };
    if (!this.opts.corruptSourceRead) return src;
    // No descriptor: the damaged reads go through this wrapper, not the copy thread.
    return {
      size: src.size,
      close: src.close,
      read: async (off, len) => {
        const buf = Buffer.from(await src.read(off, len));
        if (off === 0 && buf.length > 0) buf[0]! ^= 0xff;
        return buf;
      },
    };
  }

  /** The crashAt hook: dies at once, as a power cut would, saying where on stderr first. */
  private crashHere(point: CrashPoint): void {
    if (this.opts.crashAt !== point) return;
    writeSync(2, `test hook: crashing at ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  }

  private async pause(step: MoveStep): Promise<void> {
    await this.opts.atStep?.(step);
    const p = this.opts.pauseAt;
    if (!p || p.step !== step) return;
    const marker = join(p.dir, `paused-${step}`);
    writeFileSync(marker, String(process.pid));
    log.warn({ step }, 'test hook: move paused');
    while (existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Move one file to tier `to`. Pins are honoured, except by a copy-up: a write to a
   * file pinned to an object tier must still land on a local one. A request for a file
   * that is already moving waits for that move, then decides again on what it left.
   */
  async move(ino: number, to: string, requestedBy: string, req: MoveRequest = {}): Promise<MoveOutcome> {
    for (let busy = this.running.get(ino); busy; busy = this.running.get(ino)) await busy.move.catch(() => undefined);
    const stop = new AbortController();
    // Each piece waiting for bandwidth listens to it: a stripe of k cells, k at once.
    setMaxListeners(0, stop.signal);
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    const move = this.moveAlone(ino, to, requestedBy, req, { stopped: stop.signal, letGo });
    // (A move that ends before it opens a source has let go of nothing.)
    void move.then(letGo, letGo);
    const running = { move, stop, released };
    this.running.set(ino, running);
    try {
      return await running.move;
    } finally {
      if (this.running.get(ino) === running) this.running.delete(ino);
    }
  }

  /**
   * The file ino has lost its last name: a move of it stops copying at its next piece
   * rather than at its end (its commit would refuse it anyway), drops what it copied and
   * closes its source. On a full volume the blocks that source holds open are the room
   * the unlink's caller wants back. Resolves once that move has closed its source (before
   * it removes what it copied: on an object tier, deletes that may be slow), if one runs.
   */
  stopMoveOf(ino: number): Promise<void> | undefined {
    const running = this.running.get(ino);
    if (!running) return undefined;
    running.stop.abort(new FsError('ECANCELED', 'file was deleted during the move'));
    return running.released;
  }

  private async moveAlone(
    ino: number,
    to: string,
    requestedBy: string,
    req: MoveRequest,
    { stopped, letGo }: { stopped: AbortSignal; letGo: () => void },
  ): Promise<MoveOutcome> {
    const throttle = req.unthrottled ? undefined : this.opts.throttle;
    const i = this.vfs.inode(ino);
    // Open still, without a name: its copy would only be refused at the commit.
    if (i.nlink === 0) return { id: 0, state: 'aborted', bytes: 0, reason: 'file was deleted' };
    if (!isReg(i.mode)) throw new FsError('EISDIR', 'only files move between tiers; a directory moves file by file');
    if (req.onlyIfCold && !this.vfs.isColdFile(i)) return { id: 0, state: 'done', bytes: 0, reason: 'already on a local tier' };
    const target = this.tiers.get(to);
    if (i.tier === to) return { id: 0, state: 'done', bytes: 0, reason: `already on ${to}` };
    const pin = this.catalog.effectivePin(ino);
    if (pin && pin.tier !== to && !req.ignorePin) throw new FsError('EPERM', `pinned to tier ${pin.tier}: unpin it first`);
    if (i.state === 'missing') throw new FsError('EIO', `the bytes of ${i.dataPath} are missing`);

    const from = this.currentLocation(i);
    const path = i.dataPath ?? this.catalog.pathOf(ino) ?? '';
    // What is copied: the whole file, or what a truncate keeps of it (a local target only).
    const size = req.keepBytes !== undefined && target.kind === 'local' ? Math.min(req.keepBytes, i.size) : i.size;
    let dest: CopyLocation;
    if (target.kind === 'local') {
      const usage = this.catalog.usageByTier().get(to)?.bytes ?? 0;
      if (req.admitted ? !target.local.hasSpace(usage, size) : !target.local.hasRoom(usage, size)) {
        throw new FsError('ENOSPC', req.admitted ? `tier ${to} has no space left` : `tier ${to} has no room below its high watermark`);
      }
      // The names are taken again at the commit (a rename may come meanwhile); these are
      // journaled so that `tierfs moves` can say what is moving.
      dest = { kind: 'local', tier: to, volume: target.local.pickVolume(), paths: this.namesNow(ino), temp: `move-${ino}-${randomUUID()}` };
    } else {
      // A capped object tier (capacity: in its config) takes no move past its high
      // watermark; the classifier plans within it, a manual move is told here.
      const cap = target.capacity;
      const held = this.catalog.usageByTier().get(to)?.bytes ?? 0;
      if (cap && held + i.size > cap.bytes * cap.high) throw new FsError('ENOSPC', `tier ${to} has no room below its high watermark`);
      dest = { kind: 'object', tier: to, fileId: randomUUID() };
    }

    // Opened now, in the same synchronous stretch as the catalog's look at the file's
    // names: from the next await on, a name may be renamed over by another file (an
    // editor's save with a backup: x → x~, new → x), and the copy must read this file's
    // bytes whatever its names have become. (The commit checks the file, not its names.)
    const src = this.source(from, size);
    // A file deleted during the move puts its object copy on the garbage list: the copy
    // must stay until this move has read it (the commit then sees the deletion).
    const unhold = from.kind === 'object' ? this.vfs.holdCopy(from.fileId) : () => undefined;
    // The reads of the source under way (a stripe's cells are read at once): it is closed
    // only once they are over.
    const reads = new Set<Promise<void>>();
    const tracked: typeof src = {
      ...src,
      read: (offset, length, into) => {
        const read = src.read(offset, length, into);
        const over = read.then(
          () => undefined,
          () => undefined,
        );
        reads.add(over);
        void over.then(() => reads.delete(over));
        return read;
      },
    };
    // Once: the object copy may go, and the source's descriptor is closed (what an unlink
    // of the file on a full volume waits for: letGo).
    let closed: Promise<void> | undefined;
    const release = () =>
      (closed ??= Promise.all(reads)
        .then(() => (unhold(), src.close()))
        .catch((err) => log.warn({ err, ino }, 'could not close the source of a move'))
        .then(letGo));
    let id: number;
    try {
      id = this.catalog.durableTx(() =>
        this.catalog.journalIntent({
          ino,
          path,
          fromTier: i.tier!,
          toTier: to,
          generation: i.generation,
          source: JSON.stringify(from),
          target: JSON.stringify(dest),
          requestedBy,
        }),
      );
    } catch (err) {
      await release();
      throw err;
    }
    await this.pause('intent');
    this.progress.set(id, { bytes: 0, total: size });
    const onProgress = (bytes: number) => {
      this.progress.set(id, { bytes, total: size });
      if (bytes < size) this.crashHere('copying');
    };
    try {
      const sha256 = await this.copy(i, path, tracked, dest, { onProgress, throttle, stopped, release });
      await this.pause('verified');
      const verdict = this.commit(id, ino, i.generation, dest, sha256, size < i.size ? size : undefined);
      if (!verdict.ok) {
        await release();
        await this.dropCopy(dest);
        this.catalog.journalState(id, 'aborted', { bytes: size, verified: true, error: verdict.reason });
        return { id, state: 'aborted', bytes: size, reason: verdict.reason };
      }
    } catch (err) {
      await release();
      await this.dropCopy(dest).catch((e) => log.error({ err: e, id }, 'could not remove a failed copy'));
      // A copy that failed because the file went or changed meanwhile (its name now
      // another file's or a symlink, its bytes gone) lost that race, and says so.
      const race = this.lostRace(ino, i.generation);
      this.catalog.journalState(id, 'aborted', { error: race ?? (err as Error).message });
      if (race) return { id, state: 'aborted', bytes: 0, reason: race };
      throw err;
    } finally {
      this.progress.delete(id);
      await release();
    }
    // Committed: the new copy is the file now, and nothing below may touch it.
    await this.pause('committed');
    let done = new Set<number>();
    try {
      done = await this.collectGarbage();
    } catch (err) {
      log.warn({ err, id }, 'old copy not deleted yet; garbage collection will retry');
    }
    return { id, state: done.has(id) ? 'done' : 'committed', bytes: size };
  }

  /** Steps 2 and 3: copy the file to dest and check it; returns the SHA-256 of what was read from the source. */
  private async copy(
    i: Inode,
    path: string,
    src: ByteSource & { fd?: number },
    dest: CopyLocation,
    how: { onProgress: (bytes: number) => void; throttle?: (bytes: number) => Promise<void>; stopped: AbortSignal; release: () => Promise<void> },
  ): Promise<string> {
    const { onProgress, stopped } = how;
    // A copy told to stop does not wait out its bandwidth first.
    const throttle = how.throttle && ((bytes: number) => untilStopped(() => how.throttle!(bytes), stopped));
    if (dest.kind === 'local') {
      const attrs = { uid: i.uid, gid: i.gid, mode: i.mode, atimeNs: i.atimeNs, mtimeNs: i.mtimeNs };
      const temp = await prepareTemp(dest.volume, dest.temp!);
      // From another local volume the copy thread does it all, at the lowest CPU priority;
      // from an object tier this thread fetches and checks the cells (copySource) and the
      // copy thread writes them.
      const local = src.fd !== undefined;
      const opts = { attrs, onProgress, throttle, stopped };
      const sha256 = local ? await this.copyThread.copy(src.fd!, src.size, temp, opts) : await this.copyThread.copyFrom(src, temp, opts);
      await this.pause('copied');
      // The bytes on the target disk, read back, must be the ones read from the source
      // (copyFrom compared each piece as it wrote it).
      if (local && (await this.copyThread.hash(temp, stopped)) !== sha256) throw new FsError('EIO', 'copy on the target does not match the source');
      return sha256;
    }
    // Stopped, the source is let go at once (once the reads under way are over): the writer
    // lets the upload in flight end before it fails (its puts must not land after the copy
    // is removed), which needs nothing more of the source, and may take long on a slow store.
    const letGo = () => void how.release();
    stopped.addEventListener('abort', letGo, { once: true });
    const paced: ByteSource = {
      size: src.size,
      read: async (o, l, into) => {
        stopped.throwIfAborted();
        await throttle?.(l);
        stopped.throwIfAborted();
        return src.read(o, l, into);
      },
    };
    try {
      dest.layout = await this.tiers.object(dest.tier).write(paced, manifestInfoOf(this.catalog, i, path), dest.fileId, onProgress);
    } finally {
      stopped.removeEventListener('abort', letGo);
    }
    await this.pause('copied');
    // The tier checked every cell and manifest before it returned (verifyWrites);
    // layout.sha256 is the hash of what it read from the source, checked at the commit.
    return dest.layout.sha256;
  }


  /** Why the file is no longer the one the move set out to copy, or null. */
  private lostRace(ino: number, generation: number): string | null {
    const cur = this.catalog.getInode(ino);
    if (!cur || cur.nlink === 0) return 'file was deleted during the move';
    if (cur.generation !== generation) return 'file changed during the move';
    return null;
  }

  /**
   * Step 4. Synchronous from the first check to the last write, so no request of the
   * mount (rename, unlink, create, open) can come between what is checked and what is
   * switched. truncatedTo: the copy is the file's first bytes only (keepBytes), and the
   * file is that long from this commit on.
   */
  private commit(id: number, ino: number, generation: number, dest: CopyLocation, sha256: string, truncatedTo?: number): Verdict {
    const race = this.lostRace(ino, generation);
    if (race) return refuse(race);
    const cur = this.catalog.getInode(ino)!;
    const open = this.vfs.openHold(ino);
    if (open) return refuse(`file is ${open}`);
    const old = this.currentLocation(cur);
    // End to end: the hash recorded by an earlier move (or kept in the source copy's
    // layout) catches a copy damaged after it was read, which the copy's own check cannot.
    const recorded = cur.sha256 ?? (old.kind === 'object' && old.layout?.sha256 ? old.layout.sha256 : null);
    if (recorded && recorded !== sha256 && truncatedTo === undefined) return refuse(`the copy's SHA-256 is not the file's recorded one (${recorded.slice(0, 12)}…)`);
    const t = nowNs();
    // A truncation is a change of the data: its times are the commit's.
    const after = truncatedTo === undefined ? cur : { ...cur, size: truncatedTo, mtimeNs: t, ctimeNs: t };
    if (dest.kind === 'local') {
      matchAttrsSync(tempPathOf(dest.volume, dest.temp!), after, this.vfs.xattrsToMirror(cur));
      dest.paths = this.namesNow(ino);
      // Journaled before the names appear, so recovery knows which names to take back.
      this.catalog.durableTx(() => this.catalog.journalState(id, 'intent', { target: JSON.stringify(dest) }));
      const placed = this.placeLocal(this.tiers.local(dest.tier), dest);
      if (!placed.ok) return placed;
      this.crashHere('placed');
    }
    const which = old.kind === 'local' ? this.whichCopy(old) : {};
    this.catalog.durableTx(() => {
      this.catalog.setLocation(
        ino,
        dest.kind === 'local'
          ? { tier: dest.tier, volume: dest.volume, layout: null }
          : { tier: dest.tier, volume: null, layout: JSON.stringify(dest.layout) },
      );
      if (truncatedTo === undefined) this.catalog.recordHash(ino, generation, sha256);
      else this.catalog.updateData(ino, truncatedTo, t, t, true);
      // du of a local copy is what its blocks are; an object tier's, the size.
      this.catalog.setBlocks(ino, dest.kind === 'local' ? statSync(tempPathOf(dest.volume, dest.temp!)).blocks : null);
      this.catalog.journalState(id, 'committed', { bytes: after.size, verified: true, target: JSON.stringify(dest) });
      this.catalog.addGarbage(ino, old.tier, JSON.stringify({ ...old, ...which, moveId: id }));
    });
    // Committed: what follows tidies up and must not fail the move (the caller would abort it).
    try {
      if (dest.kind === 'local') rmSync(tempPathOf(dest.volume, dest.temp!), { force: true });
      if (old.kind === 'local') this.removeOldLocalCopy({ ...old, ...which });
      this.vfs.relocated(ino);
    } catch (err) {
      log.warn({ err, id, ino }, 'after the commit: could not remove the temp name or re-point readers');
    }
    return { ok: true };
  }

  /**
   * Step 5 for a local old copy, at once and still inside the commit's synchronous
   * section: its names are the ones just recorded. Later, a rename of a directory above
   * it (which renames on every volume) could carry it away from them, and it would stay
   * behind — for the next mount to import as a file. Its garbage entry stays: should this
   * fail, or the daemon die first, step 5 finishes it.
   */
  private removeOldLocalCopy(old: Extract<CopyLocation, { kind: 'local' }>): void {
    try {
      const tier = this.tiers.local(old.tier);
      for (const p of old.paths) this.removeLocalName(tier, old.volume, p, old);
    } catch (err) {
      log.warn({ err, tier: old.tier, paths: old.paths }, 'old copy not deleted yet; garbage collection will retry');
    }
  }

  /**
   * Give the verified copy every name of the file on the target volume, by link(),
   * which never replaces: whatever is already at a name stays, and the move aborts.
   * The names' directories are synced up to the volume root before the commit.
   */
  private placeLocal(tier: LocalTier, dest: Extract<CopyLocation, { kind: 'local' }>): Verdict {
    const temp = tempPathOf(dest.volume, dest.temp!);
    const placed: string[] = [];
    try {
      for (const p of dest.paths) {
        // Directories made on the way get the mount's modes and owners; no symlink is followed.
        tier.withName(dest.volume, p, (name) => linkSync(temp, name), this.vfs.dirAttrsAt);
        placed.push(p);
      }
      const synced = new Set<string>();
      for (const p of placed) syncDirsUp(dest.volume, tier.pathOf(dest.volume, p), synced);
      return { ok: true };
    } catch (err) {
      for (const p of placed) this.removeName(tier, dest.volume, p);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        return refuse(`another file is already at ${dest.paths[placed.length]} on tier ${dest.tier}; resolve it first`);
      }
      throw err;
    }
  }

  /** Remove a copy that never became the file's location. */
  private async dropCopy(loc: CopyLocation): Promise<void> {
    if (loc.kind === 'local') {
      if (!loc.temp) return;
      const tier = this.tiers.local(loc.tier);
      const temp = tempPathOf(loc.volume, loc.temp);
      // Only names that are links of this copy are ours to take back.
      const copy = statSync(temp, { throwIfNoEntry: false });
      if (copy) {
        for (const p of loc.paths) {
          const st = this.onName(tier, loc.volume, p, (name) => lstatSync(name, { throwIfNoEntry: false }));
          if (st && st.ino === copy.ino && st.dev === copy.dev) this.removeName(tier, loc.volume, p);
        }
      }
      tier.unlinkAt(loc.volume, temp);
    } else {
      const store = this.tiers.object(loc.tier);
      if (loc.layout) await store.remove(loc.layout);
      else await store.removePartial(loc.fileId);
    }
  }

  /** fn on a name of a volume reached without following symlinks; undefined when its directory is gone. */
  private onName<T>(tier: LocalTier, volume: string, path: string, fn: (name: string) => T): T | undefined {
    try {
      return tier.withName(volume, path, fn);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private removeName(tier: LocalTier, volume: string, path: string): void {
    this.onName(tier, volume, path, (name) => rmSync(name, { force: true }));
  }

  /**
   * Remove one name of an old copy on a volume, unless it is somebody else's there by now:
   * between the commit and step 5 (or a crash and recovery) the file may be renamed away
   * and its old name taken by a symlink (kept on the first tier), a directory, or a link
   * of a file on this volume. Only a plain file that no entry of the mount owns goes, and
   * only the old copy itself: the commit removed it already, and a file made under the name
   * since, which a mount after a crash finds in no catalog row yet (its create was answered
   * before its group committed), is not it. The old copy is known by its identity, or by
   * its size and modification time where the volume's files were copied back since (a
   * restore, or the power-cut test's model of a disk), which keeps times but not inode
   * numbers; a new file has those of the old copy only if made with the same size within
   * a millisecond or two of the old copy's last write, before the move had even begun.
   */
  private removeLocalName(tier: LocalTier, volume: string, path: string, old: { identity?: string; stamp?: string }): void {
    const owner = this.catalog.byDataPath(path);
    if (owner && owner.tier === tier.name && owner.volume === volume) return;
    const ino = this.catalog.inoAtPath(path);
    const entry = ino === undefined ? undefined : this.catalog.getInode(ino);
    if (entry && (!isReg(entry.mode) || (entry.tier === tier.name && entry.volume === volume))) return;
    this.onName(tier, volume, path, (name) => {
      const st = lstatSync(name, { bigint: true, throwIfNoEntry: false });
      if (!st?.isFile()) return;
      if (old.identity === undefined || backingIdentity(st) === old.identity || matchesStamp(st, old.stamp)) tier.unlinkAt(volume, name);
    });
  }

  /** How removeLocalName knows the old copy (its names are links of one file); what no file matches when it is gone. */
  private whichCopy(old: Extract<CopyLocation, { kind: 'local' }>): { identity: string; stamp: string } {
    const st = this.onName(this.tiers.local(old.tier), old.volume, old.paths[0]!, (name) => lstatSync(name, { bigint: true, throwIfNoEntry: false }));
    return st ? { identity: backingIdentity(st), stamp: oldCopyStamp(st) } : { identity: 'gone', stamp: 'gone' };
  }

  /**
   * Step 5: delete old copies nothing reads any more. Local copies go at once (open
   * descriptors keep their bytes readable); object copies wait for their readers.
   * Returns the ids of the moves this finished. One collection runs at a time (a move
   * and the background timer both ask); a request during one gets the next.
   */
  collectGarbage(): Promise<Set<number>> {
    if (!this.collecting) {
      this.collecting = this.collectOnce().finally(() => (this.collecting = undefined));
      return this.collecting;
    }
    this.collectAgain ??= this.collecting
      .catch(() => undefined)
      .then(() => {
        this.collectAgain = undefined;
        return this.collectGarbage();
      });
    return this.collectAgain;
  }

  private collecting: Promise<Set<number>> | undefined;
  private collectAgain: Promise<Set<number>> | undefined;

  private async collectOnce(): Promise<Set<number>> {
    const finished = new Set<number>();
    const garbage = this.catalog.garbage();
    if (garbage.length === 0) return finished;
    // Only deletions on disk: a daemon killed before the group of an unlink commits
    // brings the name back, and it must still have its bytes — and so would a power cut
    // before the WAL is synced (synchronous NORMAL syncs it at checkpoints): synced first.
    await this.catalog.syncLog();
    for (const g of garbage) {
      const loc = JSON.parse(g.location) as (CopyLocation & { moveId?: number }) | { layout: ObjectLayout; moveId?: undefined };
      try {
        if ('kind' in loc && loc.kind === 'local') {
          if (!this.tiers.has(loc.tier)) continue;
          const tier = this.tiers.local(loc.tier);
          // The commit removed these names already, unless it failed or the daemon died first.
          for (const p of loc.paths) this.removeLocalName(tier, loc.volume, p, loc);
        } else {
          const layout = loc.layout;
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
    // No move runs now: whatever is left in a volume's temp directory is a copy whose
    // move committed (its names are linked) or was never journaled. Either way it is litter.
    for (const tier of this.tiers.locals) {
      for (const volume of tier.volumes) {
        const dir = join(volume, TEMP_DIR);
        for (const name of existsSync(dir) ? readdirSync(dir) : []) rmSync(join(dir, name), { force: true });
      }
    }
    const finished = (await this.collectGarbage()).size;
    if (undone || finished) log.info({ undone, finished }, 'recovered interrupted moves');
    return { undone, finished };
  }

  recent(limit?: number): MoveRecord[] {
    return this.catalog.recentMoves(limit);
  }
}

/** An old copy's size and modification time to the millisecond (what a copy of a volume keeps). */
function oldCopyStamp(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs / 1_000_000n}`;
}

/**
 * Whether a file has an old copy's stamp. Its time may be a millisecond off either way: a
 * copy that carried times as Dates rounds them to the nearest millisecond (Node's Stats),
 * and one that sets them as floating-point seconds (utimes in Node and Python) sets
 * 1733400000.123 as …122999906 ns about every other time.
 */
function matchesStamp(st: BigIntStats, stamp: string | undefined): boolean {
  const [size, ms] = stamp?.split(':') ?? [];
  if (size !== String(st.size) || ms === undefined || !/^\d+$/.test(ms)) return false;
  const diff = BigInt(ms) - st.mtimeNs / 1_000_000n;
  return diff >= -1n && diff <= 1n;
}
