// What only the filesystem backend has: its layout on disk, its atomic writes, and
// bytes that rot at rest (the store's own checksum must catch them).
import { mkdtemp, open, readdir, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { CorruptDataError, createObjectStore, type ObjectStore } from '../../src/objectstore/index.js';
import { FsStore } from '../../src/objectstore/fs.js';
import { decodeSegment, encodeSegment, objectPath } from '../../src/objectstore/fs-layout.js';

let root: string;
let store: ObjectStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tierfs-fs-test-'));
  store = createObjectStore(backendConfigSchema.parse({ type: 'fs', root, retry: { maxAttempts: 2, baseDelay: '1ms' } }));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function treeOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(relative(root, join(e.parentPath, e.name)) + (e.isDirectory() ? '/' : ''));
  }
  return out.sort();
}

describe('fs layout', () => {
  it.each(['plain', '', 'with ~ tilde', '100%', 'tab\there', '~', '%', '%41'])('segment %j survives encoding', (segment) => {
    const name = encodeSegment(segment);
    expect(name).not.toContain('~');
    expect(name).not.toContain('/');
    expect(decodeSegment(name)).toBe(segment);
  });

  it('keeps every key under the root, objects ending in "~", directories never', () => {
    for (const key of ['a', 'a/b', 'a/b/', 'x//y', 'ü/🎉', 'dots.../..x/x..']) {
      const { dir, file } = objectPath('/srv/root', key);
      expect(file.startsWith('/srv/root/')).toBe(true);
      expect(dir.startsWith('/srv/root')).toBe(true);
      expect(file.endsWith('~')).toBe(true);
      expect(relative('/srv/root', dir).includes('~')).toBe(false);
    }
    expect(() => objectPath('/srv/root', '../etc/passwd')).toThrow(/"\.\."/);
    expect(() => objectPath('/srv/root', 'a/'.padEnd(600, 'x'))).toThrow(/too long/);
  });

  it('lays out a key and a same-named prefix side by side, and prunes empty directories', async () => {
    await store.put('t/a', Buffer.from('1'));
    await store.put('t/a/b', Buffer.from('2'));
    expect(await treeOf(join(root, 't'))).toEqual(['t/a/', 't/a/b~', 't/a~']);
    await store.delete('t/a/b');
    await store.delete('t/a');
    expect((await readdir(root)).includes('t')).toBe(false);
  });
});

describe('fs writes', () => {
  it('leaves no temporary file behind when a streamed put fails midway', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1000));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(store.put('w/broken', failing)).rejects.toThrow('put w/broken: source broke');
    const names = await readdir(join(root, 'w')).catch(() => [] as string[]);
    expect(names.filter((n) => n.includes('~tmp'))).toEqual([]);
    await expect(store.head('w/broken')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('lists neither temporary nor foreign files', async () => {
    await store.put('l/real', Buffer.from('x'));
    await mkdir(join(root, 'l'), { recursive: true });
    await writeFile(join(root, 'l', '~tmp-deadbeef'), 'half-written');
    await writeFile(join(root, 'l', 'README'), 'not an object');
    const keys: string[] = [];
    for await (const e of store.list('l/')) keys.push(e.key);
    expect(keys).toEqual(['l/real']);
  });

  it('writes each object as one file holding the body first, so a reader of the disk sees the data', async () => {
    await store.put('d/plain', Buffer.from('hello'));
    const st = await stat(join(root, 'd', 'plain~'));
    expect(st.size).toBeGreaterThan(5);
    const handle = await open(join(root, 'd', 'plain~'), 'r');
    const head = Buffer.alloc(5);
    await handle.read(head, 0, 5, 0);
    await handle.close();
    expect(head.toString()).toBe('hello');
  });

  it('makes objects readable by the daemon only, as a bucket is: files 0600, directories 0700', async () => {
    await store.put('private/deep/cell', Buffer.from('bytes of a file'));
    expect((await stat(join(root, 'private', 'deep', 'cell~'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'private'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, 'private', 'deep'))).mode & 0o777).toBe(0o700);
  });
});

describe('bytes that rot on disk', () => {
  it('are caught by the CRC recorded at put, for Buffer and streamed puts', async () => {
    await store.put('rot/buf', Buffer.alloc(10_000, 7));
    await store.put('rot/stream', Readable.from([Buffer.alloc(5000, 7), Buffer.alloc(5000, 7)]));
    for (const key of ['rot/buf', 'rot/stream']) {
      const file = join(root, 'rot', `${key.split('/')[1]}~`);
      const handle = await open(file, 'r+');
      await handle.write(Buffer.from([0x08]), 0, 1, 1234);
      await handle.close();
      await expect(store.get(key)).rejects.toBeInstanceOf(CorruptDataError);
      // A range cannot be checked against a whole-object CRC; its length still is.
      expect((await store.get(key, { range: { offset: 1000, length: 10 } })).data.length).toBe(10);
    }
  });

  it('a bare FsStore (no integrity wrapper) would have returned them: the check is the wrapper', async () => {
    const bare = new FsStore({ root });
    expect((await bare.get('rot/buf')).data[1234]).toBe(0x08);
  });
});
