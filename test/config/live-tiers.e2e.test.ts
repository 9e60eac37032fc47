// Tiers and backends change on a running mount through `tierfs config apply`: a cold tier
// added after the last one is opened and used by the policy without a remount; a
// backend's new connection is taken only once it has written, read and removed a test
// object and found an object its tier holds — a store it cannot write to, an empty place
// or wrong credentials are refused, and the running configuration and file stay.
import { afterEach, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ALL_ON_HOT, TierfsMount, fsObjectTier } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { eventually } from '../helpers/mount.js';
import { parseExposition } from '../helpers/exposition.js';
import { adminJson, socketPathOf } from '../../src/admin/client.js';

let t: TierfsMount | undefined;
let dirs: ReturnType<typeof tempDir>[] = [];
let s3: S3Server | undefined;
afterEach(async () => {
  await t?.dispose();
  for (const d of dirs) d.remove();
  await s3?.stop();
  [t, dirs, s3] = [undefined, [], undefined];
});

const dir = () => {
  const d = tempDir('tierfs-live-tier-');
  dirs.push(d);
  return d.path;
};

const apply = async (m: TierfsMount, text: string) => {
  const file = join(m.root, 'next.yaml');
  writeFileSync(file, text);
  return m.cli(['config', 'apply', file, '--yes', '--json', '--mount', m.mnt]);
};

const where = async (m: TierfsMount, p: string) => JSON.parse((await m.cli(['where', '--json', join(m.mnt, p)])).stdout)[0] as { tier: string };


const files = (root: string): string[] =>
  existsSync(root) ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)) : [];

const POLICY = ALL_ON_HOT;

it('a cold tier added after the last one is opened, shown and used by a new rule without a remount', { timeout: 120_000 }, async () => {
  const cold = dir();
  t = await new TierfsMount({ extraYaml: POLICY }).start();
  const log = randomBytes(300_000);
  await fs.writeFile(join(t.mnt, 'a.log'), log);
  await fs.writeFile(join(t.mnt, 'b.txt'), 'stays');

  const base = readFileSync(t.configFile, 'utf8');
  const next = base
    .replace('\nmount:\n', `\n${fsObjectTier(cold)}mount:\n`)
    .replace('  rules:\n', '  rules:\n    - name: logs\n      match: { path: ["*.log"] }\n      target: cold\n');
  // The dry run already knows the new tier: a.log would go there.
  writeFileSync(join(t.root, 'dry.yaml'), next);
  const dry = await t.cli(['config', 'apply', join(t.root, 'dry.yaml'), '--dry-run', '--json', '--mount', t.mnt]);
  expect(dry.code, dry.stderr).toBe(0);
  expect(JSON.parse(dry.stdout).impact.flows).toEqual([expect.objectContaining({ from: 'hot', to: 'cold', files: 1, bytes: 300_000, paths: ['a.log'] })]);

  const applied = await apply(t, next);
  expect(applied.code, applied.stderr).toBe(0);
  expect(JSON.parse(applied.stdout).applied).toBe(true);

  await eventually(async () => (await where(t!, 'a.log')).tier === 'cold', 30_000, () => t!.output.slice(-3000));
  expect(await fs.readFile(join(t.mnt, 'a.log'))).toEqual(log);
  expect((await where(t, 'b.txt')).tier).toBe('hot');
  expect(files(cold).length).toBeGreaterThan(0);
  const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
  expect(status.tiers.map((x: { name: string }) => x.name)).toEqual(['hot', 'warm', 'cold']);
  expect(status.tiers[2]).toMatchObject({ name: 'cold', files: 1 });
  // Prometheus sees the new tier as the CLI does (one source for both).
  const metrics = parseExposition(await (await fetch(status.metrics.url)).text());
  expect(metrics.value('tierfs_tier_files', { tier: 'cold' })).toBe(1);
  expect(metrics.value('tierfs_tier_used_bytes', { tier: 'cold' })).toBe(300_000);
});

