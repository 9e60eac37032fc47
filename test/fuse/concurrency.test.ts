// Requests in flight while JavaScript takes its time, and interrupts.
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, serveMount, stopAllMounts, type ServedMount } from '../helpers/mount.js';

const SERVER = new URL('./fixtures/serve-memfs.ts', import.meta.url).pathname;
const SLOW_MS = 2000;

let m: ServedMount;
const p = (name: string) => join(m.mountpoint, name);

interface Stats { maxConcurrentReads: number; readsInProgress: number; inflight: number; slowMkdirs: number }

beforeAll(async () => {
  m = await serveMount(SERVER, { args: [JSON.stringify({ memfs: { slowReadMs: SLOW_MS, slowMkdirMs: SLOW_MS } })] });
  for (let i = 0; i < 64; i++) await fs.writeFile(p(`slow-${i}`), `slow file ${i}`);
  await fs.writeFile(p('fast'), 'fast file');
});

afterAll(async () => {
  await stopAllMounts();
});

describe('requests in flight', () => {
  it('keeps 64 slow reads in flight at once: no FUSE thread waits for JavaScript', async () => {
    // A reader with enough libuv threads to issue all 64 reads at the same time.
    const reader = `
const fs = require('fs');
const t0 = Date.now(); let done = 0; const bad = [];
for (let i = 0; i < 64; i++) {
  const fd = fs.openSync(process.argv[1] + '/slow-' + i, 'r');
  fs.read(fd, Buffer.alloc(64), 0, 64, 0, (err, n, buf) => {
    if (err || buf.subarray(0, n).toString() !== 'slow file ' + i) bad.push(i);
    if (++done === 64) console.log(JSON.stringify({ ms: Date.now() - t0, bad }));
  });
}`;
    const r = await run(process.execPath, ['-e', reader, m.mountpoint], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '80' },
      timeoutMs: 30_000,
    });
    const out = JSON.parse(r.stdout) as { ms: number; bad: number[] };
    expect(out.bad).toEqual([]);
    expect((await m.command<Stats>('stats')).maxConcurrentReads).toBe(64);
    // Served one after another by 8 threads this would take 8 × SLOW_MS; at once, SLOW_MS
    // and the 64 opens before (answered by JavaScript, slower on a loaded machine).
    expect(out.ms).toBeLessThan(SLOW_MS * 3);
  });
});

describe('interrupts', () => {
  it('answers a slow read EINTR at once when the reader is killed, and stays usable', async () => {
    let pid = 0;
    const t0 = Date.now();
    const dd = run('dd', [`if=${p('slow-1')}`, 'of=/dev/null', 'bs=4k', 'count=1'], {
      onSpawn: (c) => (pid = c.pid!),
    });
    // Kill only once the read is in flight: JavaScript has started serving it (a
    // kill before that would end dd without any request to interrupt).
    let reading = 0;
    for (const end = Date.now() + 5000; reading === 0 && Date.now() < end; ) {
      reading = (await m.command<Stats>('stats')).readsInProgress;
    }
    expect(reading).toBe(1);
    // SIGKILL leaves the reader in uninterruptible sleep until the request is answered.
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const res = await dd;
    expect(res.signal).toBe('SIGKILL');
    // The interrupt answered it: dd is gone while JavaScript still sleeps in that read
    // (its own reply would come only after it), and well before the slow reply is due.
    expect((await m.command<Stats>('stats')).readsInProgress).toBe(1);
    expect(Date.now() - killedAt).toBeLessThan(1200);
    expect(Date.now() - t0).toBeLessThan(SLOW_MS);

    expect(await fs.readFile(p('fast'), 'utf8')).toBe('fast file');
    // The late answer of the interrupted read is dropped without harm.
    await new Promise((r) => setTimeout(r, SLOW_MS));
    expect(m.running).toBe(true);
    expect(await fs.readFile(p('slow-2'), 'utf8')).toBe('slow file 2');
    // Nothing is left waiting for an answer (polled: on a busy machine the last reply may lag).
    let inflight = -1;
    for (const end = Date.now() + 5000; Date.now() < end && inflight !== 0; ) {
      inflight = (await m.command<Stats>('stats')).inflight;
      if (inflight !== 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(inflight).toBe(0);
  });

  it('lets a caller that catches the signal see EINTR', async () => {
    const script = `
import os, signal, sys, time
class Interrupted(Exception): pass
def on_alarm(*_): raise Interrupted()
signal.signal(signal.SIGALRM, on_alarm)
fd = os.open(sys.argv[1], os.O_RDONLY)
t0 = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    os.read(fd, 64); print('read completed')
except Interrupted:
    print('interrupted after %.1f s' % (time.monotonic() - t0))`;
    const r = await run('/usr/bin/python3', ['-c', script, p('slow-3')], { timeoutMs: 10_000 });
    expect(r.stdout.trim()).toMatch(/^interrupted after 0\.[3-9] s$/);
  });

  it('never answers EINTR for a mkdir that JavaScript goes on to carry out', async () => {
    // libc's mkdir through ctypes: Python would retry an EINTR itself. The
    // handler does nothing; the signal only makes the kernel send INTERRUPT.
    const script = `
import ctypes, json, signal, sys
signal.signal(signal.SIGUSR1, lambda *_: None)
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.mkdir(sys.argv[1].encode(), 0o755)
print(json.dumps({'rc': rc, 'errno': ctypes.get_errno()}))`;
    let pid = 0;
    const child = run('/usr/bin/python3', ['-c', script, p('slow-dir')], { timeoutMs: 20_000, onSpawn: (c) => (pid = c.pid!) });
    // The signal comes while JavaScript carries the mkdir out (it takes SLOW_MS).
    let started = 0;
    for (const end = Date.now() + 10_000; started === 0 && Date.now() < end; ) {
      started = (await m.command<Stats>('stats')).slowMkdirs;
    }
    expect(started).toBe(1);
    process.kill(pid, 'SIGUSR1');
    const out = JSON.parse((await child).stdout) as { rc: number; errno: number };
    // Let the slow mkdir finish in any case before looking.
    await new Promise((r) => setTimeout(r, SLOW_MS));
    const exists = await fs.stat(p('slow-dir')).then(() => true, () => false);
    // Either outcome is honest; an EINTR for a directory that exists is not.
    if (out.rc === 0) expect(exists).toBe(true);
    else expect({ errno: out.errno, exists }).toEqual({ errno: 4 /* EINTR */, exists: false });
  });
});
