// Telling a sequential reader from a random one, per file copy: a read that starts at
// or a little after where the reads so far ended, and not before the previous read,
// continues a run. "A little after", not "at": the kernel issues its own read-ahead
// requests concurrently, and they may arrive slightly out of order. Only the last
// few thousand files are remembered.
import { LRUCache } from 'lru-cache';

const SLACK = 256 * 1024;

export class SequentialDetector {
  private readonly lastRead = new LRUCache<string, { start: number; end: number; run: number }>({ max: 4096 });

  /** Records a read and returns how many reads in a row (before this one) led up to it. */
  note(fileId: string, offset: number, length: number): number {
    const prev = this.lastRead.get(fileId);
    const continues = prev !== undefined && offset >= prev.start && offset <= prev.end + SLACK;
    const run = continues ? prev.run + 1 : 0;
    this.lastRead.set(fileId, { start: offset, end: Math.max(offset + length, continues ? prev.end : 0), run });
    return run;
  }

  /**
   * Someone else serves [from, to) after the reads so far (the FUSE binding reads a cached
   * cell's file itself): a read that follows it continues the run.
   */
  servedElsewhere(fileId: string, from: number, to: number): void {
    const prev = this.lastRead.get(fileId);
    if (prev && prev.end >= from && prev.end < to) prev.end = to;
  }

  forget(fileId: string): void {
    this.lastRead.delete(fileId);
  }
}
