// A volume that disappears under a running mount (a disk unplugged, a directory
// renamed away) makes the background work fail: classification can no longer statfs
// the tier. The daemon must keep serving the files it can still reach, say which task
// fails, and pick up again once the volume is back.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import type { BackgroundTaskStatus } from '../../src/background-task.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

interface StatusReply {
  background: { tasks: BackgroundTaskStatus[]; unhandledRejections: number };
}

const status = async (m: TierfsMount): Promise<StatusReply> => {
  const r = await m.cli(['status', '--json', m.mnt]);
  if (r.code !== 0) throw new Error(`tierfs status failed (${r.code}): ${r.stderr}\n${m.output}`);
  return JSON.parse(r.stdout) as StatusReply;
};
const taskOf = (s: StatusReply, name: string) => s.background.tasks.find((x) => x.name === name)!;

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, what: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what()}\nlast: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a volume that disappears while mounted', () => {
  it('does not take the daemon down: hot files stay readable and writable, status names the failing task, and it recovers', async () => {
    t = await new TierfsMount({
      extraYaml: `policy:
  interval: 200ms
  minResidency: 0s
  rules:
    - name: big
      match: { sizeAbove: 300KiB }
      target: warm
    - name: rest
      target: hot
`,
    }).start();
    const data = randomBytes(200_000);
    await fs.writeFile(join(t.mnt, 'a.bin'), data);
    await fs.writeFile(join(t.mnt, 'grows.bin'), 'small for now');
    // A pass has seen both files where they belong (hot) before the volume goes.
    const written = Date.now();
    const seen = await eventually(() => status(t!), (s) => Date.parse(taskOf(s, 'classify').lastSuccessAt ?? '0') > written + 50, 30_000, () => t!.output);
    expect(taskOf(seen, 'classify').failures).toBe(0);

    const away = `${t.warm}.away`;
    renameSync(t.warm, away);
    // Past the tier's statfs cache (500 ms), so no pass can still see the old volume.
    await new Promise((r) => setTimeout(r, 1000));
    // A file that grows past 300 KiB belongs on warm: each pass now needs warm's free
    // space, and statfs fails.
    const grown = randomBytes(400 * 1024);
    await fs.appendFile(join(t.mnt, 'grows.bin'), grown);
    // Several passes fail (backing off between them), and the daemon is still there.
    const failing = await eventually(() => status(t!), (s) => taskOf(s, 'classify').failures >= 3, 30_000, () => t!.output);
    const classify = taskOf(failing, 'classify');
    expect(classify.failing).toBe(true);
    expect(classify.lastError).toMatch(/ENOENT|no such file/i);
    expect(failing.background.unhandledRejections).toBe(0);

    // The mount serves hot files meanwhile: reads, overwrites, new files.
    expect((await fs.readFile(join(t.mnt, 'a.bin'))).equals(data)).toBe(true);
    const more = randomBytes(50_000);
    await fs.writeFile(join(t.mnt, 'a.bin'), more);
    expect((await fs.readFile(join(t.mnt, 'a.bin'))).equals(more)).toBe(true);
    await fs.writeFile(join(t.mnt, 'b.txt'), 'written while warm was gone');
    expect(await fs.readFile(join(t.mnt, 'b.txt'), 'utf8')).toBe('written while warm was gone');
    // One log line for a failure that repeats, not one per pass.
    const logged = t.output.split('\n').filter((l) => l.includes('"task":"classify"') && l.includes('failing')).length;
    expect(logged).toBe(1);

    // The volume comes back: the next pass succeeds, the task is healthy again.
    renameSync(away, t.warm);
    const healed = await eventually(() => status(t!), (s) => !taskOf(s, 'classify').failing, 30_000, () => t!.output);
    const after = taskOf(healed, 'classify');
    expect(after.consecutiveFailures).toBe(0);
    const settled = after.failures;
    await new Promise((r) => setTimeout(r, 1000));
    expect(taskOf(await status(t), 'classify').failures).toBe(settled);
    expect((await fs.readFile(join(t.mnt, 'a.bin'))).equals(more)).toBe(true);
    // And the work the failure held back gets done: the grown file reaches warm (the
    // failed pass had taken it off the catalog's list of changed files).
    await eventually(async () => existsSync(join(t!.warm, 'grows.bin')), Boolean, 30_000, () => t!.output);
    const grows = await fs.readFile(join(t.mnt, 'grows.bin'));
    expect(grows.equals(Buffer.concat([Buffer.from('small for now'), grown]))).toBe(true);
  });
});
