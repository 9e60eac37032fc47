// A file deleted while the mover copies it away: the move stops at once (not when its
// throttled copy would have ended), drops its partial copy, and on a volume short of
// room `rm` returns with the file's blocks free — the move's open source held them.
// hot is a 16 MiB tmpfs volume; the mover copies 1 MiB a second, to warm (a local tier)
// or to cold (an object tier over fs backends).
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fsObjectTier, TierfsMount } from '../helpers/tierfs.js';
import { eventually, freeBytes as freeOn, tmpfsAt } from '../helpers/mount.js';
import { tempDir } from '../helpers/tmp.js';
import { filesUnder } from '../helpers/tree.js';

const MiB = 1 << 20;
let t: TierfsMount;
let unmountHot: (() => void) | undefined;
let cold: ReturnType<typeof tempDir>;
const m = (p: string) => join(t.mnt, p);
const moving = async () => (await t.activeMoves()) > 0;

beforeAll(async () => {
  cold = tempDir('tierfs-rm-during-move-cold-');
  t = new TierfsMount({ extraYaml: 'mover:\n  bandwidth: 1MiB\n', moreTiers: fsObjectTier(cold.path, { chunkSize: '1MiB' }) });
  unmountHot = tmpfsAt(t.hot, '16m');
  await t.start();
});

afterAll(async () => {
  await t?.dispose().catch(() => undefined);
  unmountHot?.();
  cold?.remove();
});

it.each(['warm', 'cold'])('rm of a file being moved off a full volume to %s stops the move and frees the blocks before it returns', async (to) => {
  const size = 12 * MiB;
  await fs.writeFile(m(`big-${to}`), randomBytes(size));
  const before = freeOn(t.hot);
  expect(before, 'the file fills the volume').toBeLessThan(size);
  const started = Date.now();
  const move = t.cli(['move', '--json', m(`big-${to}`), '--to', to]);
  // The copy is under way (at 1 MiB a second, most of it still to come).
  await eventually(moving, 20_000, () => `the copy never started\n${t.output}`);
  await new Promise((r) => setTimeout(r, 1000));
  await fs.unlink(m(`big-${to}`));
  const rmReturned = Date.now();
  // The volume has the file's room back as rm returns: no descriptor holds its blocks.
  expect(freeOn(t.hot) - before, `free on hot ${freeOn(t.hot)} bytes, ${before} before the rm`).toBeGreaterThanOrEqual(size);
  const r = await move;
  const outcome = JSON.parse(r.stdout)[0];
  expect(outcome).toMatchObject({ state: 'aborted', reason: 'file was deleted during the move' });
  // Stopped, not run to its end: the throttled copy had most of 12 s left.
  const tookMs = Date.now() - rmReturned;
  expect(tookMs, `the move ended ${tookMs} ms after the rm (which came ${rmReturned - started} ms after the move began)`).toBeLessThan(5_000);
  // Its partial copy is gone: nothing on warm, no object left on cold's backends.
  expect(readdirSync(join(t.warm, '.tierfs-tmp'))).toEqual([]);
  expect(filesUnder(cold.path)).toEqual([]);
  await expect(fs.stat(m(`big-${to}`))).rejects.toMatchObject({ code: 'ENOENT' });
});

it('a rename over a file being moved off a full volume stops the move and frees the blocks before it returns', async () => {
  const size = 12 * MiB;
  await fs.writeFile(m('log'), randomBytes(size));
  await fs.writeFile(m('log.new'), 'new');
  const before = freeOn(t.hot);
  expect(before, 'the file fills the volume').toBeLessThan(size);
  const move = t.cli(['move', '--json', m('log'), '--to', 'warm']);
  await eventually(moving, 20_000, () => `the copy never started\n${t.output}`);
  await new Promise((r) => setTimeout(r, 1000));
  await fs.rename(m('log.new'), m('log'));
  const renamed = Date.now();
  expect(freeOn(t.hot) - before, `free on hot ${freeOn(t.hot)} bytes, ${before} before the rename`).toBeGreaterThanOrEqual(size - 64 * 1024);
  expect(JSON.parse((await move).stdout)[0]).toMatchObject({ state: 'aborted', reason: 'file was deleted during the move' });
  expect(Date.now() - renamed).toBeLessThan(5_000);
  expect(await fs.readFile(m('log'), 'utf8')).toBe('new');
  expect(readdirSync(join(t.warm, '.tierfs-tmp'))).toEqual([]);
});
