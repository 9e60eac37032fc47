// `tierfs umount` returns once the daemon has closed its catalog (issue 18, point 5): a
// script's next command finds it free, and nothing of the catalog is left half-written.
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

it('umount then fsck at once: the daemon stopped in order and its catalog is closed', async () => {
  t = await new TierfsMount().start();
  await fs.writeFile(join(t.mnt, 'f'), 'x');
  const u = await t.cli(['umount', t.mnt]);
  expect(u.code, u.stderr).toBe(0);
  // The daemon ran its whole stop (it logs last), not cut short by its own signal.
  expect(t.output).toMatch(/"mod":"daemon".*"msg":"unmounted"/);
  expect(existsSync(join(t.dataDir, 'daemon.pid'))).toBe(false);
  // Closed, not abandoned: SQLite folds the WAL back in and removes it only at a close.
  expect(existsSync(join(t.dataDir, 'catalog.db-wal'))).toBe(false);
  const f = await t.cli(['fsck', '--config', t.configFile]);
  expect(f.code, f.stderr + f.stdout).toBe(0);
});
