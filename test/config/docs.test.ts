// `tierfs config docs`: one line per key with its type, its default in the unit syntax a
// person writes in tierfs.yaml (never milliseconds or bytes), the unit syntax and its
// meaning; `--markdown` gives the same as a table.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/tierfs.js';
import { describeKeys, formatDuration, formatSize, renderKeyDocsMarkdown } from '../../src/config/docs.js';
import { configSchema } from '../../src/config/schema.js';
import { readFileSync } from 'node:fs';
import { parseBytes, parseDuration } from '../../src/config/units.js';

const lineOf = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}  `));

describe('tierfs config docs', () => {
  it('prints a duration key and a size key with type, default in units, unit syntax and meaning', async () => {
    const r = await runCli(['config', 'docs']);
    expect(r.code).toBe(0);
    // Defaults given in milliseconds or bytes in the schema come out as a person writes them.
    expect(lineOf(r.stdout, 'policy.halfLife')).toBe(
      'policy.halfLife  duration = 7d (ms s m h d w, e.g. 1h30m; a bare number is seconds)  — heat halves over this time without opens',
    );
    expect(lineOf(r.stdout, 'tiers[kind=object].chunkSize')).toBe(
      'tiers[kind=object].chunkSize  size = 32MiB (B KB MB GB TB, KiB MiB GiB TiB; a bare number is bytes)  — bytes of file data per stripe (each of its k data cells is one object: larger cells mean fewer requests for sequential reads and moves, more bytes fetched to rebuild a lost one)',
    );
    // A default given in words (a prefault) is shown as written.
    expect(lineOf(r.stdout, 'tiers[kind=object].backends[type=s3].timeouts.idle')).toMatch(/^\S+  duration = 30s \(.*\)  — a body, going up or coming down/);
    expect(lineOf(r.stdout, 'tiers[kind=local].watermarks.low')).toMatch(/  ratio = 75% /);
    // A key inside an object default gets its share of it.
    expect(lineOf(r.stdout, 'tiers[kind=object].scheme.m')).toMatch(/  integer = 2  — parity cells per stripe$/);
    expect(lineOf(r.stdout, 'cache.disk')).toMatch(/  size = 4GiB /);
    // The unit syntax is spelled out once, at the top.
    expect(r.stdout).toMatch(/^ {2}duration: seconds, or numbers with ms, s, m, h, d, w/m);
    // No key is documented as a bare union of JSON types any more.
    expect(r.stdout).not.toMatch(/number,string|object \| object/);
  });

  it('prints the same as a Markdown table with --markdown', async () => {
    const r = await runCli(['config', 'docs', '--markdown']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# tierfs.yaml keys$/m);
    expect(r.stdout).toContain('| `policy.minResidency` | duration | `1d` | yes | a file stays this long on a tier before an automatic move |');
    expect(r.stdout).toContain('| `mount.maxWrite` | size | `1MiB` |');
    expect(r.stdout).toContain('| `mount.maxRead` | size | `1008KiB` |');
  });

  it('formats sizes and durations in the largest unit that divides them, and they parse back', () => {
    for (const [ms, text] of [[30 * 86_400_000, '30d'], [90_000, '90s'], [5_400_000, '90m'], [250, '250ms'], [3_600_000, '1h']] as const) {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDuration(text)).toBe(ms);
    }
    for (const [n, text] of [[2 ** 20, '1MiB'], [8 * 2 ** 20, '8MiB'], [1_000_000, '1MB'], [4097, '4097'], [256 * 2 ** 10, '256KiB']] as const) {
      expect(formatSize(n)).toBe(text);
      expect(parseBytes(text)).toBe(n);
    }
  });
});

describe('docs/CONFIG.md', () => {
  it('is what `tierfs config docs --markdown` generates (regenerate it after changing the schema)', () => {
    const committed = readFileSync(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderKeyDocsMarkdown(describeKeys(configSchema)));
  });

  it('says which keys change live: the policy, the mover and watermarks do, mount options do not', () => {
    const row = (key: string) => renderKeyDocsMarkdown(describeKeys(configSchema)).split('\n').find((l) => l.startsWith(`| \`${key}\` |`))!;
    expect(row('mover.bandwidth')).toMatch(/\| yes \|/);
    expect(row('policy.halfLife')).toMatch(/\| yes \|/);
    expect(row('tiers[kind=local].watermarks.high')).toMatch(/\| yes \|/);
    expect(row('mount.maxWrite')).not.toMatch(/\| yes \|/);
    expect(row('tiers[kind=object].scheme.k')).not.toMatch(/\| yes \|/);
  });
});
