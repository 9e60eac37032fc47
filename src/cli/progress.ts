// Progress of long work: a bar redrawn in place on a terminal, nothing in a pipe.
import { writeToTerminalErr } from './output.js';

export class ProgressBar {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastDraw = 0;

  constructor(private readonly label: string) {}

  update(done: number, total: number, detail = ''): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const width = 30;
    const filled = total > 0 ? Math.round((done / total) * width) : width;
    const text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`;
    writeToTerminalErr('\r');
    process.stderr.write(text.slice(0, (process.stderr.columns ?? 100) - 1).padEnd(Math.min(100, (process.stderr.columns ?? 100) - 1)));
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
