// A binary heap: what comes out first is decided by `first(a, b)` (a before b).
export class Heap<T> {
  readonly items: T[] = [];
  constructor(private readonly first: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  /** What pop would give, left in place. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(x: T): void {
    const h = this.items;
    let i = h.push(x) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.first(x, h[up]!)) break;
      h[i] = h[up]!;
      i = up;
    }
    h[i] = x;
  }

  pop(): T | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= h.length) break;
      if (c + 1 < h.length && this.first(h[c + 1]!, h[c]!)) c++;
      if (!this.first(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

