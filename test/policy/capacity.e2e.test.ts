// Capacity pressure through a real mount: hot and warm local tiers with capacities and
// a cold tier on a local-filesystem object store, the classifier and the background
// mover running as a user would have them.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

const MB = 1_000_000;
const KiB = 1024;

let t: TierfsMount | undefined;
let coldRoot: ReturnType<typeof tempDir> | undefined;
afterEach(async () => {
  await t?.dispose();
  coldRoot?.remove();
  t = coldRoot = undefined;
});

/** hot and warm with the given capacities (watermarks 75–90%, the defaults), and a cold object tier. */
function mount(hot: string, warm: string, policy: string, coldCapacity?: string): TierfsMount {
  coldRoot = tempDir('tierfs-capacity-cold-');
  return new TierfsMount({
    hotCapacity: hot,
    warmCapacity: warm,
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: 256KiB
    smallFileThreshold: 4KiB
${coldCapacity ? `    capacity: ${coldCapacity}\n` : ''}    backends:
      - { name: a, type: fs, root: ${coldRoot.path}/a }
      - { name: b, type: fs, root: ${coldRoot.path}/b }
      - { name: c, type: fs, root: ${coldRoot.path}/c }
`,
    extraYaml: `cache: { memory: 0, disk: 0 }
${policy}mover:
  retryDelay: 1s
${policy ? '' : '  enabled: false\n'}`,
  });
}

interface TierStatus {
  name: string;
  usedBytes: number;
  capacityBytes: number;
  pressure: string | null;
}
interface Status {
  tiers: TierStatus[];
  queue: { length: number };
  admission: string | null;
}
interface Where {
  tier: string;
  capacity: string | null;
  placement: { inputs: { heat: number } };
}
const status = async (): Promise<Status> => JSON.parse((await t!.cli(['status', '--json', t!.mnt])).stdout);
/** tierfs where for several files at once (each CLI run costs a process start). */
const where = async (...paths: string[]): Promise<Map<string, Where>> => {
  const out: Where[] = JSON.parse((await t!.cli(['where', '--json', ...paths.map((p) => join(t!.mnt, p))])).stdout);
  return new Map(paths.map((p, i) => [p, out[i]!]));
};
const share = (s: Status, tier: string) => {
  const x = s.tiers.find((y) => y.name === tier)!;
  return x.usedBytes / x.capacityBytes;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readTimes = async (p: string, n: number) => {
  for (let i = 0; i < n; i++) await fs.readFile(join(t!.mnt, p));
};

/** Poll until the queue is empty and `pred` holds for the status. */
async function settle(pred: (s: Status) => boolean, timeoutMs: number): Promise<Status> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await status();
    if (s.queue.length === 0 && pred(s)) return s;
    if (Date.now() > end) throw new Error(`did not settle: ${JSON.stringify(s)}\n${t!.output}`);
    await sleep(250);
  }
}

describe('capacity pressure through a mount', () => {
  it('the issue: relief stops between the watermarks and keeps the two files in use on hot', async () => {
    t = await mount('10MiB', '10MiB', 'policy:\n  minResidency: 0s\n  interval: 2s\n').start();
    // f7 and f8 are written first (the oldest: age alone would demote them first), and
    // read 20 times each; the others are never read. Nine files are 85.8% of hot, the
    // tenth takes it over its high watermark.
    const names = ['f7', 'f8', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f9'];
    for (const n of names.slice(0, 9)) await fs.writeFile(join(t.mnt, n), randomBytes(MB));
    await readTimes('f7', 20);
    await readTimes('f8', 20);
    await fs.writeFile(join(t.mnt, 'f9'), randomBytes(MB));

    const inBand = (s: Status) => share(s, 'hot') >= 0.75 && share(s, 'hot') <= 0.9;
    await settle(inBand, 30_000);
    // Several more passes (2 s apart) with the moves done: nothing else may leave.
    await sleep(7000);
    const s = await settle(inBand, 10_000);
    expect(share(s, 'hot')).toBeCloseTo((8 * MB) / (10 * 2 ** 20), 3); // two files left: 76.3%
    const w = await where(...names);
    expect(w.get('f7')!.tier).toBe('hot');
    expect(w.get('f8')!.tier).toBe('hot');

    // tierfs where says what pressure did: the two coldest went, the coldest first.
    expect(names.filter((n) => w.get(n)!.tier !== 'hot')).toEqual(['f0', 'f1']);
    expect(w.get('f0')!.capacity).toMatch(/^demoted by the hot watermark: the coldest file on hot \(hot at 95\.4%, above its high watermark 90%/);
    expect(w.get('f1')!.capacity).toMatch(/^demoted by the hot watermark: 1 colder file went first/);
    expect(w.get('f7')!.capacity).toBe('held: the tier is below its high watermark (hot at 76.3%, high 90%)');
    const text = (await t.cli(['where', join(t.mnt, 'f8')])).stdout;
    expect(text).toMatch(/capacity: held: the tier is below its high watermark/);
  }, 240_000); // a CLI run per poll: slow on a busy machine

  it('a burst of writes into a full hot tier: no ENOSPC while a tier has space, and the coldest files leave first', async () => {
    t = await mount('4MiB', '8MiB', 'policy:\n  minResidency: 1d\n  interval: 1s\n').start();
    const size = 256 * KiB;
    // 12 files, 75% of hot; p{i} opened i more times than p{i-1}.
    for (let i = 0; i < 12; i++) await fs.writeFile(join(t.mnt, `p${i}`), randomBytes(size));
    for (let i = 0; i < 12; i++) await readTimes(`p${i}`, i);
    // The burst: 34 files, 8.5 MiB. Hot passes its high watermark after three, warm after
    // 29 more; the last two go where there is space (12 MiB of local tiers hold them all).
    const burst = Array.from({ length: 34 }, (_, i) => `b${i}`);
    const failures: string[] = [];
    for (const b of burst) await fs.writeFile(join(t.mnt, b), randomBytes(size)).catch((err: Error) => failures.push(`${b}: ${err.message}`));
    expect(failures).toEqual([]);

    const s = await settle((x) => share(x, 'hot') <= 0.9 && share(x, 'warm') <= 0.9, 60_000);
    expect(share(s, 'hot')).toBeGreaterThanOrEqual(0.75 - size / (4 * 2 ** 20)); // not drained below low by more than a file
    expect(t.output).toMatch(/every local tier is above its high watermark: new files go where there is space/);

    // The coldest left first, whatever their residency (1d: every file here is young).
    const all = [...Array.from({ length: 12 }, (_, i) => `p${i}`), ...burst];
    const w = await where(...all);
    const facts = all.map((p) => ({ p, ...w.get(p)! }));
    const onHot = facts.filter((f) => f.tier === 'hot');
    const demoted = facts.filter((f) => f.capacity?.startsWith('demoted by the hot watermark'));
    expect(demoted.length).toBeGreaterThan(0);
    expect(demoted.every((f) => f.capacity!.includes('minimum residency waived'))).toBe(true);
    const coolestKept = Math.min(...onHot.map((f) => f.placement.inputs.heat));
    for (const d of demoted) expect(d.placement.inputs.heat, `${d.p} left hot while a colder file stayed`).toBeLessThanOrEqual(coolestKept);
    for (let i = 6; i < 12; i++) expect(facts.find((f) => f.p === `p${i}`)!.tier, `p${i}`).toBe('hot');
    expect(facts.some((f) => f.tier === 'cold')).toBe(true);
  }, 240_000);

  it('a cold file opened for writing while every local tier is above its high watermark comes back where there is space', async () => {
    // No automatic moves: nothing makes room while the file is opened.
    t = await mount('1MiB', '1MiB', '').start();
    const m = (p: string) => join(t!.mnt, p);
    const cold = randomBytes(50_000);
    await fs.writeFile(m('c.bin'), cold);
    expect((await t.cli(['move', m('c.bin'), '--to', 'cold'])).code).toBe(0);
    // 8 × 240 KiB: hot and warm each end with 960 KiB of 1 MiB, above the 90% high watermark.
    for (let i = 0; i < 8; i++) await fs.writeFile(m(`f${i}`), randomBytes(240 * KiB));
    const s = await status();
    expect(share(s, 'hot')).toBeGreaterThan(0.9);
    expect(share(s, 'warm')).toBeGreaterThan(0.9);
    // 50 kB still fit on hot (64 KiB left): the write goes through, no ENOSPC.
    const fh = await fs.open(m('c.bin'), 'r+');
    try {
      await fh.write(Buffer.from('changed'), 0);
    } finally {
      await fh.close();
    }
    expect((await where('c.bin')).get('c.bin')!.tier).toBe('hot');
    const back = await fs.readFile(m('c.bin'));
    expect(back.subarray(0, 7).toString()).toBe('changed');
    expect(back.subarray(7).equals(cold.subarray(7))).toBe(true);
  }, 120_000);

  it('a manual move into a capped object tier stops at its high watermark, and says so', async () => {
    t = await mount('4MiB', '4MiB', '', '1MiB').start();
    const m = (p: string) => join(t!.mnt, p);
    await fs.writeFile(m('fits'), randomBytes(600 * KiB));
    await fs.writeFile(m('too-much'), randomBytes(400 * KiB));
    expect((await t.cli(['move', m('fits'), '--to', 'cold'])).code).toBe(0);
    // 600 + 400 KiB is past 90% of 1 MiB.
    const r = await t.cli(['move', '--json', m('too-much'), '--to', 'cold']);
    expect(r.stdout + r.stderr).toMatch(/tier cold has no room below its high watermark/);
    expect((await where('fits', 'too-much'))).toEqual(new Map([['fits', expect.objectContaining({ tier: 'cold' })], ['too-much', expect.objectContaining({ tier: 'hot' })]]));
  }, 120_000);
});
