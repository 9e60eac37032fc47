// Through a real mount: an object backend whose GETs are accepted and never answered
// does not hang a read. The cold tier keeps one cell of each stripe on S3 (s3rver
// behind the fault server) and the others on local stores; once the S3 requests time
// out (and their retries too), the cells there count as lost and the stripes are
// rebuilt from parity, so the read returns the right bytes within a bounded time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { body } from './data.js';

const KiB = 1024;
const CHUNK = 64 * KiB;

let s3: S3Server;
let fault: FaultServer;
let roots: ReturnType<typeof tempDir>[];
let t: TierfsMount;

function coldTier(): string {
  const c = s3.clientOptions;
  return `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: ${CHUNK}
    smallFileThreshold: 4KiB
    backends:
      - { name: s3, type: s3, bucket: ${s3.bucket}, endpoint: "${fault.endpoint}", region: ${c.region}, forcePathStyle: true, checksums: when_required, accessKeyId: ${c.credentials.accessKeyId}, secretAccessKey: ${c.credentials.secretAccessKey}, timeouts: { connect: 500ms, firstByte: 1s, idle: 1s }, retry: { maxAttempts: 3, baseDelay: 1ms, maxDelay: 1ms } }
      - { name: a, type: fs, root: ${roots[0]!.path} }
      - { name: b, type: fs, root: ${roots[1]!.path} }
`;
}

beforeAll(async () => {
  s3 = await startS3Server();
  fault = await startFaultServer({ cloud: 's3', upstream: s3.endpoint });
  roots = [tempDir('tierfs-stall-a-'), tempDir('tierfs-stall-b-')];
  // No recall cache: the read below must come from the stores.
  t = await new TierfsMount({ moreTiers: coldTier(), extraYaml: 'cache: { memory: 0, disk: 0 }\n' }).start();
}, 120_000);

afterAll(async () => {
  await t?.dispose();
  await fault?.stop();
  await s3?.stop();
  for (const r of roots ?? []) r.remove();
});

describe('a stalled object store under a mount', () => {
  it('a read whose S3 GETs are never answered rebuilds from parity within the timeouts instead of hanging', { timeout: 90_000 }, async () => {
    const data = body(6 * CHUNK + 1234, 17);
    await fs.writeFile(join(t.mnt, 'f'), data);
    const moved = await t.cli(['move', '--json', join(t.mnt, 'f'), '--to', 'cold']);
    expect(moved.code, moved.stderr + moved.stdout).toBe(0);
    expect(JSON.parse(moved.stdout)[0], moved.stdout).toMatchObject({ state: 'done' });

    fault.reset();
    const isObjectGet = (r: { method: string; query: URLSearchParams }) => r.method === 'GET' && !r.query.has('list-type');
    fault.inject({ match: isObjectGet, fault: { kind: 'hang' }, times: Infinity });
    const started = Date.now();
    const read = await fs.readFile(join(t.mnt, 'f'));
    const ms = Date.now() - started;
    console.info(`read with S3 stalled: ${ms} ms, ${fault.count(isObjectGet)} GETs hung`);
    expect(read.equals(data)).toBe(true);
    expect(fault.count(isObjectGet)).toBeGreaterThan(0); // the S3 cells were asked for, and hung
    // Each S3 cell costs three attempts of at most 1.5 s before parity takes over (cells are fetched side by side).
    expect(ms).toBeLessThan(20_000);
  });
});
