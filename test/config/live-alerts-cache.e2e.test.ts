// Alerts and recall caches change on a running mount through `tierfs config apply`: a
// rule's threshold and `for:`, the evaluation interval and a new webhook take effect
// without a remount (the webhook hears the alert the new threshold fires), a rule turned
// off stops being watched, and the memory cache shrinks to its new size at once; turning
// a cache off is refused, with the reason, and the running configuration stays.
import { afterEach, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { parseExposition } from '../helpers/exposition.js';
import { eventually } from '../helpers/mount.js';

let t: TierfsMount | undefined;
let cold: ReturnType<typeof tempDir> | undefined;
let server: Server | undefined;
afterEach(async () => {
  await t?.dispose();
  cold?.remove();
  server?.close();
  [t, cold, server] = [undefined, undefined, undefined];
});

const apply = async (m: TierfsMount, text: string) => {
  const file = join(m.root, 'next.yaml');
  writeFileSync(file, text);
  return m.cli(['config', 'apply', file, '--yes', '--json', '--mount', m.mnt]);
};


interface AlertsJson {
  rules: { name: string; enabled: boolean; forMs: number; threshold: number | null }[];
  active: { rule: string; state: string }[];
  webhooks: string[];
}
const alerts = async (m: TierfsMount): Promise<AlertsJson> => JSON.parse((await m.cli(['alerts', '--json', m.mnt])).stdout);

it('a new threshold, interval and webhook apply live; a rule turned off is no longer watched', { timeout: 120_000 }, async () => {
  const heard: { alert: string; state: string }[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      heard.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  t = await new TierfsMount({ hotCapacity: '1MiB' }).start();
  await fs.writeFile(join(t.mnt, 'f'), randomBytes(200 * 1024)); // hot is 20% full
  const before = await alerts(t);
  expect(before.rules.find((r) => r.name === 'TierfsTierAlmostFull')).toMatchObject({ enabled: true, threshold: 0.95 });
  expect(before.webhooks).toEqual([]);

  const base = readFileSync(t.configFile, 'utf8');
  const loud = `${base}alerts:\n  interval: 100ms\n  rules:\n    TierfsTierAlmostFull: { for: 0s, threshold: 10% }\n  webhooks:\n    - { url: "${url}", name: test-hook }\n`;
  const applied = await apply(t, loud);
  expect(applied.code, applied.stderr).toBe(0);
  expect(JSON.parse(applied.stdout).applied).toBe(true);

  // Fired under the new threshold within the new interval, and the new webhook heard it.
  await eventually(() => heard.some((n) => n.alert === 'TierfsTierAlmostFull' && n.state === 'firing'), 20_000, () => `webhook heard ${JSON.stringify(heard)}`);
  const now = await alerts(t);
  expect(now.rules.find((r) => r.name === 'TierfsTierAlmostFull')).toMatchObject({ enabled: true, threshold: 0.1, forMs: 0 });
  expect(now.webhooks).toEqual(['test-hook']);
  expect(now.active).toContainEqual(expect.objectContaining({ rule: 'TierfsTierAlmostFull', state: 'firing' }));

  // Turned off: its alert is forgotten, and the rule shows as off.
  const quiet = loud.replace('TierfsTierAlmostFull: { for: 0s, threshold: 10% }', 'TierfsTierAlmostFull: off');
  const off = await apply(t, quiet);
  expect(off.code, off.stderr).toBe(0);
  const after = await alerts(t);
  expect(after.rules.find((r) => r.name === 'TierfsTierAlmostFull')).toMatchObject({ enabled: false });
  expect(after.active.filter((a) => a.rule === 'TierfsTierAlmostFull')).toEqual([]);
});

it('the memory recall cache shrinks to a new size at once; turning it off is refused and changes nothing', { timeout: 120_000 }, async () => {
  cold = tempDir('tierfs-live-cache-cold-');
  t = await new TierfsMount({
    moreTiers: fsObjectTier(cold.path, { chunkSize: '256KiB' }),
    extraYaml: 'cache: { memory: 8MiB, disk: 0 }\nmetrics: { listen: "127.0.0.1:0" }\n',
  }).start();
  const data = randomBytes(6 * 1024 * 1024);
  await fs.writeFile(join(t.mnt, 'big'), data);
  expect((await t.cli(['move', join(t.mnt, 'big'), '--to', 'cold'])).code).toBe(0);
  expect((await fs.readFile(join(t.mnt, 'big'))).equals(data)).toBe(true);
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  const memoryCache = async () => parseExposition(await (await fetch(status.metrics.url)).text()).value('tierfs_recall_cache_bytes', { layer: 'memory' }) ?? NaN;
  expect(await memoryCache()).toBeGreaterThan(4 * 1024 * 1024);

  const base = readFileSync(t.configFile, 'utf8');
  const smaller = await apply(t, base.replace('memory: 8MiB', 'memory: 1MiB'));
  expect(smaller.code, smaller.stderr).toBe(0);
  expect(await memoryCache()).toBeLessThanOrEqual(1024 * 1024);
  expect((await fs.readFile(join(t.mnt, 'big'))).equals(data)).toBe(true); // still reads, through the smaller cache
  expect(await memoryCache()).toBeLessThanOrEqual(1024 * 1024);

  const running = readFileSync(t.configFile, 'utf8');
  const offRefused = await apply(t, running.replace('memory: 1MiB', 'memory: 0'));
  expect(offRefused.code).not.toBe(0);
  expect(offRefused.stderr).toContain('cache.memory: turning a recall cache off needs a remount');
  expect(readFileSync(t.configFile, 'utf8')).toBe(running);
});
