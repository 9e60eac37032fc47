// Glob semantics of placement rules: what each wildcard spans, anchoring, alternatives.
import { describe, expect, it } from 'vitest';
import { checkGlob, globMatch } from '../../src/policy/glob.js';

const cases: [glob: string, path: string, matches: boolean][] = [
  // a glob without '/' matches the name at any depth
  ['*.tmp', 'a.tmp', true],
  ['*.tmp', 'x/y/a.tmp', true],
  ['*.tmp', 'a.tmp.bak', false],
  ['*.tmp', 'dir.tmp/file', false],
  // '*' never crosses '/'
  ['logs/*.log', 'logs/a.log', true],
  ['logs/*.log', 'logs/2024/a.log', false],
  ['logs/*.log', 'x/logs/a.log', false], // with a '/', anchored at the root
  // '**' crosses directories; '**/' also matches no directory at all
  ['logs/**', 'logs/2024/01/a.log', true],
  ['logs/**', 'logs', false],
  ['**/cache/*', 'cache/a', true],
  ['**/cache/*', 'a/b/cache/c', true],
  ['**/cache/*', 'a/b/cache/c/d', false],
  ['a/**/z', 'a/z', true],
  ['a/**/z', 'a/b/c/z', true],
  ['a/**/z', 'a/bz', false],
  // '?' is one character, not '/'
  ['img?.png', 'img1.png', true],
  ['img?.png', 'img12.png', false],
  ['a?b', 'a/b', false],
  // alternatives, also holding wildcards and nested groups
  ['*.{jpg,png}', 'p/photo.png', true],
  ['*.{jpg,png}', 'photo.gif', false],
  ['{*.iso,raw/**}', 'raw/2024/x.cr2', true],
  ['{*.iso,raw/**}', 'd/disk.iso', true],
  ['{*.iso,raw/**}', 'd/raw/x', false],
  ['media/{a,b{1,2}}/*', 'media/b2/x', true],
  ['media/{a,b{1,2}}/*', 'media/b3/x', false],
  // regex characters are literal
  ['v1.0+(rc)', 'v1.0+(rc)', true],
  ['v1.0+(rc)', 'v1x0+(rc)', false],
  ['a$^b', 'a$^b', true],
  // a leading '/' anchors a name at the root
  ['/build', 'build', true],
  ['/build', 'src/build', false],
  ['build', 'src/build', true],
];

describe('globMatch', () => {
  it.each(cases)('%s against %s → %s', (glob, path, matches) => {
    expect(globMatch(glob, path)).toBe(matches);
  });

  it('refuses malformed braces with a message naming the glob', () => {
    expect(() => checkGlob('*.{jpg,png')).toThrow(/unclosed "\{" in glob "\*\.\{jpg,png"/);
    expect(() => checkGlob('a}b')).toThrow(/unmatched "\}"/);
    expect(() => checkGlob('{a,{b,c}')).toThrow(/unclosed/);
  });
});
