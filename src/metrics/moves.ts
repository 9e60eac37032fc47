// Moves counted where every move passes: MoveProtocol.move, whoever asks (the mover's
// queue, a copy-up, the CLI). The protocol itself stays as it is; this subclass only
// looks at what goes in and what comes out.
import type { Catalog } from '../catalog/catalog.js';
import { MoveProtocol, type MoveOptions, type MoveOutcome, type MoveRequest } from '../mover/protocol.js';
import type { TierSet } from '../tiers/tier-set.js';
import type { Vfs } from '../vfs/vfs.js';
import type { MetricsRegistry } from './registry.js';

/** Who asked, without the rule's or tier's name: "rule:archive-logs" → "rule" (labels stay few). */
export function requesterKind(requestedBy: string): string {
  const colon = requestedBy.indexOf(':');
  return colon < 0 ? requestedBy : requestedBy.slice(0, colon);
}

export class MeteredMoveProtocol extends MoveProtocol {
  constructor(
    private readonly catalogForMetrics: Catalog,
    tiers: TierSet,
    vfs: Vfs,
    opts: MoveOptions,
    private readonly metrics: MetricsRegistry,
  ) {
    super(catalogForMetrics, tiers, vfs, opts);
  }

  override async move(ino: number, to: string, requestedBy: string, req: MoveRequest = {}): Promise<MoveOutcome> {
    const from = this.catalogForMetrics.getInode(ino)?.tier ?? 'none';
    const by = requesterKind(requestedBy);
    const start = performance.now();
    let outcome: MoveOutcome;
    try {
      outcome = await super.move(ino, to, requestedBy, req);
    } catch (err) {
      this.metrics.counter('tierfs_moves_total').inc({ from, to, result: 'failed', by });
      throw err;
    }
    // id 0: nothing was moved (already there, or a copy-up that found the file local).
    if (outcome.id === 0) return outcome;
    const ok = outcome.state !== 'aborted';
    this.metrics.counter('tierfs_moves_total').inc({ from, to, result: ok ? 'ok' : 'aborted', by });
    this.metrics.histogram('tierfs_move_seconds').observe((performance.now() - start) / 1000);
    if (ok) this.metrics.counter('tierfs_move_bytes_total').inc({ from, to }, outcome.bytes);
    return outcome;
  }
}

/** The mover's bandwidth limit, with the time moves wait for it counted. */
export function meteredThrottle(take: (bytes: number) => Promise<void>, metrics: MetricsRegistry): (bytes: number) => Promise<void> {
  const waited = metrics.counter('tierfs_mover_throttled_seconds_total');
  return async (bytes) => {
    const start = performance.now();
    await take(bytes);
    const seconds = (performance.now() - start) / 1000;
    // A wait under a millisecond is the bucket's bookkeeping, not throttling.
    if (seconds >= 0.001) waited.inc(seconds);
  };
}
