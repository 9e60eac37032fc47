// Placement decisions: pure functions from a file's facts to the tier it belongs on,
// with the rule and the reason. Rules are checked in order and the first that matches
// decides, as in object-store lifecycle rules; a pin beats every rule.
import type { ClassificationRow } from '../catalog/catalog.js';
import type { PolicyConfig, RuleConfig } from '../config/policy.js';
import { globMatch } from './glob.js';

/**
 * What the classifier knows of one file: its catalog row (times in ms; lastAccessMs is
 * the last open, or arrival if never opened), with heat decayed to now and the pin that
 * applies to it, its own or a directory's above it.
 */
export type FileFacts = Omit<ClassificationRow, 'heatMs'>;

export interface Decision {
  /** the tier the file belongs on; null: no rule says, it stays */
  target: string | null;
  rule: string;
  reason: string;
  /** the facts that decided, for `tierfs where` */
  inputs: Record<string, number | string | null>;
}

const DAY = 86_400_000;
const fmtAge = (ms: number) => (ms >= DAY ? `${(ms / DAY).toFixed(1)}d` : ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)}h` : `${Math.round(ms / 1000)}s`);
const fmtHeat = (h: number) => h.toFixed(2);

/**
 * A heat threshold as it applies to this file. Thresholds lean towards the tier the
 * file is on: a rule that would keep it there is easier to meet, a rule that would
 * take it away harder, each by `hysteresis`. So a file changes tier only once its
 * heat is clearly past a threshold, whatever the order of the rules (leaning only
 * one way lets a "below" rule listed first pull a file away at the bare threshold).
 */
function leaning(threshold: number, kind: 'above' | 'below', stays: boolean | null, hysteresis: number): number {
  if (stays === null) return threshold;
  const easier = kind === 'above' ? 1 - hysteresis : 1 + hysteresis;
  const harder = kind === 'above' ? 1 + hysteresis : 1 - hysteresis;
  return threshold * (stays ? easier : harder);
}

const leanNote = (stays: boolean | null, hysteresis: number) =>
  stays === null || hysteresis === 0 ? '' : stays ? ' (hysteresis: easier to stay)' : ' (hysteresis: harder to move)';

const NO_WORDS: readonly string[] = Object.freeze([]);

/** The first glob that matches. */
function firstMatch(globs: string[], path: string): string | undefined {
  for (const g of globs) if (globMatch(g, path)) return g;
  return undefined;
}

/** Does `rule` match? Returns the reasons of every condition when it does (none without `explain`). */
export function matchRule(rule: RuleConfig, f: FileFacts, nowMs: number, hysteresis: number, cls: string | null, explain = true): readonly string[] | null {
  const m = rule.match;
  // without words, no list: a pass matches rules millions of times and keeps no reasons
  const why: string[] | null = explain ? [] : null;
  // null: the rule names no tier, so it neither keeps nor moves the file
  const stays = rule.target === undefined ? null : rule.target === f.tier;
  if (m.path) {
    const hit = firstMatch(m.path, f.path);
    if (!hit) return null;
    why?.push(`path matches ${hit}`);
  }
  if (m.sizeAbove !== undefined) {
    if (!(f.size > m.sizeAbove)) return null;
    why?.push(`size ${f.size} > ${m.sizeAbove}`);
  }
  if (m.sizeBelow !== undefined) {
    if (!(f.size < m.sizeBelow)) return null;
    why?.push(`size ${f.size} < ${m.sizeBelow}`);
  }
  const age = nowMs - f.mtimeMs;
  if (m.ageAbove !== undefined) {
    if (!(age > m.ageAbove)) return null;
    why?.push(`unchanged for ${fmtAge(age)} > ${fmtAge(m.ageAbove)}`);
  }
  if (m.ageBelow !== undefined) {
    if (!(age < m.ageBelow)) return null;
    why?.push(`changed ${fmtAge(age)} ago < ${fmtAge(m.ageBelow)}`);
  }
  const idle = nowMs - f.lastAccessMs;
  if (m.idleAbove !== undefined) {
    if (!(idle > m.idleAbove)) return null;
    why?.push(`idle for ${fmtAge(idle)} > ${fmtAge(m.idleAbove)}`);
  }
  if (m.idleBelow !== undefined) {
    if (!(idle < m.idleBelow)) return null;
    why?.push(`opened ${fmtAge(idle)} ago < ${fmtAge(m.idleBelow)}`);
  }
  if (m.heatAbove !== undefined) {
    const threshold = leaning(m.heatAbove, 'above', stays, hysteresis);
    if (!(f.heat > threshold)) return null;
    why?.push(`heat ${fmtHeat(f.heat)} > ${fmtHeat(threshold)}${leanNote(stays, hysteresis)}`);
  }
  if (m.heatBelow !== undefined) {
    const threshold = leaning(m.heatBelow, 'below', stays, hysteresis);
    if (!(f.heat < threshold)) return null;
    why?.push(`heat ${fmtHeat(f.heat)} < ${fmtHeat(threshold)}${leanNote(stays, hysteresis)}`);
  }
  if (m.owner) {
    if (!m.owner.includes(f.uid)) return null;
    why?.push(`owner ${f.uid}`);
  }
  if (m.class) {
    if (cls === null || !m.class.includes(cls)) return null;
    why?.push(`class ${cls}`);
  }
  return why ?? NO_WORDS;
}

const UNSAID: Decision['inputs'] = Object.freeze({});

/**
 * Where a file belongs, and why. Without `words`, the target and the rule alone (reason
 * and inputs empty): a pass decides for every file it looks at and needs the words only
 * for the few decisions it stores or moves queued, for which it decides again with them.
 */
export function decide(f: FileFacts, policy: PolicyConfig, nowMs: number, words = true): Decision {
  const inputs = !words ? UNSAID : {
    tier: f.tier,
    size: f.size,
    heat: Number(f.heat.toFixed(4)),
    idleMs: nowMs - f.lastAccessMs,
    ageMs: nowMs - f.mtimeMs,
    class: f.class,
    pin: f.pin,
  };
  if (f.pin) return { target: f.pin, rule: 'pin', reason: words ? `pinned to ${f.pin}` : '', inputs };
  let cls = f.class;
  for (const rule of policy.rules) {
    const why = matchRule(rule, f, nowMs, policy.hysteresis, cls, words);
    if (!why) continue;
    if (rule.setClass && !rule.target) {
      cls = rule.setClass; // a classifying rule: later rules see the class
      continue;
    }
    if (!words) return { target: rule.target ?? null, rule: rule.name, reason: '', inputs };
    const reason = why.length ? why.join(', ') : 'matches everything';
    return { target: rule.target ?? null, rule: rule.name, reason, inputs: { ...inputs, class: rule.setClass ?? cls } };
  }
  return { target: null, rule: 'default', reason: words ? 'no rule matched: the file stays where it is' : '', inputs };
}

/** Can an automatic move take the file off its tier yet? */
export function residencyLeft(f: FileFacts, policy: PolicyConfig, nowMs: number): number {
  return Math.max(0, f.tierSinceMs + policy.minResidency - nowMs);
}
