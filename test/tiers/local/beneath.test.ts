// withNamesBeneath: a rename's two backing names reached through their directories'
// descriptors (one when they share a directory), no symlink followed on either path.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withNamesBeneath } from '../../../src/tiers/local/beneath.js';
import { tempDir } from '../../helpers/tmp.js';

let vol: ReturnType<typeof tempDir>;
let outside: ReturnType<typeof tempDir>;
beforeEach(() => {
  vol = tempDir('tierfs-beneath-');
  outside = tempDir('tierfs-beneath-outside-');
});
afterEach(() => {
  vol.remove();
  outside.remove();
});

/** The code of what fn throws ('' when it throws nothing). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return '';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'no code';
  }
}
const rename = (from: string, to: string, create = false) =>
  withNamesBeneath(vol.path, from, to, (src, dst) => renameSync(src, dst), create ? () => ({ mode: 0o755, uid: 0, gid: 0 }) : undefined);

describe('withNamesBeneath', () => {
  it('renames within one directory and between two, making the new name’s directories when asked', () => {
    mkdirSync(join(vol.path, 'd'));
    writeFileSync(join(vol.path, 'd/a'), 'A');
    rename('d/a', 'd/b');
    expect(readFileSync(join(vol.path, 'd/b'), 'utf8')).toBe('A');
    expect(codeOf(() => rename('d/b', 'e/f/b'))).toBe('ENOENT');
    rename('d/b', 'e/f/b', true);
    expect(readFileSync(join(vol.path, 'e/f/b'), 'utf8')).toBe('A');
    expect(existsSync(join(vol.path, 'd/b'))).toBe(false);
  });

  it('follows no symlink put in place of a directory, on either name’s path, in one directory or two', () => {
    mkdirSync(join(vol.path, 'd'));
    writeFileSync(join(vol.path, 'd/a'), 'A');
    writeFileSync(join(outside.path, 'secret'), 'S');
    symlinkSync(outside.path, join(vol.path, 'link'));
    expect(codeOf(() => rename('link/secret', 'link/taken'))).toBe('ELOOP');
    expect(codeOf(() => rename('link/secret', 'd/taken'))).toBe('ELOOP');
    expect(codeOf(() => rename('d/a', 'link/a'))).toBe('ELOOP');
    expect(readFileSync(join(outside.path, 'secret'), 'utf8')).toBe('S');
    expect(existsSync(join(outside.path, 'taken')) || existsSync(join(outside.path, 'a'))).toBe(false);
    expect(readFileSync(join(vol.path, 'd/a'), 'utf8')).toBe('A');
  });
});
