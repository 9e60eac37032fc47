// FUSE passthrough (mount.passthrough: auto, the default): the kernel reads and writes
// local files' backing files itself. What a user sees must not change — bytes, mmap,
// moves, open readers — except that no byte of a local file passes through the daemon.
// (The rest of the mount suite runs with passthrough on too; tests that need the daemon
// to see reads, or to move a file that is held open, say passthrough: 'off'.)
import { afterEach, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TierfsMount } from '../helpers/tierfs.js';
import { run } from '../helpers/mount.js';
import { tempDir } from '../helpers/tmp.js';
import { adminJson, socketPathOf } from '../../src/admin/client.js';

let t: TierfsMount | undefined;
let cold: ReturnType<typeof tempDir> | undefined;
afterEach(async () => {
  await t?.dispose();
  cold?.remove();
  t = cold = undefined;
});

function mount(passthrough?: 'off', retryDelay = '200ms'): TierfsMount {
  cold = tempDir('tierfs-passthrough-cold-');
  return new TierfsMount({
    passthrough,
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: 256KiB
    backends:
      - { name: a, type: fs, root: ${cold.path}/a, fsync: false }
      - { name: b, type: fs, root: ${cold.path}/b, fsync: false }
      - { name: c, type: fs, root: ${cold.path}/c, fsync: false }
`,
    metrics: true,
    extraYaml: `mover:\n  retryDelay: ${retryDelay}\ncache: { memory: 0, disk: 0 }\n`,
  });
}

const m = (p: string) => join(t!.mnt, p);
const admin = <T>(method: 'GET' | 'POST', path: string, body?: unknown) => adminJson<T>(socketPathOf(t!.dataDir), method, path, body);
const where = (p: string) =>
  admin<{ tier: string; backingPath: string | null; queued: { lastError: string | null } | null }>('GET', `/v1/where?path=${encodeURIComponent(p)}`);
const move = (p: string, to: string) => admin<{ results: { state: string }[] }>('POST', '/v1/move', { paths: [p], to, wait: true }).then((r) => r.results[0]!);

const metric = (name: string, labels: Record<string, string> = {}) => t!.metric(name, labels);
const served = async () => (await metric('tierfs_fuse_requests_total', { op: 'read' })) + (await metric('tierfs_fuse_requests_total', { op: 'write' }));

async function python(script: string, ...args: string[]): Promise<string> {
  const r = await run('python3', ['-c', script, ...args], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

// Writes through a shared mapping (page faults of a mapping in passthrough reach the
// backing file, not the daemon).
const MMAP = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
mm = mmap.mmap(fd, 0)
mm[0:5] = b'MMAP!'
mm.flush()
mm.close()
os.close(fd)
`;

for (const mode of ['auto', 'off'] as const) {
  it(`reads, writes, appends, truncates and mmap give the bytes a plain file would (passthrough ${mode})`, async () => {
    t = await mount(mode === 'off' ? 'off' : undefined).start();
    expect(await metric('tierfs_fuse_passthrough_enabled')).toBe(mode === 'auto' ? 1 : 0);
    const before = await served();
    const data = randomBytes(3 << 20);
    await fs.writeFile(m('f'), data);
    expect((await fs.readFile(m('f'))).equals(data)).toBe(true);
    await fs.appendFile(m('f'), 'tail');
    await fs.truncate(m('f'), 1000);
    const fh = await fs.open(m('f'), 'r+');
    await fh.write(Buffer.from('middle'), 0, 6, 500);
    await fh.close();
    await python(MMAP, m('f'));
    const expected = Buffer.from(data.subarray(0, 1000));
    expected.write('middle', 500);
    expected.write('MMAP!', 0);
    expect((await fs.readFile(m('f'))).equals(expected)).toBe(true);
    // And the backing file holds the same (the tier's copy, as a move would read it).
    const backing = (await where('f')).backingPath!;
    expect((await fs.readFile(backing)).equals(expected)).toBe(true);
    if (mode === 'auto') {
      // No byte went through the daemon: not the reads, the writes, nor the mapping's faults.
      expect(await served()).toBe(before);
      expect(await metric('tierfs_fuse_passthrough_opens_total')).toBeGreaterThanOrEqual(6);
    } else {
      expect(await served()).toBeGreaterThan(before);
    }
  });
}

it('a file open in passthrough moves once closed; its reader and later readers read the same bytes', async () => {
  // A retry delay longer than the test: the move must go at the close, not at a retry.
  t = await mount(undefined, '10m').start();
  const data = randomBytes(2 << 20);
  await fs.writeFile(m('f'), data);
  const reader = await fs.open(m('f'), 'r');
  const first = Buffer.alloc(1 << 20);
  await reader.read(first, 0, first.length, 0);
  const moved = move('f', 'cold');
  // The kernel holds the backing file for this reader, and would refuse new opens of any
  // other copy while it does: the move waits, saying why.
  let w = await where('f');
  for (const end = Date.now() + 10_000; !w.queued?.lastError && Date.now() < end; w = await where('f')) await new Promise((r) => setTimeout(r, 50));
  expect(w.tier).toBe('hot');
  expect(w.queued?.lastError).toMatch(/open \(read by the kernel directly/);
  const second = Buffer.alloc(1 << 20);
  await reader.read(second, 0, second.length, 1 << 20);
  expect(Buffer.concat([first, second]).equals(data)).toBe(true);
  // A second reader and a writer join the same backing file meanwhile.
  const writer = await fs.open(m('f'), 'r+');
  await writer.write(Buffer.from('joined'), 0, 6, 0);
  await writer.close();
  const expected = Buffer.from(data);
  expected.write('joined', 0);
  expect((await fs.readFile(m('f'))).equals(expected)).toBe(true);
  const closedAt = Date.now();
  await reader.close();
  expect(await moved).toMatchObject({ state: 'done' });
  expect(Date.now() - closedAt).toBeLessThan(20_000);
  expect((await where('f')).tier).toBe('cold');
  expect((await fs.readFile(m('f'))).equals(expected)).toBe(true);
});

it('a file read from an object tier is brought back while open: its reader and new openers share the page cache, then passthrough resumes', async () => {
  t = await mount().start();
  const data = randomBytes(1 << 20);
  await fs.writeFile(m('f'), data);
  expect(await move('f', 'cold')).toMatchObject({ state: 'done' });
  const reader = await fs.open(m('f'), 'r');
  const head = Buffer.alloc(4096);
  await reader.read(head, 0, head.length, 0);
  // Opens of a file on an object tier are the daemon's, which follows the file back.
  expect(await move('f', 'hot')).toMatchObject({ state: 'done' });
  const opensBefore = await metric('tierfs_fuse_passthrough_opens_total');
  // The kernel has this inode in page-cache mode for the reader: a new open must be too.
  expect((await fs.readFile(m('f'))).equals(data)).toBe(true);
  expect(await metric('tierfs_fuse_passthrough_opens_total')).toBe(opensBefore);
  const rest = Buffer.alloc(data.length - 4096);
  await reader.read(rest, 0, rest.length, 4096);
  expect(Buffer.concat([head, rest]).equals(data)).toBe(true);
  await reader.close();
  expect((await fs.readFile(m('f'))).equals(data)).toBe(true);
  expect(await metric('tierfs_fuse_passthrough_opens_total')).toBe(opensBefore + 1);
  expect(await metric('tierfs_fuse_passthrough_refused_total')).toBe(0);
});

it('readers opening and closing a file while it moves between local and object tiers never see an error or other bytes', async () => {
  t = await mount().start();
  const data = randomBytes(300_000);
  await fs.writeFile(m('f'), data);
  let stop = false;
  const failures: string[] = [];
  let reads = 0;
  // Some opens land while the file is local (passthrough), some while it is cold (page
  // cache), some while it comes back with earlier opens still held: the kernel's rule of
  // one mode per open inode must never turn into an EIO for the opener. The readers
  // leave gaps: a local file open in passthrough moves only between its opens.
  const reader = async (hold: number) => {
    while (!stop) {
      try {
        const fh = await fs.open(m('f'), 'r');
        const buf = Buffer.alloc(data.length);
        await new Promise((r) => setTimeout(r, hold));
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        await fh.close();
        if (bytesRead !== data.length || !buf.equals(data)) failures.push(`read ${bytesRead} bytes, not the file's`);
        reads++;
      } catch (err) {
        failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 30));
    }
  };
  const readers = [0, 10].map((hold) => reader(hold));
  const tiers = ['cold', 'warm', 'cold', 'hot'];
  const outcomes: string[] = [];
  try {
    for (let i = 0; (i < 12 || reads < 50) && i < 60; i++) {
      const deadline = new Promise<string>((r) => setTimeout(() => r('still waiting after 20 s'), 20_000));
      outcomes.push(await Promise.race([move('f', tiers[i % tiers.length]!).then((o) => o.state), deadline]));
    }
  } finally {
    stop = true;
    await Promise.all(readers);
  }
  expect(failures).toEqual([]);
  expect(reads).toBeGreaterThanOrEqual(50);
  expect(outcomes.filter((s) => s === 'done').length, outcomes.join(', ')).toBeGreaterThanOrEqual(6);
  expect(await metric('tierfs_fuse_passthrough_refused_total')).toBe(0);
  expect((await fs.readFile(m('f'))).equals(data)).toBe(true);
}, 300_000);

it('tierfs move of a file held open says what it waits for, then moves it at the close', async () => {
  t = await mount(undefined, '10m').start();
  await fs.writeFile(m('held'), randomBytes(100_000));
  const reader = await fs.open(m('held'), 'r');
  // The command looks every 3 s; the reader closes once it has said why it waits.
  let said: () => void = () => undefined;
  const waiting = new Promise<void>((r) => (said = r));
  const moving = t.cli(['move', m('held'), '--to', 'cold'], (stderr) => stderr.includes('held: waiting') && said());
  await Promise.race([waiting, moving]);
  await reader.close();
  const r = await moving;
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain('held: waiting: open (read by the kernel directly: moves once closed)');
  expect((await where('held')).tier).toBe('cold');
});

it('files whose writes must clear setuid, setgid or a capability are never opened in passthrough', async () => {
  t = await mount().start();
  await fs.writeFile(m('plain'), 'x');
  await fs.writeFile(m('setuid'), 'x');
  await fs.chmod(m('setuid'), 0o4755);
  await fs.writeFile(m('setgid'), 'x');
  await fs.chmod(m('setgid'), 0o2775);
  await fs.writeFile(m('cap'), 'x');
  // cap_net_raw, permitted and effective (a version 2 vfs_cap_data)
  await run('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', m('cap')]);
  const opens = async (name: string) => {
    const before = await metric('tierfs_fuse_passthrough_opens_total');
    await (await fs.open(m(name), 'r+')).close();
    return (await metric('tierfs_fuse_passthrough_opens_total')) - before;
  };
  expect(await opens('plain')).toBe(1); // the test can fail
  expect(await opens('setuid')).toBe(0);
  expect(await opens('setgid')).toBe(0);
  expect(await opens('cap')).toBe(0);
});
