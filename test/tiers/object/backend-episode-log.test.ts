// A backend that disappears while cold files are read: every read that needs it fails
// (EIO: no other backend holds the data), and the log says so once for the episode —
// which backend, and the error — not once per read; its return is logged once too.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { waitFor } from '../../helpers/mount.js';
import { TierfsMount } from '../../helpers/tierfs.js';
import { startS3Server, type S3Server } from '../../helpers/s3-server.js';
import { startFaultServer, type FaultServer } from '../../helpers/fault-server.js';

let s3: S3Server;
let proxy: FaultServer;
let t: TierfsMount;

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = await startFaultServer({ cloud: 's3', upstream: s3.endpoint });
  const c = s3.clientOptions;
  t = await new TierfsMount({
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 1, m: 0 }
    chunkSize: 64KiB
    smallFileThreshold: 4KiB
    backends:
      - { name: bucket1, type: s3, bucket: ${s3.bucket}, endpoint: "${proxy.endpoint}", region: ${c.region}, forcePathStyle: true, checksums: when_required, accessKeyId: ${c.credentials.accessKeyId}, secretAccessKey: ${c.credentials.secretAccessKey}, retry: { maxAttempts: 1 } }
`,
    // No recall cache and no page cache: every read goes to the backend.
    extraYaml: 'cache: { memory: 0, disk: 0 }\n',
    pageCache: 'none',
  }).start();
}, 120_000);

afterAll(async () => {
  await t?.dispose();
  await proxy?.stop();
  await s3?.stop();
});

const lines = (text: string, pattern: RegExp) => text.split('\n').filter((l) => pattern.test(l));

it('logs a failing backend once per episode, with its name and the error, and its return once', async () => {
  const data = randomBytes(200 * 1024);
  writeFileSync(join(t.mnt, 'cold.bin'), data);
  const moved = await t.cli(['move', join(t.mnt, 'cold.bin'), '--to', 'cold']);
  expect(moved.code, moved.stderr).toBe(0);
  expect((await readFile(join(t.mnt, 'cold.bin'))).equals(data)).toBe(true);

  // The backend goes away: every request answers 503 from now on.
  proxy.inject({ fault: { kind: 'error', status: 503, code: 'ServiceUnavailable', message: 'the bucket went away' }, times: 10_000 });
  for (let i = 0; i < 5; i++) await expect(readFile(join(t.mnt, 'cold.bin'))).rejects.toMatchObject({ code: 'EIO' });
  const during = t.output;
  const failing = lines(during, /backend bucket1 of tier cold is failing/);
  expect(failing, during).toHaveLength(1);
  expect(failing[0]).toMatch(/"backend":"bucket1"/);
  expect(failing[0]).toMatch(/ServiceUnavailable|the bucket went away|503/);
  // Reads that failed for this reason are not logged one by one.
  expect(lines(during, /cell lost/)).toHaveLength(0);

  proxy.reset();
  expect((await readFile(join(t.mnt, 'cold.bin'))).equals(data)).toBe(true);
  // (The daemon's log reaches this process through a pipe: the line may come just after the read.)
  await waitFor(() => lines(t.output, /backend bucket1 of tier cold answers again/).length > 0, 5000, () => t.output.slice(-2000));
  expect(lines(t.output, /backend bucket1 of tier cold answers again/)).toHaveLength(1);
  expect(lines(t.output, /backend bucket1 of tier cold is failing/)).toHaveLength(1);
});
