// catalog.cacheSize: the memory SQLite keeps of the catalog's pages in the daemon.
import { expect, it } from 'vitest';
import { join } from 'node:path';
import { Catalog } from '../../src/catalog/catalog.js';
import { parseConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('tierfs-page-cache-');

it('a catalog opened with cacheBytes keeps that many KiB of pages; the configuration gives 64 MiB unless told', () => {
  const cfg = parseConfig('dataDir: ./d\ntiers:\n  - {name: hot, kind: local, volumes: [./hot]}\n', join(dir.path, 'tierfs.yaml'), dir.path);
  expect(cfg.catalog.cacheSize).toBe(64 * 2 ** 20);
  const sized = parseConfig('dataDir: ./d\ntiers:\n  - {name: hot, kind: local, volumes: [./hot]}\ncatalog:\n  cacheSize: 8MiB\n', join(dir.path, 'tierfs.yaml'), dir.path);
  const c = new Catalog(join(dir.path, 'c.db'), { cacheBytes: sized.catalog.cacheSize });
  expect(c.db.pragma('cache_size', { simple: true })).toBe(-8192);
  c.close();
  dir.remove();
});
