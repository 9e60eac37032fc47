// The dashboard's files: its own (src/dashboard/ui, plain ES modules served as they are:
// no build step) and a fixed list of files from its libraries in node_modules. Nothing
// else on disk is reachable, and nothing is fetched from elsewhere.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The UI folder: beside this module when run from src/, in src/ when run from dist/. */
function uiDir(): string {
  for (const d of [join(HERE, 'ui'), join(HERE, '..', '..', 'src', 'dashboard', 'ui')]) if (existsSync(join(d, 'index.html'))) return d;
  throw new Error(`the dashboard's files are not installed (looked in ${HERE}/ui and src/dashboard/ui)`);
}

/** URL name under /vendor/ → package and file in it. */
const VENDOR: Record<string, [string, string]> = {
  'preact.mjs': ['preact', 'dist/preact.mjs'],
  'hooks.mjs': ['preact', 'hooks/dist/hooks.mjs'],
  'htm.mjs': ['htm', 'dist/htm.mjs'],
  'uPlot.esm.js': ['uplot', 'dist/uPlot.esm.js'],
  'uPlot.min.css': ['uplot', 'dist/uPlot.min.css'],
};

function packageDir(name: string): string {
  for (let d = HERE; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (dirname(d) === d) throw new Error(`package ${name} is not installed`);
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface StaticFile {
  type: string;
  body: Buffer;
}

export class StaticFiles {
  private readonly cache = new Map<string, StaticFile>();
  private readonly dir = uiDir();

  /** A URL path's file, or undefined: "/", "/ui/NAME" (no subfolders), "/vendor/NAME" from the list. */
  get(pathname: string): StaticFile | undefined {
    let file: string | undefined;
    if (pathname === '/' || pathname === '/index.html') file = join(this.dir, 'index.html');
    else if (/^\/ui\/[\w-]+\.(js|css)$/.test(pathname)) file = join(this.dir, pathname.slice('/ui/'.length));
    else if (pathname.startsWith('/vendor/')) {
      const v = VENDOR[pathname.slice('/vendor/'.length)];
      if (v) file = join(packageDir(v[0]), v[1]);
    }
    if (!file || !existsSync(file)) return undefined;
    // Read at each request while developing from src/ (edits show at reload); kept once from dist/.
    const cached = this.cache.get(file);
    if (cached) return cached;
    const f = { type: TYPES[extname(file)] ?? 'application/octet-stream', body: readFileSync(file) };
    if (!HERE.includes(`${join('src', 'dashboard')}`)) this.cache.set(file, f);
    return f;
  }
}
