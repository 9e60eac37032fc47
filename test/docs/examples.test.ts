// Every configuration in examples/ is one `tierfs config validate` accepts, as a user
// would check it before mounting, and the ones the documentation promises are there.
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, runCli, type CliResult } from '../helpers/tierfs.js';

const dir = join(REPO, 'examples');
const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

// Before the checks: each run starts the CLI from source, seconds apiece.
const results = new Map<string, CliResult>();
beforeAll(async () => {
  const runs = [...examples.map((f) => ['config', 'validate', join(dir, f)]), ['config', 'validate', '--json', join(dir, 'two-backend-cold.yaml')]];
  // Two at a time: the machine has two cores.
  const next = async (): Promise<void> => {
    const args = runs.shift();
    if (!args) return;
    results.set(args.join(' '), await runCli(args));
    return next();
  };
  await Promise.all([next(), next()]);
});

describe('examples/', () => {
  it('has S3, MinIO/Ceph, Azure, GCS, a two-backend cold tier and an archive tier', () => {
    expect(examples).toEqual(expect.arrayContaining(['s3.yaml', 'minio.yaml', 'azure.yaml', 'gcs.yaml', 'two-backend-cold.yaml', 'archive.yaml']));
  });

  it.each(examples)('%s passes tierfs config validate', async (file) => {
    const r = results.get(['config', 'validate', join(dir, file)].join(' '))!;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: valid \(\d+ tiers: /);
  });

  it('the two-backend cold tier survives the loss of a whole backend, as its comments say', async () => {
    const r = results.get(['config', 'validate', '--json', join(dir, 'two-backend-cold.yaml')].join(' '))!;
    expect(JSON.parse(r.stdout).durability).toEqual([{ tier: 'cold', k: 2, m: 2, backends: 2, survivesBackendLosses: 1, cellsInParts: [] }]);
  });
});