it("a backend's new root is taken once it holds the tier's objects; an empty or unwritable one is refused", { timeout: 120_000 }, async () => {
  const cold = dir();
  t = await new TierfsMount({ moreTiers: fsObjectTier(cold), pageCache: 'none', extraYaml: 'cache: { memory: 0, disk: 0 }\n' }).start();
  const data = randomBytes(500_000);
  await fs.writeFile(join(t.mnt, 'f'), data);
  const moved = await t.cli(['move', '--to', 'cold', join(t.mnt, 'f')]);
  expect(moved.code, moved.stderr).toBe(0);
  const base = readFileSync(t.configFile, 'utf8');

  // An empty place: the test object goes in and out, but the tier's objects are not there.
  const empty = dir();
  const refusedEmpty = await apply(t, base.replaceAll(`${cold}/a`, empty));
  expect(refusedEmpty.code, refusedEmpty.stdout + t.output.slice(-3000)).not.toBe(0);
  expect(refusedEmpty.stderr).toMatch(/tiers\.cold\.backends\[0\] \(a\): the new connection was not taken: cannot find \S+\/s\d+\/c\d+, which the tier holds on this backend/);
  // Two backends' places swapped: each holds objects of the tier (and the same manifests),
  // but not the cells that are this backend's.
  const swapped = base.replaceAll(`${cold}/a`, '@A@').replaceAll(`${cold}/b`, `${cold}/a`).replaceAll('@A@', `${cold}/b`);
  const refusedSwap = await apply(t, swapped);
  expect(refusedSwap.code).not.toBe(0);
  expect(refusedSwap.stderr).toMatch(/tiers\.cold\.backends\[0\] \(a\): the new connection was not taken: cannot find \S+\/s\d+\/c\d+,/);
  expect(refusedSwap.stderr).toMatch(/tiers\.cold\.backends\[1\] \(b\): the new connection was not taken: cannot find \S+\/s\d+\/c\d+,/);
  expect(await fs.readFile(join(t.mnt, 'f'))).toEqual(data);
  // A copy of the store taken before the latest move: that file's objects are not in it.
  const early = join(dir(), 'cold');
  execFileSync('cp', ['-a', cold, early]);
  await fs.writeFile(join(t.mnt, 'later'), randomBytes(300_000));
  expect((await t.cli(['move', '--to', 'cold', join(t.mnt, 'later')])).code).toBe(0);
  const refusedEarly = await apply(t, base.replaceAll(cold, early));
  expect(refusedEarly.code).not.toBe(0);
  expect(refusedEarly.stderr).toMatch(/tiers\.cold\.backends\[0\] \(a\): the new connection was not taken: cannot find /);
  // A place nothing can be written to (a file where the directory should be).
  const notADir = join(dir(), 'file');
  writeFileSync(notADir, '');
  const refusedFile = await apply(t, base.replaceAll(`${cold}/b`, notADir));
  expect(refusedFile.stderr).toMatch(/tiers\.cold\.backends\[1\] \(b\): the new connection was not taken: cannot write a test object/);
  expect(readFileSync(t.configFile, 'utf8')).toBe(base);
  expect(files(empty)).toEqual([]); // the test object was removed

  // The objects copied elsewhere (a store migrated): every backend reconnects there, the old place goes.
  const copy = join(dir(), 'cold');
  execFileSync('cp', ['-a', cold, copy]);
  const ok = await apply(t, base.replaceAll(cold, copy));
  expect(ok.code, ok.stderr).toBe(0);
  rmSync(cold, { recursive: true });
  // No cache, no page cache: these bytes come from the new place.
  expect(await fs.readFile(join(t.mnt, 'f'))).toEqual(data);
  const g = randomBytes(200_000);
  await fs.writeFile(join(t.mnt, 'g'), g);
  const before = files(copy).length;
  expect((await t.cli(['move', '--to', 'cold', join(t.mnt, 'g')])).code).toBe(0);
  expect(existsSync(cold)).toBe(false);
  expect(files(copy).length).toBeGreaterThan(before); // the move wrote to the new place
  expect(await fs.readFile(join(t.mnt, 'g'))).toEqual(g);
  expect(readFileSync(t.configFile, 'utf8')).toBe(base.replaceAll(cold, copy));
});

