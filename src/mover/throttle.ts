// A token bucket in bytes per second, shared by every move: take(n) resolves when n
// bytes may go. A taker pays first and then waits off any debt, so the bytes let
// through by time t never exceed rate × t plus the small burst the bucket holds —
// whatever the size of the pieces (a 1 MiB piece at 256 KiB/s waits 4 s).
//
// The burst is 100 ms worth: a move that starts after the mover was idle runs at its
// rate from the first second instead of a full second ahead of it.
//
// The rate can change while moves run (tierfs config apply): a taker waiting off its
// debt is woken and waits again at the new rate, so running moves follow at once.

const BURST_SECONDS = 0.1;

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();
  private capacity: number;
  /** wakes the taker that waits off its debt (a new rate) */
  private wake: (() => void) | undefined;

  constructor(private bytesPerSecond: number) {
    this.capacity = bytesPerSecond * BURST_SECONDS;
    this.tokens = this.capacity;
  }

  get rate(): number {
    return this.bytesPerSecond;
  }

  /** A new rate, from now on; 0 = unlimited. The debt so far was run up at the old rate. */
  setRate(bytesPerSecond: number): void {
    if (!this.unlimited) this.refill();
    else this.last = performance.now();
    this.bytesPerSecond = bytesPerSecond;
    this.capacity = bytesPerSecond * BURST_SECONDS;
    if (this.unlimited) this.tokens = 0;
    this.tokens = Math.min(this.tokens, this.capacity);
    this.wake?.();
  }

  /** bytesPerSecond 0 means unlimited */
  get unlimited(): boolean {
    return this.bytesPerSecond <= 0;
  }

  take(n: number): Promise<void> {
    if (this.unlimited || n <= 0) return Promise.resolve();
    // Serialize takers: each pays in turn, so a large request cannot be starved by small ones.
    const mine = this.queue.then(() => this.pay(n));
    this.queue = mine;
    return mine;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }

  private async pay(n: number): Promise<void> {
    this.refill();
    this.tokens -= n;
    // Timers fire late but never early; a late wake-up is credited at the next refill.
    while (this.tokens < 0 && !this.unlimited) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.max(1, Math.ceil((-this.tokens / this.bytesPerSecond) * 1000)));
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      this.wake = undefined;
      if (!this.unlimited) this.refill();
    }
  }
}
