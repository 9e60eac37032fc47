// Server-sent events for the dashboard (/api/events): every second the snapshots each
// page lives on (status, moves) are computed once for all clients, and a snapshot is
// sent only when it changed — pages update without a reload and without polling.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { moduleLogger } from '../log.js';

const log = moduleLogger('dashboard');

export type Snapshots = Record<string, () => unknown>;

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;

  constructor(
    private readonly snapshots: Snapshots,
    private readonly intervalMs = 1000,
  ) {}

  /** Hold the response open as an event stream; the current snapshots go first. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    for (const [name, data] of this.compute()) res.write(frame(name, data));
    this.clients.add(res);
    req.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopTimer();
    });
    this.timer ??= setInterval(() => this.tick(), this.intervalMs).unref();
  }

  close(): void {
    this.stopTimer();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private compute(): [string, string][] {
    const out: [string, string][] = [];
    for (const [name, f] of Object.entries(this.snapshots)) {
      try {
        out.push([name, JSON.stringify(f())]);
      } catch (err) {
        // One snapshot that fails (a catalog error) must not starve the others.
        log.warn({ err, snapshot: name }, 'dashboard snapshot failed');
      }
    }
    return out;
  }

  /**
   * Send what changed now, not at the next second: after an action from the page (a
   * cancelled move, a paused mover) the person who clicked sees its result at once.
   */
  push(): void {
    if (this.clients.size > 0) this.tick();
  }

  private tick(): void {
    let sent = false;
    for (const [name, data] of this.compute()) {
      if (this.last.get(name) === data) continue;
      this.last.set(name, data);
      for (const c of this.clients) c.write(frame(name, data));
      sent = true;
    }
    // A comment now and then keeps proxies from closing an idle stream.
    if (!sent && ++this.beats % 15 === 0) for (const c of this.clients) c.write(': keep-alive\n\n');
  }
}

function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
