// Human units in the configuration: sizes ("100GiB", "1.5TB", 4096), durations
// ("7d", "90s", "1h30m") and ratios ("80%", 0.8). Each parser returns a number or
// throws an Error whose message says what was expected; the schema turns that
// into an issue on the right key.

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, p: 1e15, pb: 1e15,
  ki: 2 ** 10, kib: 2 ** 10, mi: 2 ** 20, mib: 2 ** 20, gi: 2 ** 30, gib: 2 ** 30,
  ti: 2 ** 40, tib: 2 ** 40, pi: 2 ** 50, pib: 2 ** 50,
};

/** Bytes from a number or a string such as "8MiB", "1.5 GB", "4096". */
export function parseBytes(value: number | string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.floor(value);
    throw new Error(`expected a size such as "100GiB" or a number of bytes, got ${value}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new Error(`expected a size such as "100GiB", "500MB" or "4096", got "${value}"`);
  }
  return Math.floor(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000,
};

/** Milliseconds from a number of seconds or a string such as "7d", "90s", "1h30m", "250ms". */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value * 1000;
    throw new Error(`expected a duration such as "7d" or a number of seconds, got ${value}`);
  }
  const parts = [...value.trim().matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/g)];
  const joined = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || joined.replace(/\s/g, '') !== value.replace(/\s/g, '')) {
    throw new Error(`expected a duration such as "7d", "12h", "90s" or "1h30m", got "${value}"`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
}

/** A ratio in [0, 1] from "80%" or 0.8. */
export function parseRatio(value: number | string): number {
  const n = typeof value === 'number' ? value : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.test(value) ? Number(value.trim().slice(0, -1)) / 100 : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new Error(`expected a percentage such as "80%" or a ratio between 0 and 1, got ${JSON.stringify(value)}`);
  }
  return n;
}
