// A filesystem whose open answers ENOSYS: the kernel then opens every file
// without asking and sends fh 0 with its reads, writes and flushes. The binding
// must answer those EBADF, never take 0 (or any fh it did not hand out) for a
// handle of its own.
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run, serveMount, stopAllMounts, type ServedMount } from '../helpers/mount.js';

const SERVER = new URL('./fixtures/serve-memfs.ts', import.meta.url).pathname;
const EBADF = 9;

let m: ServedMount;
const p = (name: string) => join(m.mountpoint, name);

beforeAll(async () => {
  m = await serveMount(SERVER, { args: [JSON.stringify({ memfs: { openAnswersEnosys: true } })] });
});

afterAll(async () => {
  await stopAllMounts();
});

it('answers reads and writes of fh 0 with EBADF and keeps serving', async () => {
  // Created through create, which hands out a real handle: the file has bytes.
  await fs.writeFile(p('f'), 'data');
  const script = `
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)  # OPEN answers ENOSYS; the kernel opens anyway, fh 0
out = {}
for name, op in (('read', lambda: os.pread(fd, 10, 0)), ('write', lambda: os.pwrite(fd, b'x', 0))):
    try:
        op(); out[name] = 0
    except OSError as e:
        out[name] = e.errno
print(json.dumps(out))`;
  const r = await run('/usr/bin/python3', ['-c', script, p('f')], { timeoutMs: 10_000 });
  expect(JSON.parse(r.stdout)).toEqual({ read: EBADF, write: EBADF });
  expect(m.running).toBe(true);
  expect(await fs.readdir(m.mountpoint)).toEqual(['f']);
  expect((await m.command<{ inflight: number }>('stats')).inflight).toBe(0);
});
