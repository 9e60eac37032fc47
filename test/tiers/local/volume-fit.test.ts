// A file goes to one volume of a tier: a tier of several volumes has room for a file only
// if one of them has, whatever their free space adds up to; and a volume out of inodes
// takes no new file, whatever bytes it has left.
import { afterEach, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTier } from '../../../src/tiers/local/local-tier.js';
import { freeBytes, tmpfsAt } from '../../helpers/mount.js';
import { tempDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.reverse()) f();
  cleanup = [];
});

function volumes(...mounts: string[]): string[] {
  const dir = tempDir('tierfs-volume-fit-');
  cleanup.push(() => dir.remove());
  return mounts.map((options, i) => {
    const v = join(dir.path, `v${i}`);
    mkdirSync(v);
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tierfs-test', v]);
    cleanup.push(() => execFileSync('umount', ['-l', v]));
    return v;
  });
}

const tierOn = (paths: string[]) =>
  new LocalTier({ name: 'warm', kind: 'local', volumes: paths.map((path) => ({ path })), watermarks: { high: 0.9, low: 0.75 } }, { tighten: false });

it('a file larger than every volume\'s free space has no room, though the volumes have it together', () => {
  const [a, b] = volumes('size=8m', 'size=8m');
  writeFileSync(join(a!, 'filler'), Buffer.alloc(6 * MiB));
  writeFileSync(join(b!, 'filler'), Buffer.alloc(5 * MiB));
  const tier = tierOn([a!, b!]);
  const u = tier.usage(0);
  expect(u.freeBytes).toBe(freeBytes(a!) + freeBytes(b!));
  expect(u.fitBytes).toBe(freeBytes(b!));
  expect(tier.hasSpace(0, 2 * MiB)).toBe(true);
  expect(tier.hasSpace(0, 4 * MiB)).toBe(false); // 5 MiB free together, 3 at most on one
  expect(tier.pickVolume()).toBe(b);
});

it('a volume out of inodes takes no new file: the tier places on its other volume, or has no room', () => {
  const [full, other] = volumes('size=8m,nr_inodes=4', 'size=8m');
  for (let i = 0; writeFileSafely(join(full!, `f${i}`)); i++);
  const both = tierOn([full!, other!]);
  expect(both.pickVolume()).toBe(other);
  expect(both.usage(0).fitBytes).toBe(freeBytes(other!));
  const alone = tierOn([full!]);
  expect(alone.usage(0).fitBytes).toBe(0);
  expect(alone.hasSpace(0, 0)).toBe(false);
});

function writeFileSafely(path: string): boolean {
  try {
    writeFileSync(path, 'x');
    return true;
  } catch {
    return false;
  }
}
