// Zod fields for human units, shared by every part of the configuration schema.
import { z } from 'zod';
import { parseBytes, parseDuration, parseRatio } from './units.js';

function unit(parse: (v: number | string) => number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}

export const bytes = () => unit(parseBytes).describe('a size: a number of bytes or "100GiB", "500MB"');
export const duration = () => unit(parseDuration).describe('a duration: seconds, or "7d", "12h", "90s", "250ms"');
export const ratio = () => unit(parseRatio).describe('a ratio: "80%" or 0.8');
