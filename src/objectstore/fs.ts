// The local-filesystem backend: one file per object under a root directory (see
// fs-layout.ts for the mapping). Writes are atomic and durable: a temporary file in
// the target directory, fsync, rename over the old object, fsync of the directory and
// of the parent of every directory the put created (a new directory is durable only
// once its entry in its parent is).
// A reader that opened the old object keeps reading the old bytes.
import { deleteEach } from './delete-many.js';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { emptyStream } from './body.js';
import { FatalError, NotFoundError, ObjectStoreError, TransientError } from './errors.js';
import {
  TRAILER_FIXED, encodeTrailer, objectPath, parseEntry, trailerJsonLength, type TrailerInfo,
} from './fs-layout.js';
import { checkMetadata, checkRange, clipRange, compareKeys } from './keys.js';
import type {
  CallOptions, GetOptions, GetResult, GetStreamResult, ListEntry, ObjectMeta, ObjectStore, PutOptions, PutResult, StoreLimits,
} from './types.js';

export interface FsStoreOptions {
  root: string;
  /** fsync files and directories on put; off only for scratch stores and benchmarks of the layer itself. */
  fsync?: boolean;
}

interface OpenObject {
  handle: FileHandle;
  meta: ObjectMeta;
}

export class FsStore implements ObjectStore {
  readonly backend = 'fs';
  readonly limits: StoreLimits = {
    minPartSize: 0,
    maxPartSize: Number.MAX_SAFE_INTEGER,
    maxParts: 1,
    storageClasses: [],
    archiveClasses: [],
    metadataAfterBody: true,
    parallelParts: false,
    keysPerDelete: 1,
  };
  private readonly root: string;
  private readonly fsync: boolean;

  constructor(opts: FsStoreOptions) {
    this.root = resolve(opts.root);
    this.fsync = opts.fsync ?? true;
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const { dir, file } = objectPath(this.root, key);
    checkMetadata(opts.metadata);
    if (opts.storageClass !== undefined) throw new FatalError('the fs backend has no storage classes');
    const temp = join(dir, `~tmp-${randomBytes(8).toString('hex')}`);
    const { handle, created } = await this.createTemp(dir, temp);
    try {
      let size = 0;
      if (Buffer.isBuffer(body)) {
        await writeAll(handle, body);
        size = body.length;
      } else {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          await writeAll(handle, chunk);
          size += chunk.length;
        }
      }
      const metadata = { ...opts.metadata, ...opts.metadataAfterBody?.() };
      checkMetadata(metadata);
      const info: TrailerInfo = { metadata, ...(opts.contentType ? { contentType: opts.contentType } : {}) };
      await writeAll(handle, encodeTrailer(info));
      if (this.fsync) await handle.sync();
      const st = await handle.stat({ bigint: true });
      await handle.close();
      await rename(temp, file);
      if (this.fsync) {
        await syncDir(dir);
        if (created !== undefined) await this.syncCreatedParents(dir, created);
      }
      return { etag: etagOf(st.ino, st.mtimeNs, size), size };
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw fsError(err, `put ${key}`);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    checkRange(opts.range);
    const { handle, meta } = await this.openObject(key);
    try {
      const range = clipRange(opts.range, meta.size);
      const data = Buffer.allocUnsafe(range.length);
      let done = 0;
      while (done < range.length) {
        const { bytesRead } = await handle.read(data, done, range.length - done, range.offset + done);
        if (bytesRead === 0) throw new TransientError(`short read of ${key}`);
        done += bytesRead;
      }
      return { data, meta, range };
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    checkRange(opts.range);
    const { handle, meta } = await this.openObject(key);
    const range = clipRange(opts.range, meta.size);
    if (range.length === 0) {
      await handle.close();
      return { stream: emptyStream(), meta, range };
    }
    // The stream owns the handle and closes it when it ends or is destroyed.
    const stream = createReadStream('', {
      fd: handle, start: range.offset, end: range.offset + range.length - 1, highWaterMark: 1 << 20,
    });
    return { stream, meta, range };
  }

  async head(key: string): Promise<ObjectMeta> {
    const { handle, meta } = await this.openObject(key);
    await handle.close();
    return meta;
  }

  async delete(key: string): Promise<void> {
    const { dir, file } = objectPath(this.root, key);
    try {
      await unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(err, `delete ${key}`);
    }
    await this.pruneEmptyDirs(dir);
  }

  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<void> {
    return deleteEach(this, keys, opts);
  }

  async *list(prefix = ''): AsyncIterable<ListEntry> {
    // Start in the deepest directory the prefix names; walking the tree with each
    // directory's entries sorted as "segment/" and files as "segment" gives keys in
    // byte order without collecting them all.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash + 1);
    let startDir: string;
    try {
      startDir = base === '' ? this.root : objectPath(this.root, `${base}x`).dir;
    } catch {
      return; // a prefix no valid key can have
    }
    yield* this.walk(startDir, base, prefix);
  }

  async restore(key: string): Promise<void> {
    await this.head(key); // nothing is ever archived here; only the existence check remains
  }

  private async *walk(dir: string, keyPrefix: string, prefix: string): AsyncGenerator<ListEntry> {
    let names: { name: string; isDir: boolean }[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).map((d) => ({ name: d.name, isDir: d.isDirectory() }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fsError(err, `list ${prefix}`);
    }
    const entries = names
      .map((n) => ({ ...n, parsed: parseEntry(n.name, n.isDir) }))
      .filter((n) => n.parsed !== undefined)
      .map((n) => ({ name: n.name, key: keyPrefix + n.parsed!.segment + (n.parsed!.isObject ? '' : '/'), isObject: n.parsed!.isObject }))
      .filter((n) => (n.isObject ? n.key.startsWith(prefix) : n.key.startsWith(prefix) || prefix.startsWith(n.key)))
      .sort((a, b) => compareKeys(a.key, b.key));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (!entry.isObject) {
        yield* this.walk(path, entry.key, prefix);
        continue;
      }
      try {
        const handle = await open(path, 'r');
        try {
          const meta = await readMeta(handle, entry.key);
          yield { key: entry.key, size: meta.size, etag: meta.etag, lastModified: meta.lastModified };
        } finally {
          await handle.close();
        }
      } catch (err) {
        if (err instanceof NotFoundError || (err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
        throw fsError(err, `list ${prefix}`);
      }
    }
  }

  private async openObject(key: string): Promise<OpenObject> {
    const { file } = objectPath(this.root, key);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      throw fsError(err, key);
    }
    try {
      return { handle, meta: await readMeta(handle, key) };
    } catch (err) {
      await handle.close();
      throw fsError(err, key);
    }
  }

  /**
   * The temporary file, and the outermost directory made for it (if any). A concurrent
   * delete may remove the (empty) directory between mkdir and open: then again.
   */
  private async createTemp(dir: string, temp: string): Promise<{ handle: FileHandle; created: string | undefined }> {
    let created: string | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        // Readable by the daemon only, as a bucket is: the cells are the tier's files' bytes.
        const made = await mkdir(dir, { recursive: true, mode: 0o700 });
        // Each made directory is `dir` or one of its ancestors: the shortest is the outermost.
        if (made !== undefined && (created === undefined || made.length < created.length)) created = made;
        return { handle: await open(temp, 'wx', 0o600), created };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw fsError(err, `put into ${dir}`);
      }
    }
  }

