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
}

export class AccessRecorder {
  private pending: AccessEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** events written since start, for status and tests */
  recorded = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly opts: RecorderOptions,
  ) {}

  get enabled(): boolean {
    return this.opts.enabled;
  }

  record(event: AccessEvent): void {
    if (!this.opts.enabled) return;
    this.pending.push(event);
    this.timer ??= setTimeout(() => this.flush(), this.opts.flushIntervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.catalog.recordAccessBatch(batch, this.opts.logMaxRows);
      this.recorded += batch.length;
    } catch (err) {
      // Losing access statistics must not take the filesystem down; say so loudly.
      log.error({ err, events: batch.length }, 'could not record access batch');
    }
  }
}
