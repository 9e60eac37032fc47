// Seeded data for the erasure-coding tests, so a failure replays exactly.

/** xorshift32 stream: returns a function giving uint32s. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function randomShards(next: () => number, count: number, size: number): Buffer[] {
  return Array.from({ length: count }, () => {
    const b = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) b[i] = next() & 0xff;
    return b;
  });
}

/** Every subset of {0..n-1} with 1..maxSize elements. */
export function* subsets(n: number, maxSize: number): Generator<number[]> {
  function* from(start: number, chosen: number[]): Generator<number[]> {
    if (chosen.length > 0) yield [...chosen];
    if (chosen.length === maxSize) return;
    for (let i = start; i < n; i++) yield* from(i + 1, [...chosen, i]);
  }
  yield* from(0, []);
}

/** size distinct indices below n, in random order. */
export function randomPattern(next: () => number, n: number, size: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, size);
}
