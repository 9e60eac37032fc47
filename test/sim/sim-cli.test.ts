// `tierfs sim` and `tierfs sim generate` as a script uses them: a generated trace with a
// malformed line added, replayed with --json, a sweep and --plot.
import { describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/tierfs.js';

describe('tierfs sim', () => {
  it('generates a reproducible trace, replays it with a capacity sweep, reports malformed lines and writes the charts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tierfs-sim-cli-'));
    const [a, b] = [join(dir, 'a.csv'), join(dir, 'b.csv')];
    for (const f of [a, b]) expect((await runCli(['sim', 'generate', 'zipf', '--seed', '9', '--files', '50', '--events', '400', '--days', '1', '--out', f])).code).toBe(0);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
    appendFileSync(a, 'this,is,not,a,trace line\n');
    const r = await runCli(['sim', '--trace', a, '--sweep', 'hot.capacity=16MiB,64MiB', '--pass-interval', '10m', '--plot', join(dir, 'plots'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.trace).toMatchObject({ events: 400, malformed: 1 });
    expect(out.variants.map((v: { label: string }) => v.label)).toEqual(['hot.capacity=16MiB', 'hot.capacity=64MiB']);
    for (const v of out.variants) {
      expect(v.results.map((p: { policy: string }) => p.policy)).toEqual(['tierfs', 'lru', 'lfu', 'idle-age', 'offline-bound']);
      const bound = v.results[4].tiers[0].byteHitRatio;
      for (const p of v.results) expect(p.tiers[0].byteHitRatio).toBeLessThanOrEqual(bound + 1e-9);
    }
    // more room on hot serves more from it
    expect(out.variants[1].results[0].tiers[0].byteHitRatio).toBeGreaterThan(out.variants[0].results[0].tiers[0].byteHitRatio);
    for (const svg of ['hit-ratio-over-time.svg', 'tier-usage-over-time.svg', 'hit-ratio-vs-capacity.svg']) {
      expect(existsSync(join(dir, 'plots', svg))).toBe(true);
      expect(readFileSync(join(dir, 'plots', svg), 'utf8')).toMatch(/^<svg[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
    }
  }, 120_000);

  it('--catalog sqlite runs the policy on the daemon\'s own catalog and gives the in-memory catalog\'s result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tierfs-sim-cli-'));
    const trace = join(dir, 't.csv');
    expect((await runCli(['sim', 'generate', 'shift', '--seed', '4', '--files', '300', '--events', '6000', '--days', '6', '--out', trace])).code).toBe(0);
    const policy = async (catalog: string) => {
      const r = await runCli(['sim', '--trace', trace, '--capacity', 'hot=64MiB', '--pass-interval', '1h', '--no-baselines', '--no-bound', '--catalog', catalog, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).variants[0].results[0];
    };
    const [memory, sqlite] = [await policy('memory'), await policy('sqlite')];
    expect(memory.promotions.files + memory.demotions.files).toBeGreaterThan(10);
    expect(sqlite).toEqual(memory);
    const bad = await runCli(['sim', '--trace', trace, '--catalog', 'postgres']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--catalog postgres: want memory or sqlite/);
  }, 120_000);

  it('says what is wrong with a sweep key it does not know, with --json too', async () => {
    const r = await runCli(['sim', '--trace', '/dev/null', '--sweep', 'nonsense=1,2', '--json']);
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.stdout).error.message).toMatch(/not a key a sweep knows/);
  }, 60_000);
});
