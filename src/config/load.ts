// Reading tierfs.yaml: YAML → schema → paths made absolute. A bad file is refused
// with every problem found, each naming the key path, the line and what was expected.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { DEFAULT_CONFIG_YAML } from './template.js';

export interface ConfigProblem {
  /** dotted key path, e.g. tiers[1].watermarks.high */
  key: string;
  line?: number;
  column?: number;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'EINVALIDCONFIG';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid configuration ${file}:\n` +
        problems.map((p) => `  ${file}${p.line ? `:${p.line}:${p.column}` : ''}: ${p.key || '(top level)'}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** the file it came from, or '<default>' for the embedded one */
  file: string;
  /** the text as read, stored with each config version */
  text: string;
}

export function formatKey(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/** Parse and validate YAML text; relative paths are resolved against baseDir. */
export function parseConfig(text: string, file: string, baseDir: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { key: '', line: pos.line, column: pos.col, message: `YAML syntax: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) throw new ConfigError(file, result.error.issues.map((issue) => describeIssue(issue, doc, lines)));
  return resolvePaths(result.data, baseDir);
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter): ConfigProblem {
  // Point at the deepest node that exists: a missing key is reported at its parent.
  let offset: number | undefined;
  for (let depth = issue.path.length; depth >= 0 && offset === undefined; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(issue.path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) offset = node.range[0];
  }
  let path = issue.path;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    // Point at the (first) unknown key itself, not at the map that holds it.
    const key = keyNode(issue.path.length === 0 ? doc.contents : doc.getIn(issue.path as unknown[], true), issue.keys[0]!);
    if (key?.range) [offset, path] = [key.range[0], [...issue.path, issue.keys[0]!]];
  }
  const pos = offset === undefined ? undefined : lines.linePos(offset);
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    // "tiers[0].kind: expected local or object", "…backends[0].type: expected s3, azure, …"
    const options = 'options' in issue && Array.isArray(issue.options) ? issue.options.map(String) : [];
    message = options.length ? `expected ${options.slice(0, -1).join(', ')}${options.length > 1 ? ' or ' : ''}${options.at(-1)}` : message;
  }
  return { key: formatKey(path), line: pos?.line, column: pos?.col, message };
}

function keyNode(map: unknown, key: string) {
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return pair && isScalar(pair.key) ? pair.key : undefined;
}

function resolvePaths(cfg: Config, baseDir: string): Config {
  const abs = (p: string) => resolve(baseDir, p);
  return {
    ...cfg,
    dataDir: abs(cfg.dataDir),
    catalog: { ...cfg.catalog, backup: { ...cfg.catalog.backup, dir: cfg.catalog.backup.dir === undefined ? undefined : abs(cfg.catalog.backup.dir) } },
    tiers: cfg.tiers.map((t) =>
      t.kind === 'local'
        ? { ...t, volumes: t.volumes.map((v) => ({ ...v, path: abs(v.path) })) }
        : { ...t, backends: t.backends.map((b) => (b.type === 'fs' ? { ...b, root: abs(b.root) } : b)) },
    ),
  };
}

/** Load a config file, or the embedded default (rooted at defaultBase) when file is undefined. */
export function loadConfig(file: string | undefined, defaultBase = process.cwd()): LoadedConfig {
  if (file === undefined) {
    return { config: parseConfig(DEFAULT_CONFIG_YAML, '<default>', defaultBase), file: '<default>', text: DEFAULT_CONFIG_YAML };
  }
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ key: '', message: `cannot read: ${(err as Error).message}` }]);
  }
  return { config: parseConfig(text, path, dirname(path)), file: path, text };
}
