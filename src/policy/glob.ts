// Path globs of placement rules, matched against paths relative to the mount root:
// `*` any run of characters but '/', `**` any run including '/', `?` one character,
// `{a,b}` alternatives (each may hold globs itself: "{*.jpg,raw/**}"). A glob
// without a '/' matches the file's name at any depth, as .gitignore patterns do
// ("*.tmp"); a leading '/' anchors a glob at the root ("/build" is only the top one).

const cache = new Map<string, RegExp>();

const escape = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** The index of the '}' closing the '{' at `open`, counting nested braces. */
function closingBrace(glob: string, open: number): number {
  let depth = 0;
  for (let i = open; i < glob.length; i++) {
    if (glob[i] === '{') depth++;
    else if (glob[i] === '}' && --depth === 0) return i;
  }
  throw new Error(`unclosed "{" in glob "${glob}"`);
}

/** Split the inside of a brace group at its top-level commas. */
function alternatives(inner: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === '{') depth++;
    else if (inner[i] === '}') depth--;
    else if (inner[i] === ',' && depth === 0) {
      out.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  out.push(inner.slice(start));
  return out;
}

/** The regular expression source of a glob, unanchored. */
function translate(glob: string): string {
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
      const end = closingBrace(glob, i);
      re += `(?:${alternatives(glob.slice(i + 1, end)).map(translate).join('|')})`;
      i = end;
    } else if (c === '}') throw new Error(`unmatched "}" in glob "${glob}"`);
    else re += escape(c);
  }
  return re;
}

function toRegExp(glob: string): RegExp {
  if (glob.startsWith('/')) return new RegExp(`^${translate(glob.slice(1))}$`);
  return new RegExp(glob.includes('/') ? `^${translate(glob)}$` : `(?:^|/)${translate(glob)}$`);
}

export function globMatch(glob: string, path: string): boolean {
  let re = cache.get(glob);
  if (!re) cache.set(glob, (re = toRegExp(glob)));
  return re.test(path);
}

/** Throws with what is wrong when a glob cannot be compiled (used by the config schema). */
export function checkGlob(glob: string): void {
  toRegExp(glob);
}
