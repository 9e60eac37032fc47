// Records every open and read (and write) in memory and writes them to the catalog
// in one transaction at most every flushInterval, so that recording costs the read
// path one array push. Flushed on unmount.
import type { AccessEvent, Catalog } from '../catalog/catalog.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('recorder');

export interface RecorderOptions {
  enabled: boolean;
  flushIntervalMs: number;
  logMaxRows: number;
  halfLifeMs?: number;
}

export class AccessRecorder {
  private pending: AccessEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** events written since start, for status and tests */
  recorded = 0;
  // Foreground load: operations in the current and the previous second.
  private second = 0;
  private thisSecond = 0;
  private lastSecond = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly opts: RecorderOptions,
  ) {}

  get enabled(): boolean {
    return this.opts.enabled;
  }

  record(event: AccessEvent): void {
    this.countOps(event.count, event.timeMs);
    if (!this.opts.enabled) return;
    this.pending.push(event);
    this.timer ??= setTimeout(() => this.flush(), this.opts.flushIntervalMs);
  }

  private countOps(n: number, timeMs: number): void {
    const sec = Math.floor(timeMs / 1000);
    if (sec !== this.second) {
      this.lastSecond = sec === this.second + 1 ? this.thisSecond : 0;
      this.thisSecond = 0;
      this.second = sec;
    }
    this.thisSecond += n;
  }

  /** Opens, reads and writes per second on the mount over about the last second. */
  opsPerSecond(nowMs = Date.now()): number {
    const sec = Math.floor(nowMs / 1000);
    if (sec === this.second) return Math.max(this.lastSecond, this.thisSecond); // the current second is still counting
    if (sec === this.second + 1) return this.thisSecond;
    return 0;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.catalog.recordAccessBatch(batch, this.opts.logMaxRows, this.opts.halfLifeMs);
      this.recorded += batch.length;
    } catch (err) {
      // Losing access statistics must not take the filesystem down; say so loudly.
      log.error({ err, events: batch.length }, 'could not record access batch');
    }
  }
}
