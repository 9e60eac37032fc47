// A mount with hot, warm and a cold object tier on the filesystem store (no server),
// a varied workload to write through it, and the ways a catalog gets lost.
import { expect } from 'vitest';
import * as fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { openSync, closeSync, readdirSync, rmSync, statSync, writeSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

export interface ColdMount {
  t: TierfsMount;
  coldRoot: string;
  dispose(): Promise<void>;
}

/** hot, warm, and cold (k=2, m=1 over three fs backends outside dataDir). extraYaml goes at the top level. */
export function mountWithCold(extraYaml = ''): ColdMount {
  const cold = tempDir('tierfs-recovery-cold-');
  const t = new TierfsMount({
    moreTiers: fsObjectTier(cold.path),
    extraYaml: `cache: { memory: 0, disk: 0 }\n${extraYaml}`,
  });
  return {
    t,
    coldRoot: cold.path,
    dispose: async () => {
      await t.dispose();
      cold.remove();
    },
  };
}

export async function moveTo(t: TierfsMount, path: string, tier: string): Promise<void> {
  const r = await t.cli(['move', '--json', join(t.mnt, path), '--to', tier]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  expect(JSON.parse(r.stdout)[0].state).toBe('done');
}

export async function tierOf(t: TierfsMount, path: string): Promise<string | null> {
  const r = await t.cli(['where', '--json', join(t.mnt, path)]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout)[0].tier;
}

/**
 * Files on every tier kind, owners and modes, a hard link, and directories: what a
 * rebuild from the tiers alone must bring back. Returns the paths it put on cold.
 */
export async function writeFiles(t: TierfsMount, prefix = ''): Promise<string[]> {
  const m = (p: string) => join(t.mnt, prefix, p);
  await fs.mkdir(m('docs/deep'), { recursive: true });
  await fs.writeFile(m('docs/hot.txt'), randomBytes(10_000));
  await fs.chown(m('docs/hot.txt'), 1234, 5678);
  await fs.chmod(m('docs/hot.txt'), 0o640);
  await fs.link(m('docs/hot.txt'), m('docs/hot-link'));
  await fs.writeFile(m('docs/deep/striped.bin'), randomBytes(3 * 64 * 1024 + 17));
  await fs.chmod(m('docs/deep/striped.bin'), 0o600);
  await fs.writeFile(m('docs/small-cold'), randomBytes(1000));
  await fs.chown(m('docs/small-cold'), 42, 43);
  await fs.writeFile(m('warm.bin'), randomBytes(70_000));
  const cold = ['docs/deep/striped.bin', 'docs/small-cold'].map((p) => join(prefix, p));
  for (const p of cold) await moveTo(t, p, 'cold');
  await moveTo(t, join(prefix, 'warm.bin'), 'warm');
  return cold;
}

/** Remove the catalog and its WAL, as a lost disk or a careless rm would. */
export function deleteCatalog(t: TierfsMount): void {
  for (const f of readdirSync(t.dataDir)) if (f.startsWith('catalog.db')) rmSync(join(t.dataDir, f));
}

/** Overwrite one page in the middle of the catalog with garbage (after a clean unmount, so the WAL is folded in). */
export function damageCatalogPage(t: TierfsMount): void {
  const path = join(t.dataDir, 'catalog.db');
  const pages = Math.floor(statSync(path).size / 4096);
  expect(pages).toBeGreaterThan(4);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 4096 * Math.floor(pages / 2));
  closeSync(fd);
}

export function truncateCatalog(t: TierfsMount): void {
  const path = join(t.dataDir, 'catalog.db');
  truncateSync(path, Math.floor(statSync(path).size / 4096 / 2) * 4096);
}

export function setXattr(path: string, name: string, value: string): void {
  execFileSync('setfattr', ['-n', name, '-v', value, path]);
}
