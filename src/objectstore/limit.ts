// Bounded concurrency for the many small requests a stripe (or a delete of many keys) makes: enough in flight to
// fill the pipe to a remote store, few enough not to be throttled or to hold every
// cell of a file in memory at once.

/** Runs fn over items with at most `concurrency` calls in flight; results in input order. Fails on the first error, after the calls in flight settle. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failed) throw failed.err;
  return results;
}

/** A counting semaphore: callers of run() beyond `slots` wait their turn, in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly slots: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const wake = this.waiting.shift();
      if (wake) wake();
      else this.active--;
    }
  }
}
