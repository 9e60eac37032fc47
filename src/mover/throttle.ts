// A token bucket in bytes per second, shared by every move: take(n) resolves when n
// bytes may go. Bursts are capped at one second's worth.

export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }

  /** bytesPerSecond 0 means unlimited */
  get unlimited(): boolean {
    return this.bytesPerSecond <= 0;
  }

  take(n: number): Promise<void> {
    if (this.unlimited) return Promise.resolve();
    // Serialize takers so that a large request cannot be starved by small ones.
    const mine = this.queue.then(() => this.wait(n));
    this.queue = mine;
    return mine;
  }

  private async wait(n: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
      this.last = now;
      if (this.tokens >= Math.min(n, this.bytesPerSecond)) {
        this.tokens -= n; // may go negative for n above one second's worth: later takers wait it off
        return;
      }
      const deficit = Math.min(n, this.bytesPerSecond) - this.tokens;
      await new Promise((r) => setTimeout(r, Math.max(1, (deficit / this.bytesPerSecond) * 1000)));
    }
  }
}
