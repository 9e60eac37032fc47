// The policy and mover sections of tierfs.yaml: units, defaults, refusals.
import { describe, expect, it } from 'vitest';
import { moverSchema, policySchema } from '../../src/config/policy.js';

const issues = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('policy config', () => {
  it('parses units and fills defaults', () => {
    const p = policySchema.parse({ halfLife: '1d', rules: [{ name: 'big', match: { sizeAbove: '1GiB', idleAbove: '30d' }, target: 'cold' }] });
    expect(p).toMatchObject({ halfLife: 86_400_000, minResidency: 86_400_000, hysteresis: 0.25, interval: 30_000 });
    expect(p.rules[0]!.match).toEqual({ sizeAbove: 2 ** 30, idleAbove: 30 * 86_400_000 });
  });

  it('refuses rules of the same name, bad globs, a hysteresis of 100% and a zero interval', () => {
    expect(issues(policySchema.safeParse({ rules: [{ name: 'a', target: 'x' }, { name: 'a', target: 'y' }] }))).toEqual([
      'rules.1.name: another rule is already named "a"',
    ]);
    expect(issues(policySchema.safeParse({ rules: [{ name: 'a', match: { path: ['*.{a,b'] }, target: 'x' }] }))[0]).toMatch(/unclosed "\{"/);
    expect(issues(policySchema.safeParse({ hysteresis: 1 }))).toEqual(['hysteresis: hysteresis must be below 100%']);
    expect(issues(policySchema.safeParse({ interval: 0 }))).toEqual(['interval: interval must be at least 100ms']);
  });

  it('mover windows take HH:MM', () => {
    expect(moverSchema.parse({ bandwidth: '10MiB', windows: [{ from: '22:00', to: '06:00' }] })).toMatchObject({ bandwidth: 10 * 2 ** 20, concurrency: 2 });
    expect(issues(moverSchema.safeParse({ windows: [{ from: '24:00', to: '06:00' }] }))[0]).toMatch(/HH:MM/);
  });
});
