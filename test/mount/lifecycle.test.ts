// Restart, crash, import of existing data, placement across tiers, the CLI against a live mount.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';
import { abortFuseConnections, isMounted, waitFor } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('restart and crash', () => {
  it('keeps everything across an unmount and a new mount', async () => {
    t = await new TierfsMount().start();
    await fs.mkdir(join(t.mnt, 'dir'));
    await fs.writeFile(join(t.mnt, 'dir', 'a'), 'alpha');
    await fs.symlink('dir/a', join(t.mnt, 'link'));
    execSetfattr(join(t.mnt, 'dir', 'a'), 'user.k', 'v');
    await fs.chmod(join(t.mnt, 'dir', 'a'), 0o600);
    await t.stop();
    expect(isMounted(t.mnt)).toBe(false);
    await t.start();
    expect(await fs.readFile(join(t.mnt, 'link'), 'utf8')).toBe('alpha');
    expect((await fs.stat(join(t.mnt, 'dir', 'a'))).mode & 0o777).toBe(0o600);
    expect(getfattr(join(t.mnt, 'dir', 'a'), 'user.k')).toBe('v');
  });

  it('ends with its unmount when whoever read its log is gone (a closed ssh session, a killed tee)', async () => {
    t = await new TierfsMount().start();
    await fs.writeFile(join(t.mnt, 'kept'), 'still here');
    const child = (t as unknown as { child: import('node:child_process').ChildProcess }).child;
    child.stdout!.destroy();
    child.stderr!.destroy();
    const exited = new Promise<boolean>((r) => child.once('exit', () => r(true)));
    execFileSync('fusermount3', ['-u', t.mnt]); // it logs as it stops, into the broken pipe, and exits
    expect(await Promise.race([exited, new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))])).toBe(true);
    expect(isMounted(t.mnt)).toBe(false);
    await t.start();
    expect(await fs.readFile(join(t.mnt, 'kept'), 'utf8')).toBe('still here');
  });

  it('recovers after kill -9 mid-write: the stale mount is cleared and catalog and tiers agree', async () => {
    t = await new TierfsMount().start();
    const writer = spawn('dd', ['if=/dev/urandom', `of=${join(t.mnt, 'inflight')}`, 'bs=64k', 'count=100000'], { stdio: 'ignore' });
    // Listen now: dd may end on its own (ENOTCONN) the moment the daemon dies.
    const writerGone = new Promise((r) => writer.once('exit', r));
    await waitUntil(async () => (await fs.stat(join(t!.hot, 'inflight')).catch(() => ({ size: 0 }))).size > 1 << 20);
    await t.kill9();
    writer.kill('SIGKILL');
    await writerGone;
    await t.start(); // must clear the stale mount by itself
    const onDisk = readFileSync(join(t.hot, 'inflight'));
    const st = await fs.stat(join(t.mnt, 'inflight'));
    expect(st.size).toBe(onDisk.length);
    expect((await fs.readFile(join(t.mnt, 'inflight'))).equals(onDisk)).toBe(true);
    const where = JSON.parse((await t.cli(['where', '--json', join(t.mnt, 'inflight')])).stdout);
    expect(where[0]).toMatchObject({ tier: 'hot', size: onDisk.length, state: 'ok' });
  });

  it('kill -9 during a burst of creates: after the next mount, the namespace is exactly what the tier holds, with its bytes', async () => {
    t = await new TierfsMount().start();
    await fs.mkdir(join(t.mnt, 'burst'));
    // Four writers, each creating small files as fast as it can, until the daemon dies under them.
    const writers = [0, 1, 2, 3].map((w) =>
      spawn('sh', ['-c', `i=0; while [ $i -lt 5000 ]; do echo "w${w} file $i" > ${join(t!.mnt, 'burst')}/w${w}-$i || exit 0; i=$((i+1)); done`], { stdio: 'ignore' }),
    );
    const gone = writers.map((w) => new Promise((r) => w.once('exit', r)));
    await waitUntil(async () => (await fs.readdir(join(t!.hot, 'burst'))).length > 400);
    await t.kill9();
    for (const w of writers) w.kill('SIGKILL');
    await Promise.all(gone);
    await t.start();
    const onTier = (await fs.readdir(join(t.hot, 'burst'))).sort();
    const inMount = (await fs.readdir(join(t.mnt, 'burst'))).sort();
    expect(onTier.length).toBeGreaterThan(400);
    expect(inMount).toEqual(onTier);
    for (const name of inMount) {
      const [w, i] = name.slice(1).split('-');
      const text = await fs.readFile(join(t.mnt, 'burst', name), 'utf8');
      // The file the daemon died in the middle of may be empty; none holds anything else.
      if (text !== '') expect(text, name).toBe(`w${w} file ${i}\n`);
      expect(text, name).toBe(readFileSync(join(t.hot, 'burst', name), 'utf8'));
    }
  });
});