it('new S3 credentials that the store rejects are refused before anything changes', { timeout: 120_000 }, async () => {
  s3 = await startS3Server();
  const c = s3.clientOptions;
  const tier = `  - name: cold
    kind: object
    scheme: { k: 1, m: 0 }
    backends:
      - { name: s3, type: s3, bucket: ${s3.bucket}, endpoint: "${c.endpoint}", region: ${c.region}, forcePathStyle: true, checksums: when_required, accessKeyId: ${c.credentials.accessKeyId}, secretAccessKey: ${c.credentials.secretAccessKey}, retry: { maxAttempts: 1 } }
`;
  t = await new TierfsMount({ moreTiers: tier }).start();
  await fs.writeFile(join(t.mnt, 'f'), randomBytes(100_000));
  expect((await t.cli(['move', '--to', 'cold', join(t.mnt, 'f')])).code).toBe(0);
  const base = readFileSync(t.configFile, 'utf8');
  // s3rver checks access key ids (not v4 signatures): an unknown key is what it rejects.
  const wrong = await apply(t, base.replace(`accessKeyId: ${c.credentials.accessKeyId}`, 'accessKeyId: NOT-A-KEY'));
  expect(wrong.code).not.toBe(0);
  expect(wrong.stderr).toMatch(/tiers\.cold\.backends\[0\] \(s3\): the new connection was not taken: cannot write a test object: .*Access Key Id/);
  expect(readFileSync(t.configFile, 'utf8')).toBe(base);
  // The running connection is untouched: the file still reads.
  expect((await fs.readFile(join(t.mnt, 'f'))).length).toBe(100_000);
  // The same store under another name for its host is taken.
  const ok = await apply(t, base.replace(c.endpoint, c.endpoint.replace('127.0.0.1', 'localhost')).replace('retry: { maxAttempts: 1 }', 'retry: { maxAttempts: 2 }'));
  expect(ok.code, ok.stderr).toBe(0);
});

it("a dry run that adds a local tier changes nothing on its volume, nor does a refused apply; a system directory is refused as one", { timeout: 120_000 }, async () => {
  t = await new TierfsMount({ extraYaml: POLICY }).start();
  const base = readFileSync(t.configFile, 'utf8');
  const withLocal = (volume: string) => base.replace('\nmount:\n', `\n  - name: archive\n    kind: local\n    volumes: [${volume}]\nmount:\n`);
  // A user's directory, named by mistake (or by the dashboard's preview of a draft): a
  // dry run must not make it root's and 0700, as opening the tier for real would.
  const volume = dir();
  await fs.chmod(volume, 0o755);
  await fs.chown(volume, 65534, 65534);
  writeFileSync(join(t.root, 'dry.yaml'), withLocal(volume));
  const dry = await t.cli(['config', 'apply', join(t.root, 'dry.yaml'), '--dry-run', '--json', '--mount', t.mnt]);
  expect(dry.code, dry.stderr).toBe(0);
  const st = await fs.stat(volume);
  expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }).toEqual({ mode: 0o755, uid: 65534, gid: 65534 });

  for (const system of ['/usr', '/home']) {
    const before = await fs.stat(system);
    const r = await apply(t, withLocal(system));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`volume ${system} is a directory of the system`);
    const after = await fs.stat(system);
    expect({ mode: after.mode, uid: after.uid }).toEqual({ mode: before.mode, uid: before.uid });
  }
  expect(readFileSync(t.configFile, 'utf8')).toBe(base);
  // Applied for real with another new tier that fails its check: refused, and the volume
  // still as it was (the tier was opened before the other one was checked).
  const far = dir();
  writeFileSync(join(far, 'a'), ''); // a file where the backend's directory should be
  const withTwo = base.replace('\nmount:\n', `\n  - name: archive\n    kind: local\n    volumes: [${volume}]\n${fsObjectTier(far, { name: 'far', k: 1, m: 0 })}mount:\n`);
  // (Straight to the apply, as the dashboard's does: the CLI's dry run would stop first.)
  const refused = await adminJson(socketPathOf(t.dataDir), 'POST', '/v1/config/apply', { text: withTwo, caller: { uid: 0, user: 'test' } }).then(
    () => 'applied',
    (err: Error) => err.message,
  );
  expect(refused).toMatch(/new tier far: backend a: cannot write a test object/);
  const still = await fs.stat(volume);
  expect({ mode: still.mode & 0o7777, uid: still.uid, gid: still.gid }).toEqual({ mode: 0o755, uid: 65534, gid: 65534 });
  // Taken alone, it is the tier's: root's, 0700.
  const taken = await apply(t, withLocal(volume));
  expect(taken.code, taken.stderr).toBe(0);
  const now = await fs.stat(volume);
  expect({ mode: now.mode & 0o7777, uid: now.uid }).toEqual({ mode: 0o700, uid: 0 });
});
