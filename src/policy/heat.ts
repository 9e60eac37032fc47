// Heat: an exponentially decayed access count. Each open adds 1; the sum halves every
// half-life. The catalog stores (heat, heatMs); this is its value at any later time.

export function heatAt(heat: number, heatMs: number, nowMs: number, halfLifeMs: number): number {
  if (heat <= 0) return 0;
  return heat * 2 ** (-Math.max(0, nowMs - heatMs) / halfLifeMs);
}
