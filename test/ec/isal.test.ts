// Known answers: ISA-L (Debian's libisal, through isal_harness.c) and every
// kernel of ours give the same parity for the same data, so cells we write can
// be rebuilt by ISA-L based tools and the other way round.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErasureCodec, availableKernels } from '../../src/ec/index.js';
import { randomShards, rng } from './random.js';

const here = dirname(fileURLToPath(import.meta.url));
let dir = '';
let harness = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tierfs-isal-'));
  harness = join(dir, 'isal_harness');
  execFileSync('cc', ['-O2', join(here, 'isal_harness.c'), '-o', harness, '-lisal']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function isalParity(k: number, m: number, data: Buffer[]): Buffer[] {
  const len = data[0]!.length;
  const out = execFileSync(harness, [String(k), String(m), String(len)], {
    input: Buffer.concat(data),
    maxBuffer: m * len + 1024,
  });
  return Array.from({ length: m }, (_, j) => out.subarray(j * len, (j + 1) * len));
}

const CASES: [number, number, number][] = [
  [1, 1, 7],
  [4, 2, 4096],
  [6, 3, 1000],
  [8, 3, 65_536 + 3],
  [10, 4, 12_345],
  [12, 4, 65_536],
  [20, 12, 999],
  [32, 8, 2048],
  [128, 32, 513],
  [200, 55, 64],
];

describe('parity equals ISA-L', () => {
  for (const [k, m, len] of CASES) {
    it(`${k}+${m}, ${len} bytes, every kernel`, () => {
      const data = randomShards(rng(k * 7 + m), k, len);
      const expected = isalParity(k, m, data);
      for (const kernel of availableKernels()) {
        const parity = Array.from({ length: m }, () => Buffer.alloc(len));
        new ErasureCodec(k, m, { kernel }).encode(data, parity);
        for (let j = 0; j < m; j++) {
          if (!parity[j]!.equals(expected[j]!)) expect.fail(`${kernel} ${k}+${m}: parity ${j} differs from ISA-L`);
        }
      }
    });
  }
});
