// Names that are not valid UTF-8. Linux names are bytes, tierfs names are
// strings: such a name would be decoded with U+FFFD in place of its bad bytes,
// and `caf\xe8` (Latin-1 è) would then be the same file as `caf\xe9` (é). The
// mount refuses them (EILSEQ); the import at mount leaves them on the volume and
// reports them. Nothing is ever merged, renamed or lost.
import * as fs from 'node:fs/promises';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TierfsMount } from '../helpers/tierfs.js';
import { run } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const b = (hex: string) => Buffer.from(hex, 'hex');
const bjoin = (...parts: (string | Buffer)[]) => Buffer.concat(parts.flatMap((p, i) => [...(i ? [Buffer.from('/')] : []), Buffer.from(p)]));
const hex = (names: Buffer[]) => names.map((n) => n.toString('hex')).sort();
/** Names on a volume (not the mount: the test process lists that asynchronously). */
const volumeNames = (dir: string) => hex(readdirSync(dir, { encoding: 'buffer' }));
const mountNames = async (dir: string) => hex(await fs.readdir(dir, { encoding: 'buffer' }));

const CAFE_E8 = '636166e8'; // caf\xe8
const CAFE_E9 = '636166e9'; // caf\xe9
const CAFE = Buffer.from('café').toString('hex');

// Every way a name reaches the filesystem, tried from a child process (a name
// inside the mount is never touched synchronously by the test process).
const TRY_NAMES = `
import errno, json, os, sys
mnt = os.fsencode(sys.argv[1])
p = lambda hexname: os.path.join(mnt, bytes.fromhex(hexname))
def attempt(f):
    try:
        f(); return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def create(hexname):
    fd = os.open(p(hexname), os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, bytes.fromhex(hexname)); os.close(fd)
bad, good, cafe = json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
out = {'bad': {n: attempt(lambda: create(n)) for n in bad}, 'good': {n: attempt(lambda: create(n)) for n in good}}
e8 = bad[0]
out['ops'] = {
  'lookup': attempt(lambda: os.stat(p(e8))),
  'mkdir': attempt(lambda: os.mkdir(p(e8))),
  'mknod': attempt(lambda: os.mkfifo(p(e8))),
  'symlink': attempt(lambda: os.symlink(b'target', p(e8))),
  'symlinkTarget': attempt(lambda: os.symlink(bytes.fromhex(e8), p(b'link'.hex()))),
  'rename': attempt(lambda: os.rename(p(cafe), p(e8))),
  'link': attempt(lambda: os.link(p(cafe), p(e8))),
  'unlink': attempt(lambda: os.unlink(p(e8))),
  'rmdir': attempt(lambda: os.rmdir(p(e8))),
  'setxattr': attempt(lambda: os.setxattr(p(cafe), b'user.\\xff', b'v')),
  'getxattr': attempt(lambda: os.getxattr(p(cafe), b'user.\\xff')),
  'removexattr': attempt(lambda: os.removexattr(p(cafe), b'user.\\xff')),
}
print(json.dumps(out))`;

