// The copy thread of moves onto local volumes, from a descriptor it reads itself (another
// local volume) or from pieces handed to it (an object tier's cells): exact bytes, holes,
// attributes and the source's hash; the bandwidth limit asked before every piece; its
// errors, and a source's, reported with their codes and the target closed; it runs at the
// lowest CPU priority; and a thread that dies fails its copies with EIO, never leaves
// them hanging, and the next copy works.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CopyThread } from '../../../src/tiers/local/copy-thread.js';
import type { ByteSource } from '../../../src/tiers/object/types.js';
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

/**
 * A source over `data` read by this thread, as an object tier's cells are: reads take a
 * moment, `failAt` makes the read at that offset fail, `shortBy` ends it early, and
 * `onRead` runs before each read.
 */
function handedSource(data: Buffer, o: { failAt?: number; shortBy?: number; onRead?: (offset: number) => Promise<void> | void } = {}): ByteSource {
  return {
    size: data.length,
    async read(offset, length, into) {
      await o.onRead?.(offset);
      await new Promise((r) => setTimeout(r, 1));
      if (offset === o.failAt) throw new Error(`read at ${offset} failed`);
      const end = Math.min(offset + length, data.length - (o.shortBy ?? 0));
      const out = into ?? Buffer.allocUnsafe(length);
      data.copy(out, 0, offset, end);
      return out.subarray(0, Math.max(0, end - offset));
    },
  };
}

/** Descriptors of this process (its threads included) open on path. */
const openOn = (path: string) => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === path;
  } catch {
    return false; // closed meanwhile (the one readdir used)
  }
}).length;

/** The copy holds data's bytes, with its zero blocks as holes, owned by 1234:2345 with `mode` and mtimeNs (to the µs). */
function expectCopyOf(target: string, data: Buffer, mode: number, mtimeNs: bigint): void {
  expect(readFileSync(target).equals(data)).toBe(true);
  const st = statSync(target, { bigint: true });
  expect([Number(st.uid), Number(st.gid), Number(st.mode) & 0o7777]).toEqual([1234, 2345, mode]);
  expect(Number(st.mtimeNs / 1000n)).toBe(Number(mtimeNs / 1000n));
  // Zeros are holes: the copy holds about two thirds of its length.
  expect(Number(st.blocks) * 512).toBeLessThan(data.length * 0.75);
}

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
    expectCopyOf(target, data, 0o640, mtimeNs);
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
    // Node closes a dead thread's descriptors: the partial copy holds no blocks once removed.
    expect(openOn(join(dir!.path, 'killed'))).toBe(0);
    expect(await thread.copy(fd, data.length, join(dir!.path, 'again'))).toBe(sha(data));
  });

  it('copies pieces handed to it: exact bytes with holes kept, attributes, the source hash, the limit asked before each piece', async () => {
    const data = source(5 * MiB + 4096 * 7 + 3).data;
    const target = join(dir!.path, 'handed');
    const thread = new CopyThread();
    const progress: number[] = [];
    const asked: number[] = [];
    const mtimeNs = 1_700_000_000_123_456_000n;
    const sha256 = await thread.copyFrom(handedSource(data), target, {
      attrs: { uid: 1234, gid: 2345, mode: 0o100604, atimeNs: mtimeNs, mtimeNs },
      onProgress: (b) => progress.push(b),
      throttle: async (n) => void asked.push(n),
    });
    expect(sha256).toBe(sha(data));
    expectCopyOf(target, data, 0o604, mtimeNs);
    expect(progress.at(-1)).toBe(data.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(asked.reduce((x, y) => x + y, 0)).toBe(data.length);
    expect(asked.every((n) => n <= MiB)).toBe(true);
    expect(openOn(target)).toBe(0);
  });

  it('a source that fails or ends early, or a target that exists, fails the copy with its own error and leaves nothing open', async () => {
    const data = source(4 * MiB).data;
    const thread = new CopyThread();
    const failing = join(dir!.path, 'failing');
    await expect(thread.copyFrom(handedSource(data, { failAt: 2 * MiB }), failing)).rejects.toThrow(`read at ${2 * MiB} failed`);
    expect(openOn(failing)).toBe(0);
    const short = join(dir!.path, 'short');
    await expect(thread.copyFrom(handedSource(data, { shortBy: 1000 }), short)).rejects.toThrow(`source ended early at ${data.length - 1000} of ${data.length} bytes`);
    expect(openOn(short)).toBe(0);
    const taken = join(dir!.path, 'taken');
    writeFileSync(taken, 'someone else');
    await expect(thread.copyFrom(handedSource(data), taken)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(taken, 'utf8')).toBe('someone else');
    expect(await thread.copyFrom(handedSource(data), join(dir!.path, 'after'))).toBe(sha(data));
  });

  it('a thread that dies while pieces are handed to it fails the copy with EIO, and the next copy starts another', async () => {
    const data = source(6 * MiB).data;
    const thread = new CopyThread();
    const copy = thread.copyFrom(
      handedSource(data, {
        onRead: async (offset) => {
          if (offset === 3 * MiB) await thread.kill();
        },
      }),
      join(dir!.path, 'killed'),
    );
    await expect(copy).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/the copy thread stopped/) });
    expect(openOn(join(dir!.path, 'killed'))).toBe(0);
    expect(await thread.copyFrom(handedSource(data), join(dir!.path, 'again'))).toBe(sha(data));
  });
});
