// Placement rules and the background mover's limits, as configured in tierfs.yaml.
import { z } from 'zod';
import { bytes, duration, ratio } from './fields.js';
import { checkGlob } from '../policy/glob.js';

const glob = z.string().min(1).superRefine((g, ctx) => {
  try {
    checkGlob(g);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const matchSchema = z
  .strictObject({
    path: z.array(glob).min(1).optional().describe('path globs relative to the mount root; "*.tmp" matches at any depth'),
    sizeAbove: bytes().optional(),
    sizeBelow: bytes().optional(),
    ageAbove: duration().optional().describe('time since the last change of the bytes (mtime)'),
    ageBelow: duration().optional(),
    idleAbove: duration().optional().describe('time since the last open (or since creation, if never opened)'),
    idleBelow: duration().optional(),
    heatAbove: z.number().min(0).optional().describe('decayed opens: 1 open today counts 1, one half-life ago 0.5'),
    heatBelow: z.number().min(0).optional(),
    owner: z.array(z.number().int().min(0)).min(1).optional().describe('uids'),
    class: z.array(z.string().min(1)).min(1).optional().describe('importance classes (user.tierfs.class, or set by a rule)'),
  })
  .describe('all given conditions must hold');

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a rule name is letters, digits, ".", "-" or "_"'),
  match: matchSchema.prefault({}),
  target: z.string().optional().describe('the tier matching files belong on'),
  setClass: z.string().min(1).optional().describe('give matching files this importance class (instead of, or before, a target)'),
});

export const policySchema = z
  .strictObject({
    halfLife: duration().default(7 * 86_400_000).describe('heat halves over this time without opens'),
    minResidency: duration().default(86_400_000).describe('a file stays this long on a tier before an automatic move'),
    hysteresis: ratio()
      .refine((h) => h < 1, 'hysteresis must be below 100%')
      .default(0.25)
      .describe('a file must pass a heat threshold by this share to change tier (heatAbove 4 at 25%: in above 5, out below 3), so files do not bounce'),
    interval: duration()
      .refine((ms) => ms >= 100, 'interval must be at least 100ms')
      .default(30_000)
      .describe('how often changed files are classified: those used, written, renamed, pinned, or whose idle time, age, residency or decayed heat crossed a rule since (all files after a directory rename, when a rule matches paths), and those whose move was held back because they were open or, once a tier has more room, for want of it'),
    fullPassInterval: duration()
      .default(86_400_000)
      .describe('how often every file is classified all the same, a safety net: the passes between find every change the rules act on, but not a file unpinned or closed that may now leave to make room for a promotion waiting for it'),
    rules: z
      .array(ruleSchema)
      .default([])
      .superRefine((rules, ctx) => {
        // Decisions name their rule (tierfs where): two rules of one name could not be told apart.
        const seen = new Set<string>();
        rules.forEach((r, i) => {
          if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `another rule is already named "${r.name}"` });
          seen.add(r.name);
        });
      })
      .describe('checked in order; the first whose conditions hold decides'),
  })
  .prefault({});

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM');

export const moverSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    bandwidth: bytes().default(0).describe('bytes per second for all moves together; 0 = unlimited'),
    concurrency: z.number().int().min(1).max(64).default(2),
    busyOpsPerSecond: z.number().min(0).default(500).describe('foreground opens+reads+writes per second above which automatic moves pause'),
    foregroundHeadroom: z
      .number()
      .min(0)
      .max(10)
      .default(0.25)
      .describe(
        "how far the mount's threads' wait for a CPU per request may rise above its level without moves (0.25 = +25%) before the mover halves its pace (down to 1/16 of it, back by 1/8 per half second within it); 0 = no pacing",
      ),
    retryDelay: duration().default(60_000).describe('wait before retrying a move that failed or found its file busy'),
    windows: z
      .array(
        z.strictObject({
          tiers: z.array(z.string()).min(1).optional().describe('target tiers this window applies to (default: all)'),
          from: clock,
          to: clock.describe('may be earlier than from: the window then spans midnight; equal to from: all day'),
        }),
      )
      .default([])
      .describe('automatic moves into these tiers run only inside these windows (local time); manual moves run any time'),
  })
  .prefault({});

export type PolicyConfig = z.output<typeof policySchema>;
export type RuleConfig = z.output<typeof ruleSchema>;
export type MoverConfig = z.output<typeof moverSchema>;
