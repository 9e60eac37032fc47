// A file deleted while the mover uploads it to object storage, from a volume short of
// room: `rm` returns once the move has let go of the file's bytes (its source closed),
// not once the store has answered the upload under way — which the writer waits for
// before it gives up, so that no late put lands after the partial copy is removed. The
// store here hangs: s3rver is stopped (SIGSTOP) while the move runs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { eventually, freeBytes as freeOn, tmpfsAt } from '../helpers/mount.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/objectstore/s3.js';

const MiB = 1 << 20;
let t: TierfsMount;
let s3: S3Server;
let unmountHot: (() => void) | undefined;
const m = (p: string) => join(t.mnt, p);

beforeAll(async () => {
  s3 = await startS3Server('rm-during-upload');
  const c = s3.clientOptions;
  t = new TierfsMount({
    // 8 MiB a second: the first 16 MiB batch of stripes is read in two seconds, then put.
    extraYaml: 'mover:\n  bandwidth: 8MiB\n',
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: 1MiB
    backends:
      - { name: s3, type: s3, bucket: ${s3.bucket}, endpoint: "${c.endpoint}", region: ${c.region}, forcePathStyle: true, checksums: when_required, accessKeyId: ${c.credentials.accessKeyId}, secretAccessKey: ${c.credentials.secretAccessKey} }
`,
  });
  unmountHot = tmpfsAt(t.hot, '48m');
  await t.start();
});

const resume = () => {
  try {
    process.kill(s3.pid, 'SIGCONT');
  } catch {
    // gone already
  }
};

afterAll(async () => {
  if (s3) resume();
  await t?.dispose().catch(() => undefined);
  unmountHot?.();
  await s3?.stop();
});

it('rm of a file whose upload hangs returns with its blocks free, and the move ends once the store answers', async () => {
  const size = 40 * MiB;
  await fs.writeFile(m('big'), randomBytes(size));
  const before = freeOn(t.hot);
  // The store stops answering before the move begins: its first batch's puts (about two
  // seconds in, at 8 MiB/s) hang, and so does the move.
  process.kill(s3.pid, 'SIGSTOP');
  let moveOver = false;
  let move: Promise<{ stdout: string }> | undefined;
  try {
    move = t.cli(['move', '--json', m('big'), '--to', 'cold']).finally(() => (moveOver = true));
    await eventually(async () => (await t.activeMoves()) > 0, 20_000, () => `the move never started\n${t.output}`);
    await new Promise((r) => setTimeout(r, 3000));
    const started = Date.now();
    const rm = fs.unlink(m('big'));
    const outcome = await Promise.race([rm.then(() => 'returned'), new Promise((r) => setTimeout(() => r('still waiting'), 5000))]);
    expect(outcome, `rm ${outcome} after ${Date.now() - started} ms`).toBe('returned');
    expect(freeOn(t.hot) - before, `free on hot ${freeOn(t.hot)}, ${before} before the rm`).toBeGreaterThanOrEqual(size);
    // The move was still waiting for the store: rm did not wait for it.
    expect(moveOver, 'the move ended before the store answered: no upload was under way').toBe(false);
  } finally {
    resume();
  }
  expect(JSON.parse((await move!).stdout)[0]).toMatchObject({ state: 'aborted', reason: 'file was deleted during the move' });
  await expect(fs.stat(m('big'))).rejects.toMatchObject({ code: 'ENOENT' });
  // The puts under way when it gave up landed before its partial copy was removed: nothing is left.
  const client = createS3Client(s3.clientOptions);
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key!).filter((k) => !k.startsWith('.tierfs/'))).toEqual([]);
  } finally {
    client.destroy();
  }
}, 90_000);
