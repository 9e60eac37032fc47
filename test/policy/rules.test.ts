// Placement rules: each kind of condition, rule order, the default, pins, classes,
// and hysteresis keeping a file near a threshold from bouncing between tiers.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/rules.js';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_CONFIG_YAML } from '../../src/config/template.js';
import { DAY, HOUR, NOW, file, policy } from './facts.js';

/** The rule that decides for `f` under a one-rule policy (or 'default'). */
const ruleFor = (match: Record<string, unknown>, f = file()) =>
  decide(f, policy({ hysteresis: 0, rules: [{ name: 'r', match, target: 'warm' }] }), NOW).rule;

describe('match conditions', () => {
  it.each([
    ['path', { path: ['docs/**'] }, file({ path: 'docs/a/b.pdf' }), file({ path: 'src/b.pdf' })],
    ['path (any of several)', { path: ['*.iso', '*.tmp'] }, file({ path: 'x/y.tmp' }), file({ path: 'x/y.txt' })],
    ['sizeAbove', { sizeAbove: '1MiB' }, file({ size: 2 ** 20 + 1 }), file({ size: 2 ** 20 })],
    ['sizeBelow', { sizeBelow: '4KiB' }, file({ size: 4095 }), file({ size: 4096 })],
    ['ageAbove', { ageAbove: '30d' }, file({ mtimeMs: NOW - 31 * DAY }), file({ mtimeMs: NOW - 29 * DAY })],
    ['ageBelow', { ageBelow: '1h' }, file({ mtimeMs: NOW - HOUR / 2 }), file({ mtimeMs: NOW - 2 * HOUR })],
    ['idleAbove', { idleAbove: '7d' }, file({ lastAccessMs: NOW - 8 * DAY }), file({ lastAccessMs: NOW - 6 * DAY })],
    ['idleBelow', { idleBelow: '1d' }, file({ lastAccessMs: NOW - HOUR }), file({ lastAccessMs: NOW - 2 * DAY })],
    ['heatAbove', { heatAbove: 5 }, file({ heat: 5.1 }), file({ heat: 5 })],
    ['heatBelow', { heatBelow: 0.5 }, file({ heat: 0.4 }), file({ heat: 0.5 })],
    ['owner', { owner: [0, 33] }, file({ uid: 33 }), file({ uid: 1000 })],
    ['class', { class: ['scratch'] }, file({ class: 'scratch' }), file({ class: 'critical' })],
    ['class (a file without one)', { class: ['scratch'] }, file({ class: 'scratch' }), file({ class: null })],
  ])('%s', (_kind, match, hit, miss) => {
    expect(ruleFor(match, hit)).toBe('r');
    expect(ruleFor(match, miss)).toBe('default');
  });

  it('needs every condition of a rule to hold', () => {
    const match = { path: ['*.log'], sizeAbove: 100, idleAbove: '1d' };
    expect(ruleFor(match, file({ path: 'a.log', size: 200, lastAccessMs: NOW - 2 * DAY }))).toBe('r');
    expect(ruleFor(match, file({ path: 'a.log', size: 50, lastAccessMs: NOW - 2 * DAY }))).toBe('default');
    expect(ruleFor(match, file({ path: 'a.txt', size: 200, lastAccessMs: NOW - 2 * DAY }))).toBe('default');
    expect(ruleFor(match, file({ path: 'a.log', size: 200, lastAccessMs: NOW - HOUR }))).toBe('default');
  });

  it('an empty match matches every file', () => {
    expect(ruleFor({})).toBe('r');
    expect(decide(file(), policy({ rules: [{ name: 'all', target: 'warm' }] }), NOW).reason).toBe('matches everything');
  });
});

describe('decide', () => {
  const p = policy({
    rules: [
      { name: 'scratch-class', match: { path: ['tmp/**'] }, setClass: 'scratch' },
      { name: 'keep-critical', match: { class: ['critical'] }, target: 'hot' },
      { name: 'scratch-to-warm', match: { class: ['scratch'] }, target: 'warm' },
      { name: 'big-idle', match: { sizeAbove: '100MB', idleAbove: '1d' }, target: 'cold' },
      { name: 'idle', match: { idleAbove: '7d' }, target: 'warm' },
    ],
  });

  it('the first matching rule decides, with its reason and the inputs', () => {
    const big = file({ size: 200e6, lastAccessMs: NOW - 10 * DAY });
    const d = decide(big, p, NOW);
    expect(d).toMatchObject({ target: 'cold', rule: 'big-idle' }); // 'idle' matches too, but later
    expect(d.reason).toBe('size 200000000 > 100000000, idle for 10.0d > 1.0d');
    expect(d.inputs).toMatchObject({ tier: 'hot', size: 200e6, idleMs: 10 * DAY, pin: null });
  });

  it('falls back to the default: the file stays', () => {
    expect(decide(file(), p, NOW)).toMatchObject({ target: null, rule: 'default' });
    expect(decide(file(), policy({}), NOW).reason).toMatch(/no rule matched/);
  });

  it('a rule that sets a class feeds the rules after it', () => {
    const d = decide(file({ path: 'tmp/build/x.o' }), p, NOW);
    expect(d).toMatchObject({ target: 'warm', rule: 'scratch-to-warm' });
    expect(d.inputs.class).toBe('scratch');
    // the class from the xattr is seen from the first rule on
    expect(decide(file({ class: 'critical', tier: 'warm' }), p, NOW)).toMatchObject({ target: 'hot', rule: 'keep-critical' });
  });

  it('a class set by a rule does not reach the rules before it', () => {
    const reversed = policy({
      rules: [
        { name: 'scratch-to-warm', match: { class: ['scratch'] }, target: 'warm' },
        { name: 'scratch-class', match: { path: ['tmp/**'] }, setClass: 'scratch' },
      ],
    });
    expect(decide(file({ path: 'tmp/x' }), reversed, NOW).rule).toBe('default');
  });

  it('a rule with both a class and a target decides and names the class', () => {
    const both = policy({ rules: [{ name: 'iso', match: { path: ['*.iso'] }, setClass: 'media', target: 'cold' }] });
    expect(decide(file({ path: 'a.iso' }), both, NOW)).toMatchObject({ target: 'cold', rule: 'iso', inputs: { class: 'media' } });
  });

  it('a pin beats every rule', () => {
    const d = decide(file({ size: 200e6, lastAccessMs: NOW - 10 * DAY, pin: 'hot' }), p, NOW);
    expect(d).toMatchObject({ target: 'hot', rule: 'pin', reason: 'pinned to hot' });
  });
});