describe('a daemon that does not answer', () => {
  // What test teardown does when a daemon is stuck (SIGKILL waits while it is inside a
  // request to its own mount): aborting the FUSE connection frees every caller at once.
  it('is cut off by aborting its FUSE connection: a caller waiting on the mount gets ECONNABORTED', async () => {
    t = await new TierfsMount().start();
    const daemon = t.pid!;
    process.kill(daemon, 'SIGSTOP');
    try {
      // A lookup of a name never seen: no cache can answer it, so it waits for the daemon.
      const child = spawn('stat', [join(t!.mnt, 'never-seen')], { stdio: ['ignore', 'ignore', 'pipe'] });
      const waiting = new Promise<{ code: number | null; stderr: string }>((resolve) => {
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
      // Until the kernel holds its request (a loaded machine may take a while to start stat).
      const inFuse = () => {
        try {
          return /fuse|request_wait/.test(readFileSync(`/proc/${child.pid}/wchan`, 'utf8'));
        } catch {
          return false;
        }
      };
      await waitFor(inFuse, 20_000, () => 'stat never got to wait on the mount');
      expect(await Promise.race([waiting, new Promise((r) => setTimeout(() => r('still waiting'), 300))])).toBe('still waiting');
      expect(abortFuseConnections(t.mnt)).toBe(1);
      const freed = await Promise.race([waiting, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
      // Not a hang of the whole run: say where stat still waits.
      if (!freed) throw new Error(`stat still waits 20 s after the abort, in ${readFileSync(`/proc/${child.pid}/wchan`, 'utf8')}`);
      const r = freed;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Software caused connection abort/); // ECONNABORTED: the request in flight was cut
    } finally {
      process.kill(daemon, 'SIGCONT');
    }
  });
});

describe('adoption of existing data and placement', () => {
  it('imports files already in the tier directories and reports one found on two tiers', async () => {
    t = new TierfsMount();
    mkdirSync(join(t.hot, 'photos'), { recursive: true });
    mkdirSync(join(t.warm, 'photos'), { recursive: true });
    writeFileSync(join(t.hot, 'photos', 'a.jpg'), 'A');
    writeFileSync(join(t.warm, 'photos', 'b.jpg'), 'BB');
    writeFileSync(join(t.warm, 'photos', 'a.jpg'), 'stale copy');
    // a user's name that begins like the volume's temp directory, below the root: theirs
    writeFileSync(join(t.hot, 'photos', '.tierfs-tmp-notes'), 'notes');
    await t.start();
    expect((await fs.readdir(join(t.mnt, 'photos'))).sort()).toEqual(['.tierfs-tmp-notes', 'a.jpg', 'b.jpg']);
    expect(await fs.readFile(join(t.mnt, 'photos', '.tierfs-tmp-notes'), 'utf8')).toBe('notes');
    expect(await fs.readFile(join(t.mnt, 'photos', 'a.jpg'), 'utf8')).toBe('A');
    expect(await fs.readFile(join(t.mnt, 'photos', 'b.jpg'), 'utf8')).toBe('BB');
    const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout);
    expect(status.conflicts).toEqual([expect.objectContaining({ path: 'photos/a.jpg', kind: 'duplicate' })]);
    const text = (await t.cli(['status', t.mnt])).stdout;
    expect(text).toMatch(/duplicate: photos\/a.jpg/);
  });

  it('finds a file on another local tier than the catalog says (a catalog older than a move: restored from a backup), and takes it from there', async () => {
    t = new TierfsMount();
    await t.start();
    await fs.mkdir(join(t.mnt, 'd'));
    await fs.writeFile(join(t.mnt, 'd', 'moved'), 'the bytes');
    await t.stop();
    // What a move hot → warm did after the backup the catalog was restored from.
    mkdirSync(join(t.warm, 'd'), { recursive: true });
    renameSync(join(t.hot, 'd', 'moved'), join(t.warm, 'd', 'moved'));
    await t.start();
    expect(await fs.readFile(join(t.mnt, 'd', 'moved'), 'utf8')).toBe('the bytes');
    expect(JSON.parse((await t.cli(['where', '--json', join(t.mnt, 'd', 'moved')])).stdout)[0]).toMatchObject({ tier: 'warm', state: 'ok' });
    expect(JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout).conflicts).toEqual([]);
  });

  it('a hard link the catalog never heard of (made just before a crash), in a directory walked before the known name, joins its file', async () => {
    t = new TierfsMount();
    await t.start();
    await fs.mkdir(join(t.mnt, 'b-dir'));
    await fs.mkdir(join(t.mnt, 'a-dir'));
    await fs.writeFile(join(t.mnt, 'b-dir', 'known'), 'one file');
    await t.stop();
    // 'a-dir' sorts, and is walked, before 'b-dir', where the catalog's name of the file is.
    linkSync(join(t.hot, 'b-dir', 'known'), join(t.hot, 'a-dir', 'new-link'));
    await t.start();
    const [a, b] = await Promise.all([fs.stat(join(t.mnt, 'a-dir', 'new-link')), fs.stat(join(t.mnt, 'b-dir', 'known'))]);
    expect(a.ino).toBe(b.ino);
    expect(b.nlink).toBe(2);
    await fs.appendFile(join(t.mnt, 'a-dir', 'new-link'), ', two names');
    expect(await fs.readFile(join(t.mnt, 'b-dir', 'known'), 'utf8')).toBe('one file, two names');
    expect((await fs.stat(join(t.mnt, 'b-dir', 'known'))).size).toBe('one file, two names'.length);
  });

  it('imports a tree of many directories (scanned several at once) whole, hard links as one file, and logs what the mount spent', async () => {
    t = new TierfsMount();
    const dirs = 20; // more than the scans reconciliation keeps ahead
    const files = 600; // enough for a directory's stats to be taken on several threads
    for (let d = 0; d < dirs; d++) {
      mkdirSync(join(t.hot, `d${d}`), { recursive: true });
      for (let f = 0; f < files; f++) writeFileSync(join(t.hot, `d${d}`, `f${f}`), 'x'.repeat((d + f) % 7));
    }
    // one file under two names in two directories: the second name found may sort first
    linkSync(join(t.hot, 'd7', 'f3'), join(t.hot, 'd2', 'a-link'));
    await t.start();
    expect((await fs.readdir(t.mnt)).length).toBe(dirs);
    for (const d of [0, 9, 19]) {
      const names = await fs.readdir(join(t.mnt, `d${d}`));
      expect(names.length).toBe(files + (d === 2 ? 1 : 0));
      for (const f of [0, 299, 599]) expect((await fs.stat(join(t.mnt, `d${d}`, `f${f}`))).size).toBe((d + f) % 7);
    }
    const [a, b] = await Promise.all([fs.stat(join(t.mnt, 'd7', 'f3')), fs.stat(join(t.mnt, 'd2', 'a-link'))]);
    expect([a.ino, a.nlink]).toEqual([b.ino, 2]);
    const mounted = t.output.split('\n').find((l) => l.includes('"mod":"daemon"') && l.includes('"msg":"mounted"'));
    const took = JSON.parse(mounted!).tookMs as Record<string, number>;
    expect(Object.keys(took)).toEqual(['boot', 'catalogCheck', 'open', 'recovery', 'reconcile', 'mount', 'rest']);
    for (const ms of Object.values(took)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(took.reconcile).toBeGreaterThan(0);
  });

  it('puts new files on the next tier when the first is full, and renames across tiers', async () => {
    t = await new TierfsMount({ hotCapacity: '64KiB' }).start();
    await fs.writeFile(join(t.mnt, 'first'), Buffer.alloc(100 * 1024));
    await fs.writeFile(join(t.mnt, 'second'), 'spill');
    expect(existsSync(join(t.hot, 'first'))).toBe(true);
    expect(existsSync(join(t.warm, 'second'))).toBe(true);
    await fs.mkdir(join(t.mnt, 'dir'));
    await fs.rename(join(t.mnt, 'second'), join(t.mnt, 'dir', 'moved'));
    expect(readFileSync(join(t.warm, 'dir', 'moved'), 'utf8')).toBe('spill');
    await fs.rename(join(t.mnt, 'first'), join(t.mnt, 'dir', 'moved')); // over a file on another tier
    expect((await fs.stat(join(t.mnt, 'dir', 'moved'))).size).toBe(100 * 1024);
    expect(existsSync(join(t.warm, 'dir', 'moved'))).toBe(false);
    expect(getfattr(join(t.mnt, 'dir', 'moved'), 'user.tierfs.tier')).toBe('hot');
  });
});

describe('access recording', () => {
  it('counts opens and bytes read, and exports the log as a CSV trace (passthrough off)', async () => {
    t = await new TierfsMount({ passthrough: 'off' }).start();
    const data = Buffer.alloc(1 << 20, 1);
    await fs.writeFile(join(t.mnt, 'rec'), data);
    for (let i = 0; i < 3; i++) {
      const fh = await fs.open(join(t.mnt, 'rec'), 'r');
      const buf = Buffer.alloc(256 * 1024);
      await fh.read(buf, 0, buf.length, 512 * 1024);
      await fh.close();
    }
    // dd with iflag=direct goes past the page cache, so the daemon sees every byte.
    await new Promise((r) => spawn('dd', [`if=${join(t!.mnt, 'rec')}`, 'of=/dev/null', 'bs=128k', 'iflag=direct'], { stdio: 'ignore' }).once('exit', r));
    // Counts reach the catalog in batches: wait until dd's reads are in, then count exactly.
    const where = async () => JSON.parse((await t!.cli(['where', '--json', join(t!.mnt, 'rec')])).stdout)[0];
    let w = await where();
    for (const end = Date.now() + 10_000; (w.access.opens < 5 || w.access.readBytes < data.length) && Date.now() < end; w = await where()) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(w.access.opens).toBe(5); // 1 write + 3 reads + dd
    expect(w.access.readBytes).toBeGreaterThanOrEqual(data.length);
    expect(w.access.writeBytes).toBe(data.length);
    const csv = (await t.cli(['trace', t.mnt])).stdout.trim().split('\n');
    expect(csv[0]).toBe('time,path,op,offset,length,size');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows.filter((r) => r[2] === 'open')).toHaveLength(5);
    expect(rows.filter((r) => r[2] === 'read').reduce((a, r) => a + Number(r[4]), 0)).toBe(w.access.readBytes);
    expect(rows.every((r) => r[1] === 'rec' && !Number.isNaN(Date.parse(r[0]!)))).toBe(true);
    expect(w.access.readsSeen).toBe(true);
  });

  it('exports a trace longer than a page of the log whole and in order', async () => {
    t = await new TierfsMount().start();
    await fs.writeFile(join(t.mnt, 'often'), 'x');
    const OPENS = 12_000; // more than two pages of the log (5,000 rows)
    const opener = `import os, sys\nfor _ in range(${OPENS}): os.close(os.open(sys.argv[1], os.O_RDONLY))`;
    execFileSync('python3', ['-c', opener, join(t.mnt, 'often')]);
    const opens = async () => JSON.parse((await t!.cli(['where', '--json', join(t!.mnt, 'often')])).stdout)[0].access.opens as number;
    for (const end = Date.now() + 20_000; (await opens()) < OPENS + 1 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    const csv = (await t.cli(['trace', t.mnt])).stdout.trim().split('\n');
    const times = csv.slice(1).map((l) => Date.parse(l.split(',')[0]!));
    expect(csv.slice(1).filter((l) => l.split(',')[2] === 'open')).toHaveLength(OPENS + 1);
    expect(times.every((time, k) => k === 0 || time >= times[k - 1]!)).toBe(true);
  });

  it('with passthrough, counts the opens of a local file and says its reads are not seen', async () => {
    t = await new TierfsMount().start();
    const data = Buffer.alloc(1 << 20, 1);
    await fs.writeFile(join(t.mnt, 'rec'), data);
    for (let i = 0; i < 3; i++) expect((await fs.readFile(join(t.mnt, 'rec'))).equals(data)).toBe(true);
    const where = async () => JSON.parse((await t!.cli(['where', '--json', join(t!.mnt, 'rec')])).stdout)[0];
    let w = await where();
    for (const end = Date.now() + 10_000; w.access.opens < 4 && Date.now() < end; w = await where()) await new Promise((r) => setTimeout(r, 50));
    expect(w.access.opens).toBe(4); // 1 write + 3 reads
    // The kernel read and wrote the backing file itself: no byte passed the daemon.
    expect(w.access.readBytes).toBe(0);
    expect(w.access.writeBytes).toBe(0);
    expect(w.access.readsSeen).toBe(false);
    expect((await t.cli(['where', join(t.mnt, 'rec')])).stdout).toContain('only its opens are counted');
  });
});

function execSetfattr(path: string, name: string, value: string) {
  spawnSyncOk('setfattr', ['-n', name, '-v', value, path]);
}
function getfattr(path: string, name: string): string {
  return spawnSyncOk('getfattr', ['--only-values', '-n', name, path]);
}
function spawnSyncOk(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}
async function waitUntil(cond: () => Promise<boolean>, ms = 20_000) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
}