describe('names through the mount', () => {
  it('refuses names that are not valid UTF-8 with EILSEQ, strictly, and overwrites nothing', async () => {
    t = await new TierfsMount().start();
    await fs.writeFile(join(t.mnt, 'café'), 'valid');
    const bad = [
      CAFE_E8, CAFE_E9,
      'c0af', // overlong "/"
      'e080af', // overlong "/", three bytes
      'f08080af', // overlong, four bytes
      'eda080', // UTF-16 surrogate U+D800
      'edbfbf', // surrogate U+DFFF
      'f4908080', // U+110000
      'f5808080', // no such lead byte
      '78e282', // truncated sequence
      '8078', // continuation byte without a lead
    ];
    const good = [
      'f48fbfbf', // U+10FFFF, the last code point
      'efbfbd', // U+FFFD itself is a fine name
      'ed9fbf', // U+D7FF, just below the surrogates
      'ee8080', // U+E000, just above
      'f09f9880', // an emoji
      'c280', // U+0080, the first two-byte one
    ];
    const r = await run('/usr/bin/python3', ['-c', TRY_NAMES, t.mnt, JSON.stringify(bad), JSON.stringify(good), CAFE], { timeoutMs: 20_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, Record<string, string>>;
    expect(out.bad).toEqual(Object.fromEntries(bad.map((n) => [n, 'EILSEQ'])));
    expect(out.good).toEqual(Object.fromEntries(good.map((n) => [n, 'ok'])));
    // The symlink whose target is valid fails only because its name is refused below.
    expect(out.ops).toEqual({
      lookup: 'EILSEQ', mkdir: 'EILSEQ', mknod: 'EILSEQ', symlink: 'EILSEQ', symlinkTarget: 'EILSEQ',
      rename: 'EILSEQ', link: 'EILSEQ', unlink: 'EILSEQ', rmdir: 'EILSEQ',
      setxattr: 'EILSEQ', getxattr: 'EILSEQ', removexattr: 'EILSEQ',
    });
    // Exactly the valid names, each with its own bytes; café untouched.
    const expected = [CAFE, ...good].sort();
    expect(await mountNames(t.mnt)).toEqual(expected);
    expect(volumeNames(t.hot)).toEqual(expected);
    expect(await fs.readFile(join(t.mnt, 'café'), 'utf8')).toBe('valid');
    for (const n of good) expect((await fs.readFile(join(t.mnt, b(n).toString()))).toString('hex')).toBe(n);
  });
});

describe('names found on a tier at mount', () => {
  it('imports the valid entries, reports the others and leaves them on the volume', async () => {
    t = new TierfsMount();
    const hot = t.hot;
    mkdirSync(join(hot, 'ok'), { recursive: true });
    const files: [Buffer, string][] = [
      [bjoin(hot, 'café'), 'valid é'],
      [bjoin(hot, b(CAFE_E8)), 'latin-1 è'],
      [bjoin(hot, b(CAFE_E9)), 'latin-1 é'],
      [bjoin(hot, 'ok', 'y'), 'y'],
      [bjoin(hot, 'ok', b('78fe')), 'x\\xfe'],
      [bjoin(hot, b('64ff'), 'inner'), 'inside a directory with a bad name'],
    ];
    mkdirSync(bjoin(hot, b('64ff')));
    for (const [path, data] of files) writeFileSync(path, data);
    symlinkSync(b(CAFE_E8), bjoin(hot, 'lnk')); // a valid name, a target that is not
    await t.start();

    expect(await mountNames(t.mnt)).toEqual([CAFE, Buffer.from('ok').toString('hex')].sort());
    expect(await fs.readdir(join(t.mnt, 'ok'))).toEqual(['y']);
    expect(await fs.readFile(join(t.mnt, 'café'), 'utf8')).toBe('valid é');
    const reported = {
      [`caf\\xe8`]: 'its name', [`caf\\xe9`]: 'its name', [`d\\xff`]: 'its name', [`ok/x\\xfe`]: 'its name',
      lnk: 'the target of this symlink',
    };
    const status = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout) as { conflicts: { path: string; kind: string; detail: string }[] };
    expect(status.conflicts.map((c) => [c.path, c.kind, c.detail.split(' is not valid UTF-8')[0]]).sort()).toEqual(
      Object.entries(reported).map(([path, what]) => [path, 'name', what]).sort(),
    );
    expect((await t.cli(['status', t.mnt])).stdout).toContain('name: caf\\xe8: its name is not valid UTF-8');
    expect(t.output).toMatch(/not valid UTF-8/);

    // Renamed on the volume, the file is imported at the next mount and no longer reported.
    await t.stop();
    await fs.rename(bjoin(hot, b(CAFE_E8)), join(hot, 'cafe-grave'));
    await t.start();
    expect(await fs.readFile(join(t.mnt, 'cafe-grave'), 'utf8')).toBe('latin-1 è');
    const again = JSON.parse((await t.cli(['status', '--json', t.mnt])).stdout) as { conflicts: { path: string }[] };
    expect(again.conflicts.map((c) => c.path).sort()).toEqual([`caf\\xe9`, `d\\xff`, 'lnk', `ok/x\\xfe`]);
    await t.stop();

    // Every backing entry is still there, with its own bytes.
    files[1]![0] = Buffer.from(join(hot, 'cafe-grave'));
    for (const [path, data] of files) expect(readFileSync(path, 'utf8')).toBe(data);
    expect(volumeNames(hot)).toEqual(
      ['cafe-grave', 'café', 'ok', 'lnk'].map((n) => Buffer.from(n).toString('hex')).concat([CAFE_E9, '64ff']).sort(),
    );
  });
});
