// A backend that stops answering (a server gone, a network cut, credentials revoked)
// fails every read that touches it, maybe thousands a second. One log line per episode
// says which backend and why; the reads in between are not logged one by one. The
// episode ends at the backend's next success (a read, or the metrics probe), logged too.
import { moduleLogger } from '../../log.js';
import { ObjectStoreError } from '../../objectstore/index.js';

const log = moduleLogger('object-tier');

/** The backend itself failed, as opposed to one object being missing, damaged or archived. */
export function isBackendFailure(err: unknown): err is ObjectStoreError {
  return err instanceof ObjectStoreError && err.code !== 'NotFound' && err.code !== 'Archived';
}

interface Episode {
  sinceMs: number;
  failures: number;
  firstError: string;
}

export class BackendEpisodes {
  private readonly open = new Map<number, Episode>();

  constructor(
    private readonly tier: string,
    private readonly backendNames: readonly string[],
  ) {}

  private nameOf(backend: number): string {
    return this.backendNames[backend] ?? `b${backend}`;
  }

  /** A request to the backend failed. Logs when this starts an episode; true then. */
  failed(backend: number, err: unknown, nowMs = Date.now()): boolean {
    if (!isBackendFailure(err)) return false;
    const episode = this.open.get(backend);
    if (episode) {
      episode.failures++;
      return false;
    }
    this.open.set(backend, { sinceMs: nowMs, failures: 1, firstError: err.message });
    log.error(
      { tier: this.tier, backend: this.nameOf(backend), code: err.code, err: err.message },
      `backend ${this.nameOf(backend)} of tier ${this.tier} is failing: ${err.message}; reads use the other backends (parity) where they can, and fail with EIO where they cannot, until it answers again (not logged per read)`,
    );
    return true;
  }

  /** A request to the backend succeeded: ends its episode, if one was open. */
  succeeded(backend: number, nowMs = Date.now()): void {
    const episode = this.open.get(backend);
    if (!episode) return;
    this.open.delete(backend);
    log.warn(
      { tier: this.tier, backend: this.nameOf(backend), failures: episode.failures, seconds: Math.round((nowMs - episode.sinceMs) / 1000) },
      `backend ${this.nameOf(backend)} of tier ${this.tier} answers again after ${episode.failures} failed requests`,
    );
  }

  isFailing(backend: number): boolean {
    return this.open.has(backend);
  }
}
