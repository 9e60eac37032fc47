// The digest thread: digests of bodies in shared memory computed off the event loop,
// equal to those computed inline; a thread that dies owes nothing (its bodies are
// digested inline) and the next body starts another; a file's running SHA-256 there
// fails rather than give a digest of part of it; a process waits for owed digests and
// is not kept alive by an idle thread.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { DigestThread, digestsInline, type DigestName } from '../../src/objectstore/digest-thread.js';

const ALL: DigestName[] = ['md5', 'sha256', 'crc32', 'blockCrc32'];
const BLOCK = 4096;
const expected = (b: Uint8Array) => ({
  md5: createHash('md5').update(b).digest('base64'),
  sha256: createHash('sha256').update(b).digest('hex'),
  crc32: crc32(b),
  blockCrc32: Array.from({ length: Math.ceil(b.length / BLOCK) }, (_, i) => crc32(b.subarray(i * BLOCK, (i + 1) * BLOCK)).toString(16).padStart(8, '0')).join(''),
});
function shared(size: number, at = 64): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(size + at + 64), at, size);
  b.set(randomBytes(size));
  return b;
}

let thread: DigestThread;
afterEach(() => thread?.kill());

describe('DigestThread', () => {
  it('digests shared bodies on its thread, others inline, the same either way', async () => {
    thread = new DigestThread();
    const bodies = [shared(1 << 20), shared(1000, 3), shared(BLOCK * 3 + 5), shared(0)];
    const got = await Promise.all(bodies.map((b) => thread.digests(b, ALL, BLOCK)));
    got.forEach((d, i) => expect(d).toEqual(expected(bodies[i]!)));
    expect(thread.counts).toEqual({ threaded: 4, inline: 0 });
    const plain = randomBytes(5000);
    expect(await thread.digests(plain, ['sha256'])).toEqual({ sha256: expected(plain).sha256 });
    expect(thread.counts).toEqual({ threaded: 4, inline: 1 });
    expect(digestsInline(bodies[0]!, ALL, BLOCK)).toEqual(expected(bodies[0]!));
    expect(() => thread.digests(bodies[0]!, ['blockCrc32'])).toThrow(/blockSize/);
  });

  it('runs at the lowest CPU priority: its work yields to the mount\'s requests', async () => {
    // nice is field 19 of a task's stat, counted after the command's closing parenthesis.
    const niced = () =>
      readdirSync('/proc/self/task').filter((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16] === '19';
      }).length;
    const before = niced();
    thread = new DigestThread();
    await thread.digests(shared(10), ['md5']);
    expect(niced()).toBe(before + 1);
  });

  it('a thread that dies owes nothing: its bodies are digested inline, and the next body starts another', async () => {
    thread = new DigestThread();
    await thread.digests(shared(10), ['md5']); // the thread is up
    const bodies = Array.from({ length: 8 }, () => shared(4 << 20));
    const owed = bodies.map((b) => thread.digests(b, ALL, BLOCK));
    await thread.kill();
    const got = await Promise.all(owed);
    got.forEach((d, i) => expect(d).toEqual(expected(bodies[i]!)));
    expect(thread.counts.inline).toBeGreaterThan(0);
    const after = shared(1 << 16);
    const threaded = thread.counts.threaded;
    expect(await thread.digests(after, ALL, BLOCK)).toEqual(expected(after));
    expect(thread.counts.threaded).toBe(threaded + 1);
  });

  it("keeps a file's SHA-256 over pieces given in order, shared or not, beside other digests", async () => {
    thread = new DigestThread();
    const pieces = [shared(3 << 20), randomBytes(1000), shared(0), shared(BLOCK + 7, 5)];
    const hash = thread.sha256InOrder();
    const other = thread.sha256InOrder();
    await Promise.all(pieces.map((p) => hash.update(p)));
    await other.update(pieces[1]!);
    const between = shared(5000);
    expect(await thread.digests(between, ['sha256'])).toEqual({ sha256: expected(between).sha256 });
    expect(await hash.digest()).toBe(createHash('sha256').update(Buffer.concat(pieces)).digest('hex'));
    expect(await other.digest()).toBe(expected(pieces[1]!).sha256);
    // A dropped hash is gone from the thread: nothing more is taken for it.
    const dropped = thread.sha256InOrder();
    await dropped.update(shared(10));
    dropped.drop();
    await expect(dropped.digest()).rejects.toThrow(/no running hash/);
  });

  it('a running hash fails, never gives a digest of part of the bytes, when the thread dies under it; the next one works', async () => {
    thread = new DigestThread();
    const hash = thread.sha256InOrder();
    await hash.update(shared(1 << 20));
    const owed = [hash.update(shared(8 << 20)), hash.update(shared(8 << 20))];
    await thread.kill();
    await expect(Promise.all(owed)).rejects.toThrow(/digest thread ended/);
    await expect(hash.update(shared(10))).rejects.toThrow(/digest thread ended/);
    await expect(hash.digest()).rejects.toThrow(/digest thread ended/);
    const next = thread.sha256InOrder();
    const body = shared(1 << 16);
    await next.update(body);
    expect(await next.digest()).toBe(expected(body).sha256);
  });

  it('a process waits for what it is owed, then ends: an idle thread keeps nobody alive', () => {
    // The built module, as the daemon runs it (the suite builds dist/ first).
    const module = fileURLToPath(new URL('../../dist/objectstore/digest-thread.js', import.meta.url));
    const script = `
      const { digestThread } = await import(${JSON.stringify(module)});
      const b = Buffer.from(new SharedArrayBuffer(1 << 20));
      b.fill(7);
      const d = await digestThread.digests(b, ['sha256']);
      console.log(d.sha256, JSON.stringify(digestThread.counts));`;
    const dir = tempDir('tierfs-digest-');
    writeFileSync(join(dir.path, 'child.mjs'), script);
    const r = spawnSync(process.execPath, [join(dir.path, 'child.mjs')], { encoding: 'utf8', timeout: 20_000 });
    dir.remove();
    expect(r.error, r.stderr).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${createHash('sha256').update(Buffer.alloc(1 << 20, 7)).digest('hex')} {"threaded":1,"inline":0}`);
  });
});
