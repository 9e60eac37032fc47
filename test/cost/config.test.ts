// The cost section as a user writes it: tierfs config validate prints the numbers each
// tier and backend is priced at, their source and date, marks overrides, and refuses a
// price for a tier that does not exist.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

let dir: ReturnType<typeof tempDir> | undefined;
afterEach(() => dir?.remove());

const yaml = (cost: string) => `dataDir: ./data
tiers:
  - { name: hot, kind: local, volumes: [./hot] }
  - name: cold
    kind: object
    scheme: { k: 1, m: 1 }
    backends:
      - { type: fs, root: ./a, name: near }
      - { type: fs, root: ./b, name: far }
cost:
${cost}`;

describe('cost: in tierfs.yaml', () => {
  it('config validate shows the preset numbers in use, per backend where they differ, overrides marked', async () => {
    dir = tempDir();
    const file = join(dir.path, 'tierfs.yaml');
    writeFileSync(file, yaml(`  tiers:
    hot: { storagePerGBMonth: 0.015 }
    cold:
      class: s3-standard-ia
      backends:
        far: { class: s3-glacier-ir, readsPer1000: 0.02 }
`));
    const r = await runCli(['config', 'validate', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hot: local (no list price; * = set in the configuration): $0.015/GB-month*');
    expect(r.stdout).toMatch(/cold\/near: s3-standard-ia \(list prices of 2024-06, us-east-1[^)]*\): \$0\.0125\/GB-month, writes \$0\.01\/1000, reads \$0\.001\/1000, retrieval \$0\.01\/GB, minimum 30 days, objects billed as ≥ 128 KiB/);
    expect(r.stdout).toMatch(/cold\/far: s3-glacier-ir .*: \$0\.004\/GB-month, .*reads \$0\.02\/1000\*, retrieval \$0\.03\/GB, minimum 90 days/);
    const j = await runCli(['config', 'validate', '--json', file]);
    const prices = JSON.parse(j.stdout).prices;
    expect(prices[1].backends[1]).toMatchObject({ backend: 'far', price: { class: 's3-glacier-ir', asOf: '2024-06', readsPer1000: 0.02, overridden: ['readsPer1000'] } });
  });

  it('refuses a price for a tier that does not exist, or a class that is not a preset', async () => {
    dir = tempDir();
    const file = join(dir.path, 'tierfs.yaml');
    writeFileSync(file, yaml('  tiers:\n    warm: { storagePerGBMonth: 0.01 }\n'));
    const r = await runCli(['config', 'validate', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cost.tiers.warm: no tier named "warm" (tiers: hot, cold)');
    writeFileSync(file, yaml('  tiers:\n    cold: { class: s3-platinum }\n'));
    const bad = await runCli(['config', 'validate', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cost\.tiers\.cold\.class: Invalid option: expected one of "local"\|"s3-standard"/);
  });
});
