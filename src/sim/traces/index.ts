// Any supported trace as one stream of events. The format is given, or told from the
// first line that is not empty. Memory: one line at a time, plus the largest size per
// path for web logs.
import { readLines } from './lines.js';
import { parseClfLine, isClfLine } from './clf.js';
import { isGenericHeader, parseGenericLine } from './generic-csv.js';
import { isMsrLine, parseMsrLine } from './msr.js';
import { parseTierfsLine, TIERFS_HEADER } from './tierfs-csv.js';
import { TraceStats, type SimEvent, type TraceFormat, type TraceOptions } from './types.js';

export { TraceStats, type SimEvent, type TraceFormat, type TraceOptions } from './types.js';
export { GENERIC_HEADER } from './generic-csv.js';

export function detectFormat(firstLine: string): TraceFormat {
  const l = firstLine.trim();
  if (l.replace(/\s/g, '') === TIERFS_HEADER) return 'tierfs';
  if (isGenericHeader(l)) return 'generic';
  if (isMsrLine(l)) return 'msr';
  if (isClfLine(l)) return 'clf';
  return 'generic';
}

/** Events of a trace file (plain or gzip'd), and its stats once read to the end. */
export async function* readTrace(file: string, opts: TraceOptions = {}, stats = new TraceStats()): AsyncGenerator<SimEvent> {
  const parser = new LineParser(opts, stats);
  for await (const batch of readLines(file)) yield* parser.lines(batch);
  parser.end();
}

/** Whether a CSV line leaves a quoted field open (an odd number of quotes: a doubled one counts twice). */
function opensQuote(line: string): boolean {
  let quotes = 0;
  for (let at = line.indexOf('"'); at >= 0; at = line.indexOf('"', at + 1)) quotes++;
  return quotes % 2 === 1;
}

/** Lines to events, the format told from the first line that is not empty. */
export class LineParser {
  private format: TraceFormat | undefined;
  private readonly sizes = new Map<string, number>();
  private readonly extent: number;
  /** a CSV record whose quoted field holds a line break (a file name with one), and its first line's number */
  private open: { text: string; n: number } | undefined;

  constructor(
    opts: TraceOptions,
    readonly stats: TraceStats,
  ) {
    this.format = opts.format;
    this.extent = opts.extentBytes ?? 1 << 20;
  }

  *lines(batch: Iterable<string>): Generator<SimEvent> {
    const { stats, sizes, extent } = this;
    for (const text of batch) {
      let n = ++stats.lines;
      let line = text;
      if (this.open) {
        ({ n } = this.open);
        line = `${this.open.text}\n${text}`;
        this.open = undefined;
      } else if (line.trim() === '' || line.startsWith('#')) continue;
      if (this.format === undefined) this.format = detectFormat(line);
      const format = this.format;
      if ((format === 'tierfs' || format === 'generic') && line.includes('"') && opensQuote(line)) {
        this.open = { text: line, n };
        continue;
      }
      // A header line is not an event.
      if (format === 'tierfs' && line.startsWith('time,') && line.replace(/\s/g, '') === TIERFS_HEADER) continue;
      if (format === 'generic' && line.startsWith('time') && isGenericHeader(line)) continue;
      switch (format) {
        case 'tierfs': {
          const e = parseTierfsLine(line, n, stats);
          if (e) (stats.events++, yield e);
          break;
        }
        case 'generic': {
          const e = parseGenericLine(line, n, stats);
          if (e) (stats.events++, yield e);
          break;
        }
        case 'clf': {
          const e = parseClfLine(line, n, stats, sizes);
          if (e) (stats.events++, yield e);
          break;
        }
        case 'msr':
          for (const e of parseMsrLine(line, n, stats, extent)) (stats.events++, yield e);
          break;
      }
    }
  }

  /** The end of the trace: a quoted field still open there is a bad line. */
  end(): void {
    if (this.open) this.stats.bad(this.open.n, this.open.text, 'a quoted field is not closed');
    this.open = undefined;
  }
}
