// One tier over a real S3 protocol (s3rver) beside a memory backend: cells, manifests,
// degraded reads and listing go through the S3 adapter as they will in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { backendConfigSchema } from '../../../src/config/backends.js';
import { DEFAULT_CHUNK_SIZE } from '../../../src/config/schema.js';
import { createObjectStore, MemoryStore, type ObjectStore } from '../../../src/objectstore/index.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { body, infoFor, KiB, makeTier, MiB, newFileId, sourceOf } from './helpers.js';

let server: S3Server;
let s3: ObjectStore;

beforeAll(async () => {
  server = await startS3Server();
  const { credentials, ...client } = server.clientOptions;
  s3 = createObjectStore(backendConfigSchema.parse({ type: 's3', bucket: server.bucket, ...client, ...credentials }));
});
afterAll(() => server?.stop());

describe('object tier on s3rver', () => {
  it('writes, reads, rebuilds and lists through the S3 adapter', async () => {
    const stores = [s3, new MemoryStore(), new MemoryStore()];
    const tier = makeTier({ k: 2, m: 1, chunkSize: 256 * KiB, smallFileThreshold: 8 * KiB }, stores);
    const data = body(700 * KiB + 3, 70);
    const layout = await tier.write(sourceOf(data), infoFor('s3/file'), newFileId());
    expect((await tier.read(layout, 0, data.length)).equals(data)).toBe(true);

    // Lose a memory backend: the cells on s3 and on the other memory store carry every stripe.
    const fresh = makeTier({ k: 2, m: 1, chunkSize: 256 * KiB, smallFileThreshold: 8 * KiB }, [s3, new MemoryStore(), stores[2]!]);
    expect((await fresh.read(layout, 100 * KiB, 500 * KiB)).equals(data.subarray(100 * KiB, 600 * KiB))).toBe(true);
    expect((await fresh.stats()).degradedReads).toBeGreaterThan(0);

    const listed = [];
    for await (const m of tier.manifests()) listed.push(m.layout.fileId);
    expect(listed).toContain(layout.fileId);
    await tier.remove(layout);
    const left = [];
    for await (const e of s3.list(`${layout.manifest[0]!.key.split('/')[0]}/${layout.fileId}/`)) left.push(e.key);
    expect(left).toEqual([]);
    await tier.close();
    await fresh.close();
  });

  it('puts each cell of the default layout in one request, not as a multipart upload', async () => {
    // Every request the store gets, seen by a proxy in front of s3rver (which forwards the
    // signed headers as they are). A backend as a user writes it (no thresholds), a tier
    // with the default chunk size: its cells are chunkSize/k plus a header.
    const seen: string[] = [];
    const proxy: Server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const up = request({ host: '127.0.0.1', port: server.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { credentials, ...client } = server.clientOptions;
      const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const viaProxy = createObjectStore(backendConfigSchema.parse({ type: 's3', bucket: server.bucket, ...client, ...credentials, endpoint }));
      const tier = makeTier({ k: 4, m: 2, chunkSize: DEFAULT_CHUNK_SIZE, smallFileThreshold: 8 * KiB }, [viaProxy]);
      const layout = await tier.write(sourceOf(body(DEFAULT_CHUNK_SIZE + 5 * MiB, 71)), infoFor('s3/default-layout'), newFileId());
      const cells = layout.stripes.flatMap((s) => s.cells);
      expect(cells).toHaveLength(12);
      expect(Math.max(...cells.map((c) => c.length))).toBe(DEFAULT_CHUNK_SIZE / 4);
      for (const c of cells) {
        const path = `/${server.bucket}/${c.key}`;
        const writes = seen.filter((r) => [`PUT ${path}`, `POST ${path}`].includes(r.split('?')[0]!));
        expect(writes, c.key).toEqual([`PUT ${path}?x-id=PutObject`]);
      }
      await tier.remove(layout);
      await tier.close();
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
