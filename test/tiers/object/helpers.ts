// Shared fixtures of the object-tier tests: a tier over given stores, byte sources,
// and a store wrapper that counts what reaches the backend.
import { deleteEach } from '../../../src/objectstore/delete-many.js';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MemoryStore } from '../../../src/objectstore/index.js';
import { tap, through } from '../../../src/objectstore/body.js';
import type { GetOptions, GetResult, ObjectStore, PutOptions } from '../../../src/objectstore/index.js';
import { ObjectTier, type ObjectTierOptions } from '../../../src/tiers/object/index.js';
import type { ByteSource, ManifestInfo } from '../../../src/tiers/object/types.js';
export { body } from '../../objectstore/data.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export interface TierShape {
  k: number;
  m: number;
  chunkSize: number;
  smallFileThreshold: number;
}

export function makeTier(
  shape: TierShape,
  stores: ObjectStore[],
  opts: Partial<ObjectTierOptions> & { fsid?: string; name?: string; verifyWrites?: 'checksums' | 'read-back' } = {},
): ObjectTier {
  return new ObjectTier(
    { name: opts.name ?? 'cold', scheme: { k: shape.k, m: shape.m }, chunkSize: shape.chunkSize, smallFileThreshold: shape.smallFileThreshold, verifyWrites: opts.verifyWrites },
    stores,
    opts.fsid ?? FSID,
    { memoryCacheBytes: 64 * MiB, diskCacheBytes: 0, ...opts },
  );
}

export const FSID = '6f1c2a9e-58b4-4d0e-9a51-3f7e2c1d0b8a';

export function memoryStores(n: number): MemoryStore[] {
  return Array.from({ length: n }, () => new MemoryStore());
}

export function sourceOf(data: Buffer): ByteSource & { reads: number } {
  const src = {
    size: data.length,
    reads: 0,
    async read(offset: number, length: number) {
      src.reads++;
      return Buffer.from(data.subarray(offset, offset + length));
    },
  };
  return src;
}

export function infoFor(path: string, ino = 42): ManifestInfo {
  return {
    fsid: FSID, ino, generation: 1, path, mode: 0o100644, uid: 1000, gid: 1000,
    atimeNs: '1700000000000000000', mtimeNs: '1700000000000000000', ctimeNs: '1700000000000000000',
  };
}

export function newFileId(): string {
  return randomUUID();
}

/** Counts gets (and their bytes) and puts that pass through to the inner store. */
export class CountingStore implements ObjectStore {
  readonly backend: string;
  readonly limits: ObjectStore['limits'];
  gets = 0;
  getBytes = 0;
  puts = 0;
  heads = 0;
  readonly getKeys: string[] = [];

  constructor(readonly inner: ObjectStore) {
    this.backend = inner.backend;
    this.limits = inner.limits;
  }

  reset(): void {
    this.gets = 0;
    this.getBytes = 0;
    this.puts = 0;
    this.heads = 0;
    this.getKeys.length = 0;
  }

  async get(key: string, opts?: GetOptions): Promise<GetResult> {
    this.gets++;
    this.getKeys.push(key);
    const r = await this.inner.get(key, opts);
    this.getBytes += r.data.length;
    return r;
  }

  put(key: string, body: Buffer | Readable, opts?: PutOptions) {
    this.puts++;
    return this.inner.put(key, body, opts);
  }

  async getStream(key: string, opts?: GetOptions) {
    this.gets++;
    this.getKeys.push(key);
    const r = await this.inner.getStream(key, opts);
    return { ...r, stream: through(r.stream, tap((chunk) => (this.getBytes += chunk.length))) };
  }
  head(key: string) {
    this.heads++;
    return this.inner.head(key);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  deleteMany(keys: readonly string[]) {
    return deleteEach(this, keys); // through delete(), which a test may override
  }
  list(prefix?: string, opts?: { pageSize?: number }) {
    return this.inner.list(prefix, opts);
  }
  restore(key: string, opts?: Parameters<ObjectStore['restore']>[1]) {
    return this.inner.restore(key, opts);
  }
}

export function counting(stores: ObjectStore[]): CountingStore[] {
  return stores.map((s) => new CountingStore(s));
}

export function totals(stores: CountingStore[]): { gets: number; getBytes: number } {
  return stores.reduce((t, s) => ({ gets: t.gets + s.gets, getBytes: t.getBytes + s.getBytes }), { gets: 0, getBytes: 0 });
}
