#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm ci`); without a build it runs the
// TypeScript through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
// TIERFS_FROM_SOURCE=1 forces the TypeScript sources (tests: never a stale build).
if (existsSync(compiled) && !process.env.TIERFS_FROM_SOURCE) {
  const { main } = await import(pathToFileURL(compiled).href);
  await main();
} else {
  const { tsImport } = await import('tsx/esm/api');
  const { main } = await tsImport(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href, import.meta.url);
  await main();
}
