// Shared builders for policy tests: a file's facts and a parsed policy.
import { policySchema, type PolicyConfig } from '../../src/config/policy.js';
import type { FileFacts } from '../../src/policy/rules.js';

export const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
export const SECOND = 1000;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export function file(over: Partial<FileFacts> = {}): FileFacts {
  return {
    ino: 100,
    path: 'docs/report.pdf',
    size: 1_000_000,
    uid: 1000,
    tier: 'hot',
    mtimeMs: NOW - HOUR,
    lastAccessMs: NOW - HOUR,
    heat: 1,
    tierSinceMs: NOW - 30 * DAY,
    class: null,
    pin: null,
    ...over,
  };
}

/** A policy as the config loader produces it (units parsed, defaults filled). */
export function policy(input: Record<string, unknown>): PolicyConfig {
  return policySchema.parse(input);
}
