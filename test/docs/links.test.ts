// The documentation is self-contained: every relative link in README.md, docs/ and
// examples/ resolves to a file (or directory) inside the repository. A clone must not
// meet a link into a directory it does not have (the README once pointed at
// ../shared/DESIGN.md).
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { REPO } from '../helpers/tierfs.js';

/** README.md and every Markdown file under docs/ and examples/. */
function documents(): string[] {
  const out = [join(REPO, 'README.md')];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(join(REPO, 'docs'));
  walk(join(REPO, 'examples'));
  return out;
}

/** Link targets of a Markdown text, outside code: inline [text](target) and reference [id]: target. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const reference = [...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...reference];
}

const external = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#');

describe('documentation links', () => {
  it('finds the links it is meant to check', () => {
    const sample = 'see [a](docs/A.md#x) and `[b](c.md)`\n```\n[d](e.md)\n```\n[w](https://x.org)\n[r]: ../f.md\n';
    expect(linkTargets(sample)).toEqual(['docs/A.md#x', 'https://x.org', '../f.md']);
    expect(documents().map((d) => relative(REPO, d))).toEqual(expect.arrayContaining(['README.md', join('docs', 'ARCHITECTURE.md'), join('docs', 'GLOSSARY.md'), join('docs', 'OPERATIONS.md')]));
  });

  it.each(documents().map((d) => [relative(REPO, d), d]))('%s: every relative link resolves to a file in the repository', (_name, doc) => {
    const broken: string[] = [];
    for (const target of linkTargets(readFileSync(doc, 'utf8'))) {
      if (external(target)) continue;
      const path = resolve(dirname(doc), decodeURIComponent(target.split('#')[0]!));
      const inside = path === REPO.replace(/\/$/, '') || path.startsWith(REPO.endsWith(sep) ? REPO : REPO + sep);
      if (!inside || !existsSync(path)) broken.push(`${target}${inside ? '' : ' (outside the repository)'}`);
    }
    expect(broken).toEqual([]);
  });
});
