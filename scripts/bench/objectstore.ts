// Put/get throughput of the object-store layer against each SDK called directly, on the
// same local servers in the same run: `npm run bench -- objectstore [--json] [--backends s3,azure]`
// (default: every backend: memory, fs, s3, azure, gcs).
// The layer is the full stack callers get from createObjectStore (integrity checks,
// metrics, retries); the SDK side does what an SDK user would write for the same job
// (one request below the multipart threshold, the SDK's own multipart helper above it).
// Runs alternate between the two, and each figure is a median over the runs, with the
// ratio the median of the ratios of adjacent pairs: other work on a shared 2-core
// machine comes in bursts, and a burst should spoil one pair, not the comparison.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobServiceClient } from '@azure/storage-blob';
import { mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { backendConfigSchema, type BackendConfig } from '../../src/config/backends.js';
import { collect } from '../../src/objectstore/body.js';
import { createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import { createS3Client } from '../../src/objectstore/s3.js';
import { createAzureContainerClient } from '../../src/objectstore/azure.js';
import { createGcsClient } from '../../src/objectstore/gcs.js';
import { startS3Server } from '../../test/helpers/s3-server.js';
import { startAzurite } from '../../test/helpers/azurite.js';
import { startGcsServer } from '../../test/helpers/gcs-server.js';

const MiB = 2 ** 20;
const SIZES = [{ size: 4 * MiB, reps: 30 }, { size: 64 * MiB, reps: 6 }];
const PARTS = { multipartThreshold: 8 * MiB, partSize: 8 * MiB, partConcurrency: 4 };

interface Direct {
  put(key: string, data: Buffer): Promise<unknown>;
  get(key: string): Promise<Buffer>;
}

interface Bench {
  name: string;
  config: BackendConfig;
  direct?: Direct;
  stop(): Promise<void>;
}

const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args.includes('--backends') ? args[args.indexOf('--backends') + 1]!.split(',') : undefined;

async function s3Bench(): Promise<Bench> {
  const server = await startS3Server('bench');
  const { credentials, ...client } = server.clientOptions;
  const config = backendConfigSchema.parse({ type: 's3', bucket: 'bench', ...client, ...credentials, ...PARTS });
  const s3 = createS3Client(server.clientOptions);
  return {
    name: 's3 (s3rver)',
    config,
    direct: {
      put: (key, data) =>
        data.length <= PARTS.multipartThreshold
          ? s3.send(new PutObjectCommand({ Bucket: 'bench', Key: key, Body: data, ContentLength: data.length }))
          : new Upload({ client: s3, params: { Bucket: 'bench', Key: key, Body: data }, partSize: PARTS.partSize, queueSize: PARTS.partConcurrency }).done(),
      get: async (key) => collect((await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: key }))).Body as Readable),
    },
    stop: server.stop,
  };
}

async function azureBench(): Promise<Bench> {
  const azurite = await startAzurite();
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('bench').createIfNotExists();
  const config = backendConfigSchema.parse({ type: 'azure', container: 'bench', connectionString: azurite.connectionString, ...PARTS });
  const container = createAzureContainerClient({ container: 'bench', connectionString: azurite.connectionString });
  return {
    name: 'azure (azurite)',
    config,
    direct: {
      put: (key, data) =>
        container.getBlockBlobClient(key).uploadData(data, {
          blockSize: PARTS.partSize, concurrency: PARTS.partConcurrency, maxSingleShotSize: PARTS.multipartThreshold,
        }),
      get: async (key) => collect((await container.getBlockBlobClient(key).download()).readableStreamBody!),
    },
    stop: azurite.stop,
  };
}

async function gcsBench(): Promise<Bench> {
  const server = await startGcsServer({ buckets: ['bench'] });
  const config = backendConfigSchema.parse({ type: 'gcs', bucket: 'bench', endpoint: server.endpoint, projectId: 'bench', ...PARTS });
  const bucket = createGcsClient({ endpoint: server.endpoint, projectId: 'bench' }).bucket('bench');
  return {
    name: 'gcs (our JSON-API server, in-process)',
    config,
    direct: {
      put: (key, data) =>
        bucket.file(key).save(data, { resumable: data.length > PARTS.multipartThreshold, chunkSize: PARTS.partSize, validation: false }),
      get: async (key) => (await bucket.file(key).download({ validation: false }))[0],
    },
    stop: server.stop,
  };
}

