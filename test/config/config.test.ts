import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { parseBytes, parseDuration, parseRatio } from '../../src/config/units.js';
import { DEFAULT_CONFIG_YAML } from '../../src/config/template.js';

function problems(yaml: string) {
  try {
    parseConfig(yaml, 'tierfs.yaml', '/base');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

const base = `version: 1
dataDir: ./data
tiers:
  - name: hot
    kind: local
    volumes: [./hot]
`;

describe('units', () => {
  it('parses sizes, durations and ratios', () => {
    expect(parseBytes('100GiB')).toBe(100 * 2 ** 30);
    expect(parseBytes('1.5 MB')).toBe(1_500_000);
    expect(parseBytes(4096)).toBe(4096);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(2)).toBe(2000);
    expect(parseRatio('80%')).toBeCloseTo(0.8);
    expect(parseRatio(0.5)).toBe(0.5);
  });
  it('says what it expected', () => {
    expect(() => parseBytes('12 parsecs')).toThrow(/expected a size such as "100GiB"/);
    expect(() => parseDuration('soon')).toThrow(/expected a duration/);
    expect(() => parseDuration('5d and a bit')).toThrow(/expected a duration/);
    expect(() => parseRatio('120%')).toThrow(/percentage/);
  });
});

describe('configuration', () => {
  it('accepts the embedded default and resolves paths against the file', () => {
    const cfg = parseConfig(DEFAULT_CONFIG_YAML, '<default>', '/srv/x');
    expect(cfg.dataDir).toBe('/srv/x/tierfs-data');
    expect(cfg.tiers.map((t) => t.name)).toEqual(['hot', 'warm', 'cold']);
    const hot = cfg.tiers[0]!;
    expect(hot.kind === 'local' && hot.volumes[0]!.path).toBe('/srv/x/tierfs-data/hot');
    expect(cfg.mount.maxWrite).toBe(2 ** 20);
    expect(cfg.recording.flushInterval).toBe(250);
  });

  it('fills defaults', () => {
    const cfg = parseConfig(base, 'f', '/b');
    expect(cfg.mount.defaultPermissions).toBe(true);
    expect(cfg.mount.allowOther).toBe(false);
    expect(cfg.tiers[0]!.watermarks).toEqual({ high: 0.9, low: 0.75 });
  });

  it('names the key and line of a bad unit', () => {
    const p = problems(base + '    capacity: 12 parsecs\n');
    expect(p).toHaveLength(1);
    expect(p[0]!.key).toBe('tiers[0].capacity');
    expect(p[0]!.line).toBe(7);
    expect(p[0]!.message).toMatch(/expected a size/);
  });

  it('refuses a webhook URL with a user or password in it, naming the key', () => {
    const p = problems(base + 'alerts:\n  webhooks:\n    - url: "https://alice:pw@hooks.example/x"\n');
    expect(p).toHaveLength(1);
    expect(p[0]!.key).toBe('alerts.webhooks[0].url');
    expect(p[0]!.message).toMatch(/may not carry a user or password.*headers/);
    expect(parseConfig(base + 'alerts:\n  webhooks:\n    - url: "https://hooks.example/x"\n', 'f', '/b').alerts.webhooks).toHaveLength(1);
  });

  it('names an unknown key', () => {
    const p = problems(base + '    volumez: [./x]\n');
    expect(p[0]!.message).toMatch(/unknown key "volumez"/);
    expect(p[0]!.key).toBe('tiers[0].volumez');
    expect(p[0]!.line).toBe(7); // its own line, not its map's
    const top = problems('colour: blue\n' + base);
    expect([top[0]!.key, top[0]!.line]).toEqual(['colour', 1]);
    const late = problems(base + 'mover:\n  bandwith: 10MiB\n');
    expect([late[0]!.key, late[0]!.line, late[0]!.message]).toEqual(['mover.bandwith', 8, 'unknown key "bandwith"']);
  });

  it('reports a missing required key at its parent', () => {
    const p = problems('version: 1\ntiers:\n  - name: hot\n    kind: local\n    volumes: [./hot]\n');
    expect(p[0]!.key).toBe('dataDir');
    expect(p[0]!.line).toBe(1);
  });

  it('reports a bad tier kind', () => {
    const p = problems(base.replace('kind: local', 'kind: tape'));
    expect(p[0]!.key).toBe('tiers[0].kind');
    expect(p[0]!.line).toBe(5);
    expect(p[0]!.message).toBe('expected local or object');
  });

  it('names the backend types when a backend has none of them', () => {
    const p = problems('dataDir: d\ntiers:\n  - { name: hot, kind: local, volumes: [./h] }\n  - { name: cold, kind: object, backends: [{ kind: memory }] }\n');
    expect(p[0]).toMatchObject({ key: 'tiers[1].backends[0].type', line: 4, message: 'expected s3, azure, gcs, fs or memory' });
  });

  it('rejects inverted watermarks, duplicate names and no local tier', () => {
    expect(problems(base + '    watermarks: { high: 50%, low: 80% }\n')[0]!.message).toMatch(/low must not be above/);
    const dup = problems(base + '  - name: hot\n    kind: local\n    volumes: [./b]\n');
    expect(dup[0]!.message).toMatch(/used twice/);
    expect(dup[0]!.line).toBe(7);
    const onlyObject = problems(
      'dataDir: d\ntiers:\n  - name: cold\n    kind: object\n    backends: [{ name: a, type: memory }]\n',
    );
    expect(onlyObject[0]!.message).toMatch(/at least one tier must be local/);
  });

  it('refuses other users on a mount that checks no permissions, naming both keys', () => {
    const p = problems(base + 'mount:\n  allowOther: true\n  defaultPermissions: false\n');
    expect(p).toHaveLength(1);
    expect(p[0]!.key).toBe('mount.defaultPermissions');
    expect(p[0]!.line).toBe(9);
    expect(p[0]!.message).toContain('mount.defaultPermissions: false');
    expect(p[0]!.message).toContain('mount.allowOther: true');
    // Either one alone is fine.
    expect(parseConfig(base + 'mount:\n  allowOther: true\n', 'f', '/b').mount.defaultPermissions).toBe(true);
    expect(parseConfig(base + 'mount:\n  defaultPermissions: false\n', 'f', '/b').mount.allowOther).toBe(false);
  });

  it('reports YAML syntax errors with their line', () => {
    const p = problems('dataDir: x\ntiers: [\n  - a\n: b\n');
    expect(p[0]!.message).toMatch(/YAML syntax/);
    expect(p[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('formats every problem with file and line', () => {
    try {
      parseConfig(base + '    capacity: lots\n', '/etc/tierfs.yaml', '/etc');
    } catch (err) {
      expect((err as Error).message).toContain('/etc/tierfs.yaml:7:');
      expect((err as Error).message).toContain('tiers[0].capacity');
      return;
    }
    throw new Error('accepted');
  });

  it('refuses a file it cannot read', () => {
    expect(() => loadConfig('/nonexistent/tierfs.yaml')).toThrow(/cannot read/);
  });
});

describe('catalog backups and recovery', () => {
  const withCold = `${base}  - name: cold
    kind: object
    backends: [{ name: a, type: memory }]
`;

  it('defaults: a backup every hour, 24 kept, to the first object tier; a lost catalog is rebuilt at mount', () => {
    const cfg = parseConfig(withCold, 'f', '/b');
    expect(cfg.catalog).toEqual({ recovery: 'auto', backup: { enabled: true, interval: 3_600_000, keep: 24, tier: undefined, dir: undefined }, configVersions: 100, cacheSize: 64 * 2 ** 20, commitDelay: 5 });
  });

  it('resolves the backup directory against the file', () => {
    expect(parseConfig(`${base}catalog:\n  backup: { dir: ../backups, interval: 10m, keep: 3 }\n`, 'f', '/etc/tierfs').catalog.backup).toMatchObject({
      dir: '/etc/backups',
      interval: 600_000,
      keep: 3,
    });
  });

  it('refuses a backup tier that is not an object tier, a tier and a directory together, and nonsense', () => {
    const notObject = problems(`${withCold}catalog:\n  backup: { tier: hot }\n`);
    expect(notObject).toEqual([expect.objectContaining({ key: 'catalog.backup.tier', message: 'no object tier named "hot"' })]);
    expect(problems(`${withCold}catalog:\n  backup: { tier: cold, dir: /x }\n`)[0]!.message).toMatch(/not both/);
    expect(problems(`${base}catalog:\n  backup: { keep: 0 }\n`)[0]!.key).toBe('catalog.backup.keep');
    expect(problems(`${base}catalog:\n  backup: { interval: 10ms }\n`)[0]!.message).toMatch(/at least 100ms/);
    expect(problems(`${base}catalog:\n  recovery: maybe\n`)[0]!.key).toBe('catalog.recovery');
  });
});
