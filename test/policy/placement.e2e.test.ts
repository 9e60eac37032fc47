// Automatic placement through a real mount: the classifier and the background mover
// put files where the policy says, within the mover's bandwidth limit and schedule
// windows, leave files open for writing alone until they close, and pick their queue
// up again after the daemon is killed.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';
import { eventually } from '../helpers/mount.js';

const MiB = 1 << 20;

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

interface MovesReply {
  queueLength: number;
  heldBack: string | null;
  active: { id: number }[];
  recent: { path: string; fromTier: string; toTier: string; state: string; bytes: number; startedMs: number; finishedMs: number | null; requestedBy: string }[];
}
const moves = async (m: TierfsMount): Promise<MovesReply> => JSON.parse((await m.cli(['moves', '--json', '--limit', '500', m.mnt])).stdout);
const tierOf = (m: TierfsMount, path: string) => (existsSync(join(m.hot, path)) ? 'hot' : existsSync(join(m.warm, path)) ? 'warm' : 'none');

/** Poll until `pred` holds, asynchronously (the CLI is a child process). */

/** A policy block: classify every second, no residency, the given rules and mover settings. */
function yaml(rules: string, mover = ''): string {
  return `policy:
  interval: 1s
  minResidency: 0s
  halfLife: 1d
  rules:
${rules}
mover:
  retryDelay: 1s
${mover}`;
}

const heatRules = `    - name: used
      match: { heatAbove: 3 }
      target: hot
    - name: rest
      target: warm
`;
const allWarm = `    - name: rest
      target: warm
`;

