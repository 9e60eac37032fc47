// Path globs of placement rules, matched against paths relative to the mount root:
// `*` any run of characters but '/', `**` any run including '/', `?` one character,
// `{a,b}` alternatives (expanded as a shell does, each its own glob). A glob without
// a '/' matches the file's name at any depth, as .gitignore patterns do ("*.tmp");
// a leading '/' anchors a glob at the root ("/build" is only the top one).

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

/**
 * Brace expansion, as a shell does it: "a/{b,c{1,2}}" is a/b, a/c1, a/c2. Each
 * result is a glob of its own, anchored by its own '/': "{*.iso,raw/**}" matches
 * any .iso at any depth and everything under the top-level raw.
 */
function expand(glob: string): string[] {
  const open = glob.indexOf('{');
  const close = glob.indexOf('}');
  if (open < 0) {
    if (close >= 0) throw new Error(`unmatched "}" in glob "${glob}"`);
    return [glob];
  }
  if (close >= 0 && close < open) throw new Error(`unmatched "}" in glob "${glob}"`);
  const end = closingBrace(glob, open);
  const head = glob.slice(0, open);
  const tails = expand(glob.slice(end + 1));
  return alternatives(glob.slice(open + 1, end)).flatMap((alt) => expand(alt).flatMap((a) => tails.map((t) => head + a + t)));
}

/** The regular expression source of a glob without braces, unanchored. */
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
    else re += escape(c);
  }
  return re;
}

/** One expanded glob as an anchored regular expression source. */
function anchored(glob: string): string {
  if (glob.startsWith('/')) return `^${translate(glob.slice(1))}$`;
  return glob.includes('/') ? `^${translate(glob)}$` : `(?:^|/)${translate(glob)}$`;
}

function toRegExp(glob: string): RegExp {
  return new RegExp(expand(glob).map(anchored).join('|'));
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
