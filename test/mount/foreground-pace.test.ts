// The mover's pace is measured on the threads that serve the mount: while a reader keeps
// the mount busy, its wait per wake-up and the baseline are metrics (one source for
// Prometheus, the history and the CLI), and with no move running the pace is whole.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** A mount every read reaches the daemon on: no passthrough, no page cache. */
async function readerMount(extraYaml?: string): Promise<TierfsMount> {
  const m = new TierfsMount({ passthrough: 'off', extraYaml });
  writeFileSync(m.configFile, readFileSync(m.configFile, 'utf8').replace('mount:\n', 'mount:\n  pageCache: none\n'));
  return m.start();
}

it('the serving threads\' wait per wake-up is measured while the mount is read, and the pace stays whole without moves', async () => {
  t = await readerMount();
  const file = join(t.mnt, 'f');
  await fs.writeFile(file, randomBytes(1 << 20));
  const url = await t.metricsUrl();

  const fh = await fs.open(file, 'r');
  const buf = Buffer.alloc(4096);
  let reads = 0;
  try {
    // Two seconds of 4 KiB reads (thousands of requests: every half-second window has enough).
    for (const end = Date.now() + 2000; Date.now() < end; reads++) await fh.read(buf, 0, 4096, ((reads * 7919) % 256) * 4096);
    const m = await t.scrape(url);
    const wait = m.value('tierfs_fuse_wakeup_wait_seconds', {});
    const baseline = m.value('tierfs_fuse_wakeup_wait_baseline_seconds', {});
    expect(reads).toBeGreaterThan(1000);
    // Microseconds: above zero (threads do wait to be run), far below a millisecond.
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThan(0.01);
    expect(baseline).toBeGreaterThan(0);
    expect(m.value('tierfs_mover_pace_ratio', {})).toBe(1);
  } finally {
    await fh.close();
  }
});

it('a move during which the mount\'s requests wait longer slows down, and tierfs moves says why', async () => {
  // Any rise above the baseline counts (a headroom of 0.01%), so a move under reads slows at once.
  t = await readerMount('mover:\n  bandwidth: 2MiB\n  foregroundHeadroom: 0.0001\n');
  const file = join(t.mnt, 'f');
  await fs.writeFile(file, randomBytes(1 << 20));
  await fs.writeFile(join(t.mnt, 'big'), randomBytes(16 << 20));
  execFileSync('sync'); // the writes' flush is not part of the baseline
  const url = await t.metricsUrl();
  const fh = await fs.open(file, 'r');
  const buf = Buffer.alloc(4096);
  let reading = true;
  const reader = (async () => {
    for (let i = 0; reading; i++) await fh.read(buf, 0, 4096, ((i * 7919) % 256) * 4096);
  })();
  // How much the mover's own work adds to the wait depends on the machine and on what else
  // runs on it (another test file does, in the suite), so the test makes the rise certain:
  // while the move runs, a busy process per CPU makes every wake-up wait for a time slice.
  const busy: ChildProcess[] = [];
  try {
    // Windows without moves: the baseline, learnt from the reads alone.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await t.scrape(url)).value('tierfs_fuse_wakeup_wait_baseline_seconds', {})).toBeGreaterThan(0);
    expect((await t.cli(['move', '--no-wait', join(t.mnt, 'big'), '--to', 'warm'])).code).toBe(0);
    for (let i = 0; i < availableParallelism(); i++) busy.push(spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
    let said = '';
    let text = '';
    // The JSON and the text are two calls: the pace may be whole again between them (the
    // reader's requests wait less for a moment), so both are asked until both show it.
    const paced = /^mover paced to \d+% of the bandwidth/m;
    for (const end = Date.now() + 20_000; !(said && paced.test(text)) && Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
      said = (JSON.parse((await t.cli(['moves', '--json', t.mnt])).stdout) as { slowedBy: string | null }).slowedBy ?? '';
      if (said) text = (await t.cli(['moves', t.mnt])).stdout;
    }
    // What the pace saw, should it not have slowed down.
    const m = await t.scrape(url);
    const seen = ['tierfs_fuse_wakeup_wait_seconds', 'tierfs_fuse_wakeup_wait_baseline_seconds', 'tierfs_mover_pace_ratio'].map((n) => `${n} ${m.value(n, {})}`).join(', ');
    expect(said, seen).toMatch(/^paced to \d+% of the bandwidth/);
    expect(text, seen).toMatch(paced);
  } finally {
    for (const b of busy) b.kill('SIGKILL');
    reading = false;
    await reader;
    await fh.close();
  }
});