  /** fsync the parent of every directory from `created` down to `dir` (dir itself is synced by put), the root's too if the put made it. */
  private async syncCreatedParents(dir: string, created: string): Promise<void> {
    const top = dirname(created);
    for (let d = dirname(dir); d.length >= top.length; d = dirname(d)) {
      try {
        await syncDir(d);
      } catch (err) {
        // Pruned by a concurrent delete of the object just put: nothing left to make durable.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (d === top) break;
    }
  }

  private async pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty, or gone already: either way nothing above it is empty
      }
    }
  }
}

async function readMeta(handle: FileHandle, key: string): Promise<ObjectMeta> {
  const st = await handle.stat({ bigint: true });
  const fileSize = Number(st.size);
  const notOurs = () => new FatalError(`not an object file of the fs backend: ${key}`);
  if (fileSize < TRAILER_FIXED) throw notOurs();
  const tail = Buffer.alloc(TRAILER_FIXED);
  await handle.read(tail, 0, TRAILER_FIXED, fileSize - TRAILER_FIXED);
  const jsonLength = trailerJsonLength(tail);
  if (jsonLength === undefined || jsonLength > fileSize - TRAILER_FIXED) throw notOurs();
  const json = Buffer.alloc(jsonLength);
  await handle.read(json, 0, jsonLength, fileSize - TRAILER_FIXED - jsonLength);
  const info = JSON.parse(json.toString()) as TrailerInfo;
  const size = fileSize - TRAILER_FIXED - jsonLength;
  return {
    key, size, etag: etagOf(st.ino, st.mtimeNs, size), lastModified: new Date(Number(st.mtimeMs)), metadata: info.metadata ?? {},
  };
}

/** A rename gives a new inode, so inode + mtime + size changes with every overwrite. */
function etagOf(ino: bigint, mtimeNs: bigint, size: number): string {
  return `${ino.toString(16)}-${mtimeNs.toString(16)}-${size.toString(16)}`;
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function fsError(err: unknown, what: string): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new NotFoundError(what, { cause: err });
  // Out of space or descriptors can pass; a permission or layout problem will not.
  if (code === 'ENOSPC' || code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EIO') {
    return new TransientError(`${what}: ${(err as Error).message}`, { cause: err });
  }
  return new FatalError(`${what}: ${(err as Error).message}`, { cause: err });
}
