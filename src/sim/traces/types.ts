// What every trace reader yields: one access to one file, in the trace's time. Readers
// of formats without opens (web logs, block traces, the generic CSV) count each request
// as an open and a read of `bytes`, as a client that opens, reads and closes would.

export type SimOp = 'open' | 'read' | 'write';

export interface SimEvent {
  timeMs: number;
  path: string;
  /** the file's size as the trace knows it then (the largest seen so far for web logs) */
  size: number;
  op: SimOp;
  /** bytes read or written (0 for an open) */
  bytes: number;
  /** a read that stands for its own open too (formats without opens) */
  opens: boolean;
}

/** Lines a reader could not use: counted, with the first few shown, never thrown. */
export class TraceStats {
  lines = 0;
  events = 0;
  malformed = 0;
  readonly examples: { line: number; text: string; why: string }[] = [];

  bad(line: number, text: string, why: string): void {
    this.malformed++;
    if (this.examples.length < 5) this.examples.push({ line, text: text.slice(0, 200), why });
  }
}

export type TraceFormat = 'tierfs' | 'generic' | 'clf' | 'msr';

export interface TraceOptions {
  format?: TraceFormat;
  /** block traces: bytes per extent, each extent a file (default 1 MiB) */
  extentBytes?: number;
}