async function fsBench(): Promise<Bench> {
  const root = await mkdtemp(join(tmpdir(), 'tierfs-bench-fs-'));
  const config = backendConfigSchema.parse({ type: 'fs', root: join(root, 'layer'), ...PARTS });
  const plain = await mkdtemp(join(root, 'plain-'));
  return {
    name: 'fs (node:fs, same durability)',
    config,
    direct: {
      // What a careful caller writes by hand: temp file, fsync, rename, directory fsync.
      put: async (key, data) => {
        const temp = join(plain, `.${key}.tmp`);
        const handle = await open(temp, 'w');
        await handle.writeFile(data);
        await handle.sync();
        await handle.close();
        await rename(temp, join(plain, key));
        const dir = await open(plain, 'r');
        await dir.sync();
        await dir.close();
      },
      get: (key) => readFile(join(plain, key)),
    },
    stop: () => rm(root, { recursive: true, force: true }),
  };
}

async function memoryBench(): Promise<Bench> {
  const map = new Map<string, Buffer>();
  return {
    name: 'memory (a Map)',
    config: backendConfigSchema.parse({ type: 'memory', ...PARTS }),
    direct: {
      put: async (key, data) => map.set(key, Buffer.from(data)),
      get: async (key) => Buffer.from(map.get(key)!),
    },
    stop: async () => undefined,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ratios(values: number[]): { ratio: number; ratioP25: number; ratioP75: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { ratio: median(values), ratioP25: at(0.25), ratioP75: at(0.75) };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Row {
  backend: string;
  size: string;
  op: 'put' | 'get';
  layerMBps: number;
  sdkMBps: number;
  ratio: number;
  /** Quartiles of the pair ratios: how much the machine's noise moved them. */
  ratioP25: number;
  ratioP75: number;
}

async function measure(bench: Bench): Promise<Row[]> {
  const layer: ObjectStore = createObjectStore(bench.config, { registry: new Registry() });
  const direct = bench.direct!;
  const rows: Row[] = [];
  for (const { size, reps } of SIZES) {
    const data = randomBytes(size);
    const seconds = { layer: { put: [] as number[], get: [] as number[] }, sdk: { put: [] as number[], get: [] as number[] } };
    // One warm-up of each, uncounted: connections, JIT.
    await layer.put('warm', data);
    await layer.get('warm');
    await direct.put('warm', data);
    await direct.get('warm');
    for (let i = 0; i < reps; i++) {
      const order = i % 2 === 0 ? (['layer', 'sdk'] as const) : (['sdk', 'layer'] as const);
      for (const who of order) {
        const key = `${who}-${size}-${i}`;
        if (who === 'layer') {
          seconds.layer.put.push(await timed(() => layer.put(key, data)));
          seconds.layer.get.push(await timed(async () => {
            if ((await layer.get(key)).data.length !== size) throw new Error('short read');
          }));
          await layer.delete(key);
        } else {
          seconds.sdk.put.push(await timed(() => direct.put(key, data)));
          seconds.sdk.get.push(await timed(async () => {
            if ((await direct.get(key)).length !== size) throw new Error('short read');
          }));
        }
      }
    }
    for (const op of ['put', 'get'] as const) {
      const mbps = (s: number) => size / 1e6 / s;
      const row = {
        backend: bench.name,
        size: `${size / MiB} MiB`,
        op,
        layerMBps: mbps(median(seconds.layer[op])),
        sdkMBps: mbps(median(seconds.sdk[op])),
        ...ratios(seconds.layer[op].map((t, i) => seconds.sdk[op][i]! / t)),
      };
      rows.push(row);
      if (json) process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
  return rows;
}

const makers: Record<string, () => Promise<Bench>> = { memory: memoryBench, fs: fsBench, s3: s3Bench, azure: azureBench, gcs: gcsBench };
const all: Row[] = [];
for (const [name, make] of Object.entries(makers)) {
  if (only && !only.includes(name)) continue;
  const bench = await make();
  try {
    all.push(...(await measure(bench)));
  } finally {
    await bench.stop();
  }
}

if (!json) {
  const head = ['backend', 'size', 'op', 'layer MB/s', 'SDK MB/s', 'layer/SDK', 'p25–p75'];
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const lines = all.map((r) => [
    r.backend, r.size, r.op, r.layerMBps.toFixed(0), r.sdkMBps.toFixed(0), `${(r.ratio * 100).toFixed(1)}%`, `${pct(r.ratioP25)}–${pct(r.ratioP75)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  process.stdout.write(`${fmt(head)}\n|${widths.map((w, i) => (i >= 3 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|\n`);
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);
  process.stdout.write('\nMB/s: median over the runs. layer/SDK: median of the time ratios of adjacent pairs (100% = equal; target ≥ 95%);\np25–p75: the middle half of those ratios, i.e. how much the shared machine moved them.\n');
}
