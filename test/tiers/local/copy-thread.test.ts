// The copy thread of moves between local volumes: exact bytes, holes, attributes and the
// source's hash; the bandwidth limit asked before every piece; its errors reported with
// their codes; it runs at the lowest CPU priority; and a thread that dies fails its
// copies with EIO, never leaves them hanging, and the next copy works.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CopyThread } from '../../../src/tiers/local/copy-thread.js';
import { tempDir } from '../../helpers/tmp.js';

const MiB = 2 ** 20;
let dir: ReturnType<typeof tempDir> | undefined;
let fds: number[] = [];
afterEach(() => {
  for (const fd of fds) closeSync(fd);
  fds = [];
  dir?.remove();
  dir = undefined;
});

/** A file of data blocks with every third 4 KiB block zero, opened for reading. */
function source(size: number): { fd: number; data: Buffer } {
  dir ??= tempDir();
  const data = Buffer.alloc(size);
  for (let at = 0; at < size; at += 4096) if ((at / 4096) % 3 !== 0) data.fill(((at / 4096) & 0xff) | 1, at, Math.min(size, at + 4096));
  const path = join(dir.path, `src-${size}`);
  writeFileSync(path, data);
  const fd = openSync(path, 'r');
  fds.push(fd);
  return { fd, data };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The nice value of each of this process's threads (field 19 of /proc/self/task/TID/stat). */
function niceOfThreads(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('the copy thread', () => {
  it('copies the exact bytes with holes kept, gives the copy its attributes, and returns the source hash', async () => {
    const { fd, data } = source(3 * MiB + 4096 * 5 + 17);
    const target = join(dir!.path, 'copy');
    const thread = new CopyThread();
    const progress: number[] = [];
    const mtimeNs = 1_700_000_000_123_456_000n;
    const sha256 = await thread.copy(fd, data.length, target, {
      attrs: { uid: 1234, gid: 2345, mode: 0o100640, atimeNs: mtimeNs, mtimeNs },
      onProgress: (b) => progress.push(b),
    });
    expect(sha256).toBe(sha(data));
    expect(readFileSync(target).equals(data)).toBe(true);
    const st = statSync(target, { bigint: true });
    expect([Number(st.uid), Number(st.gid), Number(st.mode) & 0o7777]).toEqual([1234, 2345, 0o640]);
    expect(Number(st.mtimeNs / 1000n)).toBe(Number(mtimeNs / 1000n));
    // Zeros are holes: the copy holds about two thirds of its length.
    expect(Number(st.blocks) * 512).toBeLessThan(data.length * 0.75);
    expect(progress.at(-1)).toBe(data.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(await thread.hash(target)).toBe(sha256);
  });

  it('asks the bandwidth limit before each piece, so two copies take turns within it', async () => {
    const a = source(3 * MiB);
    const b = source(2 * MiB + 1);
    const thread = new CopyThread();
    const asked: number[] = [];
    const throttle = async (n: number) => {
      asked.push(n);
      await new Promise((r) => setTimeout(r, 5));
    };
    const [ha, hb] = await Promise.all([
      thread.copy(a.fd, a.data.length, join(dir!.path, 'a'), { throttle }),
      thread.copy(b.fd, b.data.length, join(dir!.path, 'b'), { throttle }),
    ]);
    expect([ha, hb]).toEqual([sha(a.data), sha(b.data)]);
    expect(asked.reduce((x, y) => x + y, 0)).toBe(a.data.length + b.data.length);
    expect(asked.every((n) => n <= MiB)).toBe(true);
  });

  it('reports the error of a copy with its code, and goes on with the next', async () => {
    const { fd, data } = source(MiB);
    const thread = new CopyThread();
    const target = join(dir!.path, 'exists');
    writeFileSync(target, 'someone else');
    await expect(thread.copy(fd, data.length, target)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(target, 'utf8')).toBe('someone else');
    await expect(thread.copy(fd, data.length + 10, join(dir!.path, 'long'))).rejects.toThrow(`source ended early at ${data.length}`);
    mkdirSync(join(dir!.path, 'sub'));
    expect(await thread.copy(fd, data.length, join(dir!.path, 'sub', 'ok'))).toBe(sha(data));
  });

  it('runs at the lowest CPU priority', async () => {
    const { fd, data } = source(2 * MiB);
    const thread = new CopyThread();
    const before = niceOfThreads().filter((n) => n === 19).length;
    let during = 0;
    await thread.copy(fd, data.length, join(dir!.path, 'c'), {
      throttle: async () => void (during = Math.max(during, niceOfThreads().filter((n) => n === 19).length)),
    });
    expect(during).toBe(before + 1);
  });

  it('a thread that dies fails its copies with EIO, and the next copy starts another', async () => {
    const { fd, data } = source(4 * MiB);
    const thread = new CopyThread();
    let asked = 0;
    const copy = thread.copy(fd, data.length, join(dir!.path, 'killed'), {
      // The second piece waits here while the thread is killed.
      throttle: async () => {
        if (++asked === 2) await thread.kill();
      },
    });
    await expect(copy).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/the copy thread stopped/) });
    expect(await thread.copy(fd, data.length, join(dir!.path, 'again'))).toBe(sha(data));
  });
});
