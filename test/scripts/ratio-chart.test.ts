// The report's charts: every ratio of a bench's tables, found in its printed output, and
// drawn as bars on a log scale around 1.0× (scripts/bench/lib/ratio-chart.ts); `npm run
// bench -- all --charts` draws them again for a report as it stands, once per section.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ratioChart, ratiosIn } from '../../scripts/bench/lib/ratio-chart.js';
import { REPO } from '../helpers/tierfs.js';

const FUSE = `sequential 256 MiB (dd, 1 MiB blocks), small files created + stat-ed

target                    write MB/s  small ops/s  small×8 ops/s  write/direct  small/mergerfs
direct                          1319        31831          18850         1.00×           4.82×
tierfs (passthrough off)         776         6064           5041         0.59×           0.92×
mergerfs                         745         6608           4819         0.56×           1.00×

recording overhead: read 26.5%, write -5.6%`;

const EC = `code  shard   mode  op      ISA-L        gfni512          avx2
----  ------  ----  ------  -----  -------------  ------------
4+2   64 KiB  warm  encode   48.1   86.8 (1.80x)  20.0 (0.42x)`;

const BINDING = `target            read MB/s  ×direct  ×mergerfs  write MB/s  ×direct
tierfs fast path       1647     0.99       5.96         417     0.57`;

const MARKDOWN = `| backend        | op  | layer MB/s | layer/SDK |   p25–p75 |
|----------------|-----|-----------:|----------:|----------:|
| s3 (s3rver)    | get |        241 |     80.7% |  66%–104% |`;

describe('ratiosIn', () => {
  it('reads each ratio cell with its row and column, and skips the reference row', () => {
    expect(ratiosIn(FUSE)).toEqual([
      { row: 'direct', column: 'write/direct', value: 1 },
      { row: 'direct', column: 'small/mergerfs', value: 4.82 },
      { row: 'tierfs (passthrough off)', column: 'write/direct', value: 0.59 },
      { row: 'tierfs (passthrough off)', column: 'small/mergerfs', value: 0.92 },
      { row: 'mergerfs', column: 'write/direct', value: 0.56 },
      { row: 'mergerfs', column: 'small/mergerfs', value: 1 },
    ]);
    expect(ratiosIn('target     a/ref  b/ref\nref        1.00×  1.00×\nx          0.50×  2.00×')).toEqual([
      { row: 'x', column: 'a/ref', value: 0.5 },
      { row: 'x', column: 'b/ref', value: 2 },
    ]);
  });

  it('takes a row label from its leading cells, and a ratio from "figure (ratio x)"', () => {
    expect(ratiosIn(EC)).toEqual([
      { row: '4+2 64 KiB warm encode', column: 'gfni512', value: 1.8 },
      { row: '4+2 64 KiB warm encode', column: 'avx2', value: 0.42 },
    ]);
  });

  it('names a "×peer" column after the figure before it', () => {
    expect(ratiosIn(BINDING)).toEqual([
      { row: 'tierfs fast path', column: 'read MB/s ×direct', value: 0.99 },
      { row: 'tierfs fast path', column: 'read MB/s ×mergerfs', value: 5.96 },
      { row: 'tierfs fast path', column: 'write MB/s ×direct', value: 0.57 },
    ]);
  });

  it('reads a markdown table, a percentage under "a/b" as a ratio', () => {
    expect(ratiosIn(MARKDOWN)).toEqual([{ row: 's3 (s3rver) get', column: 'layer/SDK', value: 0.807 }]);
  });

  it('finds nothing in output without ratios', () => {
    expect(ratiosIn('case   p50 µs  p99 µs\nreads      30      74')).toEqual([]);
  });
});

describe('ratioChart', () => {
  const barsOf = (svg: string) => [...svg.matchAll(/<rect class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({ x: Number(m[1]), width: Number(m[2]) }));

  it('draws a bar per ratio, 2× as far right of the 1.0× line as 0.5× is left of it', () => {
    const svg = ratioChart('t', [
      { row: 'a', column: 'c', value: 2 },
      { row: 'b', column: 'c', value: 0.5 },
      { row: 'x <&> y', column: 'c', value: 1.25 },
    ])!;
    const [two, half] = barsOf(svg);
    expect(barsOf(svg)).toHaveLength(3);
    expect(two!.x).toBeCloseTo(half!.x + half!.width, 1); // both meet at the 1.0× line
    expect(two!.width).toBeCloseTo(half!.width, 1);
    expect(svg).toContain('x &lt;&amp;&gt; y');
    expect(svg.match(/<svg /g)).toHaveLength(1);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(ratioChart('none', [])).toBeUndefined();
  });

  it('draws one bar per column, the median with the least and most, when a table has too many', () => {
    const ratios = Array.from({ length: 130 }, (_, i) => ({ row: `r${i}`, column: i % 2 ? 'odd' : 'even', value: 1 + i / 100 }));
    const svg = ratioChart('t', ratios)!;
    expect(barsOf(svg)).toHaveLength(2);
    expect(svg).toContain('even (median of 65, least to most)');
  });
});

it('npm run bench -- all --charts draws each section\'s chart beside the report, once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tierfs-charts-'));
  try {
    const report = join(dir, 'PERFORMANCE.md');
    writeFileSync(report, `# Performance\n\n## fuse\n\nWhat it measures.\n\n\`\`\`\n${FUSE}\n\`\`\`\n\nA paragraph.\n\n## placement\n\n\`\`\`\ncase   p50 µs\nreads      30\n\`\`\`\n`);
    for (let i = 0; i < 2; i++) {
      const r = spawnSync('npm', ['run', '--silent', 'bench', '--', 'all', '--charts', '--out', report], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
    }
    const text = readFileSync(report, 'utf8');
    expect(text.match(/!\[fuse: [^\]]*\]\(perf\/fuse\.svg\)/g)).toHaveLength(1);
    expect(text).toContain('```\n\n![fuse:');
    expect(text).toContain('A paragraph.');
    expect(existsSync(join(dir, 'perf', 'fuse.svg'))).toBe(true);
    expect(existsSync(join(dir, 'perf', 'placement.svg'))).toBe(false);
    expect(barsOf(readFileSync(join(dir, 'perf', 'fuse.svg'), 'utf8'))).toHaveLength(6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  function barsOf(svg: string) {
    return [...svg.matchAll(/<rect class="bar"/g)];
  }
});