describe('automatic placement', () => {
  it('puts often-read files on hot and the rest on warm; every file reads back exactly', async () => {
    t = await new TierfsMount({ hotCapacity: '256MiB', extraYaml: yaml(heatRules) }).start();
    const files = new Map<string, Buffer>();
    for (const dir of ['src', 'src/lib', 'media']) await fs.mkdir(join(t.mnt, dir), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const path = `${['src', 'src/lib', 'media'][i % 3]}/f${i}.bin`;
      const data = randomBytes(64 * 1024 + i * 4099);
      files.set(path, data);
      await fs.writeFile(join(t.mnt, path), data);
    }
    const often = [...files.keys()].filter((_, i) => i % 4 === 0);
    for (let round = 0; round < 6; round++) for (const p of often) await fs.readFile(join(t.mnt, p));
    const want = (p: string) => (often.includes(p) ? 'hot' : 'warm');
    await eventually(
      async () => [...files.keys()].every((p) => tierOf(t!, p) === want(p)) && (await moves(t!)).queueLength === 0,
      30_000,
      () => JSON.stringify([...files.keys()].map((p) => [p, tierOf(t!, p), want(p)])),
    );
    for (const [p, data] of files) expect((await fs.readFile(join(t.mnt, p))).equals(data), p).toBe(true);
    // The decision is kept with its rule and reason for each file.
    const audit = (await moves(t)).recent.filter((m) => m.state === 'done');
    expect(audit.length).toBeGreaterThanOrEqual(files.size - often.length);
    expect(audit.every((m) => m.requestedBy === 'rule:rest' || m.requestedBy === 'rule:used')).toBe(true);
  });

  it('holds moves to the bandwidth limit (within 10%)', async () => {
    const rate = 2 * MiB;
    t = await new TierfsMount({ hotCapacity: '256MiB', extraYaml: yaml(allWarm, `  bandwidth: 2MiB\n  concurrency: 2\n`) }).start();
    // Ten seconds of moves: what a move does after its last byte (verify, fsync, commit),
    // slower on a busy machine, is a small part of them.
    const data = Array.from({ length: 5 }, () => randomBytes(4 * MiB));
    await Promise.all(data.map((d, i) => fs.writeFile(join(t!.mnt, `big${i}`), d)));
    await eventually(async () => (await moves(t!)).recent.filter((m) => m.state === 'done').length === data.length, 60_000, () => 'moves did not finish');
    const done = (await moves(t)).recent.filter((m) => m.state === 'done');
    const bytes = done.reduce((a, m) => a + m.bytes, 0);
    const seconds = (Math.max(...done.map((m) => m.finishedMs!)) - Math.min(...done.map((m) => m.startedMs))) / 1000;
    expect(bytes).toBe(20 * MiB);
    const ratio = bytes / seconds / rate;
    expect(ratio, `${(bytes / seconds / MiB).toFixed(2)} MiB/s over ${seconds.toFixed(2)} s`).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
    for (let i = 0; i < data.length; i++) expect(readFileSync(join(t.warm, `big${i}`)).equals(data[i]!)).toBe(true);
  });

  it('moves nothing outside its schedule window', async () => {
    const hhmm = (ms: number) => {
      const d = new Date(ms);
      return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    };
    const window = `  windows:\n    - { tiers: [warm], from: "${hhmm(Date.now() + 2 * 3_600_000)}", to: "${hhmm(Date.now() + 3 * 3_600_000)}" }\n`;
    t = await new TierfsMount({ hotCapacity: '256MiB', extraYaml: yaml(allWarm, window) }).start();
    for (let i = 0; i < 3; i++) await fs.writeFile(join(t.mnt, `f${i}`), `file ${i}`);
    await eventually(async () => (await moves(t!)).queueLength === 3, 15_000, () => 'the classifier did not queue the files');
    await new Promise((r) => setTimeout(r, 3000)); // several mover ticks
    const m = await moves(t);
    expect(m.recent).toEqual([]);
    expect(m.heldBack).toBe('outside the schedule window for warm');
    for (let i = 0; i < 3; i++) expect(tierOf(t, `f${i}`)).toBe('hot');
  });

  it('skips a file open for writing and moves it once it is closed', async () => {
    t = await new TierfsMount({ hotCapacity: '256MiB', extraYaml: yaml(allWarm) }).start();
    await fs.writeFile(join(t.mnt, 'closed'), 'done');
    const writer = await fs.open(join(t.mnt, 'log'), 'w');
    await writer.write('first line\n');
    await eventually(async () => tierOf(t!, 'closed') === 'warm', 15_000, () => 'the closed file did not move');
    await new Promise((r) => setTimeout(r, 2500)); // more passes and mover ticks while it is open
    expect(tierOf(t, 'log')).toBe('hot');
    const where = JSON.parse((await t.cli(['where', '--json', join(t.mnt, 'log')])).stdout)[0];
    expect(where).toMatchObject({ tier: 'hot', openForWrite: true });
    await writer.write('second line\n');
    await writer.close();
    await eventually(async () => tierOf(t!, 'log') === 'warm', 15_000, () => 'the file did not move after it was closed');
    expect(await fs.readFile(join(t.mnt, 'log'), 'utf8')).toBe('first line\nsecond line\n');
  });

  it('picks its queue up again after kill -9', async () => {
    // No rules: only the queued requests can move these files, so what moves after the
    // restart was in the queue when the daemon died. The first move is held after its
    // copy (test hook) so that the daemon dies with one move in flight and three waiting.
    t = await new TierfsMount({ hotCapacity: '256MiB', extraYaml: `mover:\n  concurrency: 1\n` }).start({ TIERFS_TEST_PAUSE_AT: 'copied' });
    const data = Array.from({ length: 4 }, () => randomBytes(MiB));
    for (let i = 0; i < data.length; i++) await fs.writeFile(join(t.mnt, `q${i}`), data[i]!);
    const queued = await t.cli(['move', '--no-wait', ...data.map((_, i) => join(t!.mnt, `q${i}`)), '--to', 'warm']);
    expect(queued.code, queued.stderr).toBe(0);
    const marker = join(t.dataDir, 'paused-copied');
    await waitFor(() => existsSync(marker), 20_000, () => `no move started\n${t!.output}`);
    const before = await moves(t);
    expect(before).toMatchObject({ queueLength: 4, active: [expect.anything()] });
    await t.kill9();
    rmSync(marker);

    await t.start();
    await eventually(async () => (await moves(t!)).queueLength === 0, 30_000, () => 'the queue did not drain after the restart');
    for (let i = 0; i < data.length; i++) {
      expect(tierOf(t, `q${i}`)).toBe('warm');
      expect((await fs.readFile(join(t.mnt, `q${i}`))).equals(data[i]!)).toBe(true);
    }
    const journal = (await moves(t)).recent;
    expect(journal.filter((m) => m.state === 'done').map((m) => m.path).sort()).toEqual(['q0', 'q1', 'q2', 'q3']);
    expect(journal.filter((m) => m.state === 'aborted')).toHaveLength(1); // the one in flight, undone at restart
    expect(journal.every((m) => m.requestedBy === 'cli')).toBe(true);
  });
});
