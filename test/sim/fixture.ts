// Tiers and events for simulator tests: a config from YAML text (the real schema), and
// whole-file reads written as a few letters.
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { simTiers, type SimSetup } from '../../src/sim/setup.js';
import type { SimEvent } from '../../src/sim/traces/types.js';

export function config(policy = '', hot = { capacity: '300B', high: '100%', low: '100%' }): Config {
  return parseConfig(
    `dataDir: /tmp/unused
tiers:
  - { name: hot, kind: local, volumes: [/tmp/unused/hot], capacity: ${hot.capacity}, watermarks: { high: ${hot.high}, low: ${hot.low} } }
  - { name: warm, kind: local, volumes: [/tmp/unused/warm] }
${policy}`,
    'test.yaml',
    '/tmp',
  );
}

export function setup(cfg: Config, capacities = new Map<string, number>()): SimSetup {
  return { config: cfg, tiers: simTiers(cfg, capacities), misplacementWindowMs: 7 * 86_400_000 };
}

/** "abca" → reads of files a, b, c, a of `size` bytes each, a second apart. */
export function reads(letters: string, size = 100, t0 = Date.UTC(2026, 0, 1)): SimEvent[] {
  return [...letters].map((c, i) => ({ timeMs: t0 + i * 1000, path: c, size, op: 'read' as const, bytes: size, opens: true }));
}
