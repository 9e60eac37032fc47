// A process blocked in the mount is something an operator must be able to see: a write
// to a cold file waits for the move of that file already under way (here held at a step
// by the test hook), and while it waits `tierfs status` names the request and its age,
// and /metrics counts it. When the move goes on, the write completes and nothing waits.
import { afterAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/mount.js';
import { parseExposition } from '../helpers/exposition.js';

const cold = tempDir('tierfs-waiting-cold-');
const t = new TierfsMount({ moreTiers: fsObjectTier(cold.path), extraYaml: 'cache: { memory: 0, disk: 0 }\nmetrics: { listen: "127.0.0.1:0" }\n' });

afterAll(async () => {
  await t.dispose();
  cold.remove();
});

interface WaitingRequest {
  op: string;
  ino?: number;
  seconds: number;
}

/** Polls `pred` until it holds, or fails with `message` after `ms`. */
async function until(pred: () => Promise<boolean>, ms: number, message: () => string): Promise<void> {
  for (const end = Date.now() + ms; !(await pred()); await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() > end) throw new Error(message());
  }
}

async function status(): Promise<{ waitingRequests: WaitingRequest[] | null; metrics: { url: string | null } }> {
  const r = await t.cli(['status', '--json', t.mnt]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

it('status and /metrics show a FUSE request that waits, with its operation, inode and age', { timeout: 90_000 }, async () => {
  await t.start({ TIERFS_TEST_PAUSE_AT: 'copied' });
  const file = join(t.mnt, 'doc');
  await fs.writeFile(file, 'first words\n');
  const marker = join(t.dataDir, 'paused-copied');
  const move = async (to: string) => t.cli(['move', file, '--to', to, '--json']);

  // To the cold tier (released at its pause), then back, held at "copied".
  const toCold = move('cold');
  await waitFor(() => existsSync(marker), 20_000, () => `the move never paused\n${t.output}`);
  rmSync(marker);
  expect(JSON.parse((await toCold).stdout)[0]).toMatchObject({ state: 'done' });
  const ino = (await fs.stat(file)).ino;
  const back = move('warm');
  await waitFor(() => existsSync(marker), 20_000, () => `the move back never paused\n${t.output}`);

  // A write to the cold file must wait: its copy-up waits for the move under way.
  const writer = spawn('sh', ['-c', `echo more >> '${file}'`]);
  const written = new Promise<number | null>((r) => writer.on('exit', r));
  let seen: WaitingRequest[] = [];
  await until(
    async () => {
      seen = (await status()).waitingRequests ?? [];
      return seen.some((r) => r.ino === ino && r.seconds >= 5);
    },
    30_000,
    () => `no request of inode ${ino} waited 5 s: ${JSON.stringify(seen)}`,
  );
  const human = await t.cli(['status', t.mnt]);
  expect(human.stdout).toMatch(new RegExp(`warning: \\d+ FUSE request\\(s\\) waiting for an answer: .*of inode ${ino} \\(\\d+ s\\)`));
  const url = (await status()).metrics.url!;
  const families = parseExposition(await (await fetch(url)).text());
  expect(families.value('tierfs_fuse_requests_waiting')).toBeGreaterThanOrEqual(1);
  expect(families.value('tierfs_fuse_oldest_request_seconds')).toBeGreaterThanOrEqual(5);

  rmSync(marker);
  expect(JSON.parse((await back).stdout)[0]).toMatchObject({ state: 'done' });
  expect(await written).toBe(0);
  expect(await fs.readFile(file, 'utf8')).toBe('first words\nmore\n');
  await until(async () => ((await status()).waitingRequests ?? []).length === 0, 10_000, () => 'requests still wait after the move ended');
  const after = parseExposition(await (await fetch(url)).text());
  expect(after.value('tierfs_fuse_oldest_request_seconds')).toBe(0);
});
