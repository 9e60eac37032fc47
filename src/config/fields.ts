// Zod fields for human units, shared by every part of the configuration schema.
import { z } from 'zod';
import { parseBytes, parseDuration, parseRatio } from './units.js';

export type UnitKind = 'size' | 'duration' | 'ratio';

/**
 * The unit each field parses, for the docs (config/docs.ts), keyed by the field's
 * transform: clones made by .describe() or .default() share it.
 */
const unitKinds = new WeakMap<object, UnitKind>();

export function unitKindOf(schema: z.ZodType): UnitKind | undefined {
  const def = (schema as unknown as { _zod: { def: { type: string; out?: object } } })._zod.def;
  return def.type === 'pipe' && def.out ? unitKinds.get(def.out) : undefined;
}

function unit(kind: UnitKind, parse: (v: number | string) => number) {
  const field = z.union([z.number(), z.string()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
  unitKinds.set((field as unknown as { _zod: { def: { out: object } } })._zod.def.out, kind);
  return field;
}

export const bytes = () => unit('size', parseBytes).describe('a size: a number of bytes or "100GiB", "500MB"');
export const duration = () => unit('duration', parseDuration).describe('a duration: seconds, or "7d", "12h", "90s", "250ms"');
export const ratio = () => unit('ratio', parseRatio).describe('a ratio: "80%" or 0.8');
