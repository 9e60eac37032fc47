// Path globs of placement rules, matched against paths relative to the mount root:
// `*` any run of characters but '/', `**` any run including '/', `?` one character,
// `{a,b}` alternatives. A glob without a '/' matches the file's name at any depth,
// as .gitignore patterns do ("*.tmp").

const cache = new Map<string, RegExp>();

function toRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // "**/" matches zero or more whole directories
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) throw new Error(`unclosed "{" in glob "${glob}"`);
      re += `(?:${glob.slice(i + 1, end).split(',').map(escape).join('|')})`;
      i = end;
    } else re += escape(c);
  }
  return new RegExp(glob.includes('/') ? `^${re}$` : `(?:^|/)${re}$`);
}

const escape = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&');

export function globMatch(glob: string, path: string): boolean {
  let re = cache.get(glob);
  if (!re) cache.set(glob, (re = toRegExp(glob)));
  return re.test(path);
}

/** Throws with what is wrong when a glob cannot be compiled (used by the config schema). */
export function checkGlob(glob: string): void {
  toRegExp(glob);
}
