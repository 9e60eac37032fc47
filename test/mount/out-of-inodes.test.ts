// A local tier whose filesystem runs out of inodes (many small files) while it has bytes
// to spare is full for new files: they go to the next tier, as when its bytes run out —
// with the creates the binding answers and with JavaScript's.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount | undefined;
let hotFs: string | undefined;
afterEach(async () => {
  await t?.stop();
  if (hotFs) execFileSync('umount', ['-l', hotFs]);
  await t?.dispose();
  t = undefined;
  hotFs = undefined;
});

for (const nativeCreates of [true, false]) {
  it(`new files go to the next tier once the first is out of inodes (creates by ${nativeCreates ? 'the binding' : 'JavaScript'})`, { timeout: 120_000 }, async () => {
    t = new TierfsMount({ nativeCreates });
    mkdirSync(t.hot, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,nr_inodes=48', 'tierfs-test', t.hot]);
    hotFs = t.hot;
    await t.start();
    await fs.mkdir(join(t.mnt, 'd'));
    for (let i = 0; i < 100; i++) await fs.writeFile(join(t.mnt, 'd', `f${i}`), `file ${i}`);
    const names = await fs.readdir(join(t.mnt, 'd'));
    expect(names.length).toBe(100);
    for (let i = 0; i < 100; i += 9) expect(await fs.readFile(join(t.mnt, 'd', `f${i}`), 'utf8')).toBe(`file ${i}`);
    const onHot = readdirSync(join(t.hot, 'd')).length;
    const onWarm = readdirSync(join(t.warm, 'd')).length;
    expect(onHot).toBeGreaterThan(0);
    expect(onHot).toBeLessThan(48);
    expect(onHot + onWarm).toBe(100);
  });
}
