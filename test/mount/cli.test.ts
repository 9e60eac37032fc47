// The command line a user meets first: init, bad configs refused before mounting, help.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { TIERFS_BIN, runCli } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';
import { isMounted } from '../helpers/mount.js';

const dir = tempDir('tierfs-cli-');
afterAll(() => dir.remove());

describe('tierfs CLI', () => {
  it('init writes a commented starter config that validates', async () => {
    const r = await runCli(['init', dir.path]);
    expect(r.code).toBe(0);
    const text = readFileSync(join(dir.path, 'tierfs.yaml'), 'utf8');
    expect(text).toMatch(/^# tierfs configuration/);
    // hot and warm are side by side on one filesystem: each has a capacity, and the file says why.
    expect(text).toMatch(/# hot and warm share one filesystem here/);
    const caps = [...text.matchAll(/^ {4}capacity: (\d+)(MiB|GiB)$/gm)].map((m) => Number(m[1]) * (m[2] === 'GiB' ? 2 ** 30 : 2 ** 20));
    expect(caps).toHaveLength(2);
    const free = statfsSync(dir.path).bavail * statfsSync(dir.path).bsize;
    expect(caps[0]! + caps[1]!).toBeLessThanOrEqual(free);
    expect((await runCli(['init', dir.path])).code).not.toBe(0); // no silent overwrite
    const v = await runCli(['config', 'validate', join(dir.path, 'tierfs.yaml')]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/valid \(3 tiers: hot, warm, cold\)/);
    expect(v.stdout).toMatch(/cold: 4\+2 over 1 backend: .*survives the loss of 0 whole backends/);
  });

  it('names a backend whose multipartThreshold would upload every cell in parts', async () => {
    const file = join(dir.path, 'parts.yaml');
    const backend = (name: string, threshold: string) =>
      `      - { name: ${name}, type: s3, bucket: b, endpoint: "http://127.0.0.1:9", forcePathStyle: true, accessKeyId: k, secretAccessKey: s${threshold} }\n`;
    writeFileSync(file, `dataDir: ./d\ntiers:\n  - name: hot\n    kind: local\n    volumes: [./h]\n  - name: cold\n    kind: object\n    scheme: { k: 4, m: 2 }\n    backends:\n` +
      backend('small', ', multipartThreshold: 8MiB') + backend('default', ''));
    const v = await runCli(['config', 'validate', file]);
    expect(v.code, v.stderr).toBe(0);
    // chunkSize 32 MiB / k=4: cells of 8 MiB and a header, above 8 MiB; the default (64 MiB) takes them whole.
    expect(v.stdout).toMatch(/cold: a cell is 8,388,\d{3} bytes \(chunkSize\/4 and a header\), above backend small's multipartThreshold of 8,388,608 \(8\.00 MiB\): each goes up as a multipart upload/);
    expect(v.stdout).not.toMatch(/backend default's/);
    const j = JSON.parse((await runCli(['config', 'validate', '--json', file])).stdout);
    expect(j.durability[0].cellsInParts).toEqual([{ backend: 'small', cellBytes: expect.any(Number), multipartThreshold: 8 * 2 ** 20 }]);
    expect(j.durability[0].cellsInParts[0].cellBytes).toBeGreaterThan(8 * 2 ** 20);
  });

  it.each([
    ['a bad size', 'capacity: 12 parsecs', /tiers\[0\]\.capacity: expected a size/, 6],
    ['an unknown key', 'volumez: [x]', /tiers\[0\]\.volumez: unknown key "volumez"/, 6],
    ['a bad watermark', 'watermarks: { high: 150%, low: 10% }', /tiers\[0\]\.watermarks\.high: expected a percentage/, 6],
  ])('refuses %s with key and line, and mounts nothing', async (_what, line, message, lineNo) => {
    const file = join(dir.path, 'bad.yaml');
    writeFileSync(file, `dataDir: ./d\ntiers:\n  - name: hot\n    kind: local\n    volumes: [./h]\n    ${line}\n`);
    const mnt = join(dir.path);
    const r = await runCli(['mount', '--config', file, mnt]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`${file}:${lineNo}:`);
    expect(isMounted(mnt)).toBe(false);
  });

  it('explains itself with --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['init', 'mount', 'umount', 'status', 'where', 'trace', 'config']) expect(r.stdout).toContain(cmd);
    expect((await runCli(['mount', '--help'])).stdout).toMatch(/--foreground/);
  });

  it('generates the key reference from the schema', async () => {
    const r = await runCli(['config', 'docs']);
    expect(r.stdout).toMatch(/tiers\[kind=local\]\.watermarks\.high  ratio = 90%/);
    expect(r.stdout).toMatch(/mount\.fastPath/);
  });

  it('ends quietly when the reader of its output goes away (| head, | true)', () => {
    // `true` exits without reading: every write after that meets a closed pipe (EPIPE).
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${TIERFS_BIN}" config docs | true; echo "status=\${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe('status=0');
    expect(r.stderr).toBe('');
  });

  it('answers --json with a JSON error object when it fails', async () => {
    const file = join(dir.path, 'bad-json.yaml');
    writeFileSync(file, 'dataDir: ./d\ntiers:\n  - name: hot\n    kind: local\n    volumes: [./h]\n    capacity: lots\n');
    const r = await runCli(['config', 'validate', '--json', file]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.error.code).toBe('EINVALIDCONFIG');
    expect(out.error.problems).toEqual([expect.objectContaining({ key: 'tiers[0].capacity', line: 6 })]);
    const notMounted = await runCli(['where', '--json', dir.path]);
    expect(notMounted.code).toBe(1);
    expect(JSON.parse(notMounted.stdout).error.message).toMatch(/not inside a tierfs mount/);
  });

  it('refuses to hide a non-empty directory by mounting over it', async () => {
    const mnt = join(dir.path, 'full');
    mkdirSync(mnt);
    writeFileSync(join(mnt, 'precious.txt'), 'x');
    writeFileSync(join(dir.path, 'ok.yaml'), 'dataDir: ./d1\ntiers:\n  - name: hot\n    kind: local\n    volumes: [./h1]\n');
    const r = await runCli(['mount', '--config', join(dir.path, 'ok.yaml'), mnt]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not empty \(1 entry, e\.g\. precious\.txt\).*--nonempty/);
    expect(isMounted(mnt)).toBe(false);
  });

  it("refuses an fs object store whose root is inside the mountpoint, naming it", async () => {
    const d = join(dir.path, 'd3');
    mkdirSync(join(d, 'mnt'), { recursive: true });
    const yaml = `dataDir: ${d}/data\ntiers:\n  - name: hot\n    kind: local\n    volumes: [${d}/h]\n  - name: cold\n    kind: object\n    backends:\n      - { name: b, type: fs, root: ${d}/mnt/store }\n`;
    writeFileSync(join(dir.path, 'store-inside.yaml'), yaml);
    const r = await runCli(['mount', '--config', join(dir.path, 'store-inside.yaml'), join(d, 'mnt')]);
    if (isMounted(join(d, 'mnt'))) await runCli(['umount', join(d, 'mnt')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${d}/mnt/store is inside the mountpoint`));
    expect(isMounted(join(d, 'mnt'))).toBe(false);
  });

  it("a failed mount says why in one line, not with the log's history", async () => {
    const d = join(dir.path, 'd2');
    mkdirSync(join(d, 'mnt'), { recursive: true });
    writeFileSync(join(d, 'tierfs.log'), '{"level":30,"msg":"an old run"}\n'.repeat(40));
    // A volume inside the mountpoint: the daemon refuses the layout (it would read its own mount).
    writeFileSync(join(dir.path, 'inside.yaml'), `dataDir: ${d}\ntiers:\n  - name: hot\n    kind: local\n    volumes: [${d}/mnt/h]\n`);
    const r = await runCli(['mount', '--config', join(dir.path, 'inside.yaml'), join(d, 'mnt')]);
    if (isMounted(join(d, 'mnt'))) await runCli(['umount', join(d, 'mnt')]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/an old run/);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length, r.stderr).toBeLessThanOrEqual(2);
    expect(lines[0]).toMatch(/could not mount .*: .*inside the mountpoint/);
  });
});