describe('hysteresis', () => {
  /**
   * Follow one file through passes where its heat wanders around a threshold: each
   * decision is carried out at once (no residency), so the only thing standing
   * between the file and a bounce is the hysteresis band.
   */
  function simulate(rules: Record<string, unknown>[], heats: number[], hysteresis: number, start = 'warm'): string[] {
    const p = policy({ hysteresis, rules });
    let tier = start;
    const tiers: string[] = [];
    for (const heat of heats) {
      const d = decide(file({ tier, heat }), p, NOW);
      if (d.target) tier = d.target;
      tiers.push(tier);
    }
    return tiers;
  }
  const moves = (tiers: string[], start = 'warm') => tiers.filter((t, i) => t !== (i === 0 ? start : tiers[i - 1])).length;

  const hotFirst = [
    { name: 'hot', match: { heatAbove: 4 }, target: 'hot' },
    { name: 'warm', match: { heatBelow: 4 }, target: 'warm' },
  ];
  const warmFirst = [hotFirst[1]!, hotFirst[0]!];
  const catchAll = [hotFirst[0]!, { name: 'rest', target: 'warm' }];
  // Heat wanders ±20% around the threshold of 4, then clearly leaves the band.
  const wander = [4.2, 3.8, 4.5, 3.4, 4.7, 3.3, 4.1, 3.9, 4.6, 3.5];

  it.each([
    ['"above" rule first', hotFirst],
    ['"below" rule first', warmFirst],
    ['a catch-all after the heat rule', catchAll],
  ])('a file near the threshold moves at most once (%s)', (_name, rules) => {
    expect(moves(simulate(rules, wander, 0))).toBeGreaterThanOrEqual(8); // without hysteresis it flaps
    const tiers = simulate(rules, wander, 0.25);
    expect(moves(tiers)).toBe(0); // 4.7 is below 5 = 4 × 1.25: never clearly hot
    expect(moves(simulate(rules, [5.2, ...wander], 0.25))).toBe(1); // clearly hot once, then it stays
    expect(simulate(rules, [5.2, ...wander], 0.25).at(-1)).toBe('hot');
  });

  it('a file clearly past the band still moves, both ways', () => {
    for (const rules of [hotFirst, warmFirst, catchAll]) {
      expect(simulate(rules, [5.1, 2.9, 5.1, 2.9], 0.25)).toEqual(['hot', 'warm', 'hot', 'warm']);
    }
  });

  it('says in the reason that the band applied', () => {
    const d = decide(file({ tier: 'hot', heat: 3.5 }), policy({ hysteresis: 0.25, rules: hotFirst }), NOW);
    expect(d.rule).toBe('hot');
    expect(d.reason).toBe('heat 3.50 > 3.00 (hysteresis: easier to stay)');
  });
});

describe('the starter policy of tierfs init', () => {
  const starter = parseConfig(DEFAULT_CONFIG_YAML, '<default>', '/srv/x').policy;
  const placed = (over: Parameters<typeof file>[0]) => {
    const d = decide(file({ tier: 'hot', ...over }), { ...starter, hysteresis: 0 }, NOW);
    return `${d.rule} → ${d.target}`;
  };
  it.each([
    ['a busy file, whatever its age', { heat: 6, lastAccessMs: NOW - 100 * DAY, size: 2 ** 30 }, 'busy → hot'],
    ['a file opened this week', { lastAccessMs: NOW - 3 * DAY }, 'recent → hot'],
    ['idle for a month', { lastAccessMs: NOW - 30 * DAY, size: 2 ** 20 }, 'idle → warm'],
    ['idle for months, large', { lastAccessMs: NOW - 100 * DAY, size: 2 ** 20 }, 'dormant → cold'],
    ['idle for months, but smaller than an object store bills', { lastAccessMs: NOW - 100 * DAY, size: 4096 }, 'idle → warm'],
  ])('%s', (_what, over, expected) => {
    expect(placed(over)).toBe(expected);
  });
});
