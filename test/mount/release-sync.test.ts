// A release is answered by the binding, with the backing file's fstat taken on a FUSE
// thread; JavaScript records size and times from it later. A change JavaScript makes in
// between (utimes or truncate right after close, as tar -x, rsync and cp -p do) must not
// be overwritten by that older stat. The binding is made to hold each release 50 ms after
// its fstat (a FUSE thread slow to hand it over), so that the change comes first.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

it('keeps times and sizes set right after a close', { timeout: 120_000 }, async () => {
  t = await new TierfsMount().start({ TIERFS_TEST_RELEASE_DELAY_MS: '50' });
  const when = new Date('2001-02-03T04:05:06Z');
  const files = Array.from({ length: 40 }, (_, i) => join(t!.mnt, `f${i}`));
  await Promise.all(
    files.map(async (f, i) => {
      await fs.writeFile(f, 'x'.repeat(1000 + i));
      if (i % 2 === 0) await fs.utimes(f, when, when);
      else await fs.truncate(f, 10);
    }),
  );
  await new Promise((r) => setTimeout(r, 1000)); // every release handled
  for (const [i, f] of files.entries()) {
    const st = await fs.stat(f);
    if (i % 2 === 0) expect([f, st.mtimeMs]).toEqual([f, when.getTime()]);
    else expect([f, st.size]).toEqual([f, 10]);
  }
  // and as the catalog has them, after a remount
  await t.stop();
  await t.start();
  for (const [i, f] of files.entries()) {
    const st = await fs.stat(f);
    if (i % 2 === 0) expect([f, st.mtimeMs]).toEqual([f, when.getTime()]);
    else expect([f, st.size]).toEqual([f, 10]);
  }
});
