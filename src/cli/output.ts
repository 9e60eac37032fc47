// How the CLI speaks: text tables for people, JSON for scripts, one error format.

/** C0 controls but tab and newline, DEL, and C1 controls: what a terminal may take for a command. */
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, '0');
const writeOut = process.stdout.write.bind(process.stdout);
const writeErr = process.stderr.write.bind(process.stderr);

/**
 * Names are bytes a user chose: one printed as it is could command the reader's terminal
 * (ESC ] 52 sets the clipboard, ESC [ 2 J clears the screen, CR writes over the line).
 * From here on, every control character the CLI prints shows as \xNN; tab and newline
 * stay. On standard error too: a progress line names the file it is at, and an error
 * the daemon sends back may quote names (a drain's pinned files).
 */
export function escapeControlsInOutput(): void {
  const escaping = (write: typeof writeOut) =>
    ((chunk: unknown, ...rest: unknown[]) =>
      write(typeof chunk === 'string' ? chunk.replace(CONTROLS, (c) => `\\x${hex(c, 2)}`) : (chunk as Uint8Array), ...(rest as []))) as typeof process.stdout.write;
  process.stdout.write = escaping(writeOut);
  process.stderr.write = escaping(writeErr);
}

/** A command of our own for the terminal (the watch's clear screen), written as it is. */
export function writeToTerminal(text: string): void {
  writeOut(text);
}

/** The same on standard error (a progress line going back to its start). */
export function writeToTerminalErr(text: string): void {
  writeErr(text);
}

export function printJson(value: unknown): void {
  // JSON escapes C0 controls itself; DEL and C1 as \u00XX too, which the escaping above leaves alone.
  process.stdout.write(`${JSON.stringify(value, null, 2).replace(CONTROLS, (c) => `\\u${hex(c, 4)}`)}\n`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  return cells
    .map((r, ri) =>
      r
        .map((cell, c) => (ri > 0 && typeof rows[ri - 1]![c] === 'number' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A failure the user caused or must act on: message to stderr, exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
