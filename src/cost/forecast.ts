// Capacity forecast: a robust trend of a tier's daily used bytes and when it reaches a
// level. The slope is Theil–Sen's (the median of the slopes between every pair of
// days), so one day of a bulk copy or a purge does not swing it; the 10th and 90th
// percentiles of the same pairwise slopes give the interval. A lower bound at or below 0
// means the data do not show the tier filling. Pure: points in, numbers out.
import { DAY_MS } from './model.js';

/** Days of history the forecast looks at, and the fewest it concludes from. */
export const FORECAST_WINDOW_DAYS = 28;
export const MIN_FORECAST_DAYS = 7;

export interface Trend {
  /** per day: the median pairwise slope, and its 10th and 90th percentiles */
  perDay: number;
  perDayP10: number;
  perDayP90: number;
  /** the points it was computed from */
  points: number;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Theil–Sen over [timeMs, value] points; undefined with fewer than two distinct times. */
export function theilSen(points: readonly [number, number][]): Trend | undefined {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = (points[j]![0] - points[i]![0]) / DAY_MS;
      if (dx !== 0) slopes.push((points[j]![1] - points[i]![1]) / dx);
    }
  }
  if (slopes.length === 0) return undefined;
  slopes.sort((a, b) => a - b);
  return { perDay: percentile(slopes, 0.5), perDayP10: percentile(slopes, 0.1), perDayP90: percentile(slopes, 0.9), points: points.length };
}

export interface DaysTo {
  /** at the median slope; null: never at that pace */
  estimate: number | null;
  /** at the 90th percentile slope (the soonest) */
  earliest: number | null;
  /** at the 10th percentile slope; null when it is ≤ 0 (may never) */
  latest: number | null;
}

export type ForecastStatus = 'filling' | 'not filling' | 'reached' | 'history too short' | 'unbounded';

export interface Forecast {
  status: ForecastStatus;
  trend: Trend | null;
  daysToHighWatermark: DaysTo | null;
  daysToFull: DaysTo | null;
}

const daysAt = (room: number, slope: number): number | null => (room <= 0 ? 0 : slope > 0 ? room / slope : null);

function daysTo(room: number, t: Trend): DaysTo {
  return { estimate: daysAt(room, t.perDay), earliest: daysAt(room, t.perDayP90), latest: t.perDayP10 > 0 ? daysAt(room, t.perDayP10) : room <= 0 ? 0 : null };
}

/**
 * When `daily` (one [dayMs, usedBytes] per day, oldest first) reaches the high watermark
 * and the capacity, from the last FORECAST_WINDOW_DAYS days. `usedNow` is where it starts.
 */
export function forecastCapacity(daily: readonly [number, number][], opts: { capacityBytes: number; highWatermark: number; usedNow: number }): Forecast {
  const lastDay = daily.at(-1)?.[0] ?? 0;
  const window = daily.filter(([t]) => t > lastDay - FORECAST_WINDOW_DAYS * DAY_MS);
  const trend = window.length >= MIN_FORECAST_DAYS ? theilSen(window) ?? null : null;
  if (opts.capacityBytes <= 0) return { status: 'unbounded', trend, daysToHighWatermark: null, daysToFull: null };
  if (!trend) return { status: 'history too short', trend: null, daysToHighWatermark: null, daysToFull: null };
  const toHigh = daysTo(opts.capacityBytes * opts.highWatermark - opts.usedNow, trend);
  const toFull = daysTo(opts.capacityBytes - opts.usedNow, trend);
  const status: ForecastStatus = toHigh.estimate === 0 ? 'reached' : trend.perDayP10 <= 0 ? 'not filling' : 'filling';
  return { status, trend, daysToHighWatermark: toHigh, daysToFull: toFull };
}
