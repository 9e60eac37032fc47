// The daemon's last line of defence: what escapes every catch below it.
//
// A rejected promise nobody awaited (Node's default: exit) is logged and counted and the
// daemon keeps serving: a rejection has unwound nothing but its own async function, and
// every background task catches its own failures already (background-task.ts), so what
// arrives here is a forgotten await, not a broken state. Exiting for it would take the
// mount away from every application over a bookkeeping slip.
//
// An uncaught exception is different: it unwound synchronous code at a point nobody
// chose, and the FUSE dispatcher and the background tasks already catch everything they
// expect, so what arrives here is by definition unexplained. Serving on could act on a
// half-updated handle table or move journal. Stopping is what the design is built for:
// the catalog is transactional and every move is journaled, so the next mount recovers
// from any instant. So: log it, stop cleanly (unmount, flush, close the catalog) within
// a deadline, and exit non-zero for the service manager to restart.
import { moduleLogger } from './log.js';

const log = moduleLogger('daemon');

/** How long an orderly stop may take after an uncaught exception before the process exits anyway. */
const FATAL_STOP_DEADLINE_MS = 10_000;
/** Distinct rejection messages logged in full; beyond that, only the count grows (no log flood). */
const MAX_DISTINCT_LOGGED = 100;

export interface ProcessGuard {
  /** unhandled rejections since the guard was installed */
  readonly unhandledRejections: number;
  uninstall(): void;
}

/**
 * Install the handlers. `shutdown` is the orderly stop run after an uncaught
 * exception; the process then exits with status 1 (also if it does not finish in time).
 */
export function guardProcess(shutdown: () => Promise<void>): ProcessGuard {
  let unhandledRejections = 0;
  const logged = new Set<string>();
  let dying = false;

  const onRejection = (reason: unknown) => {
    unhandledRejections++;
    const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
    if (logged.has(message) || logged.size >= MAX_DISTINCT_LOGGED) {
      log.debug({ err: reason, unhandledRejections }, 'unhandled rejection (seen before)');
      return;
    }
    logged.add(message);
    log.error({ err: reason, unhandledRejections }, 'unhandled rejection: a promise failed that nobody awaited; the daemon keeps serving');
  };

  const onException = (err: Error, origin: string) => {
    log.fatal({ err, origin }, 'uncaught exception: stopping the daemon (the next mount recovers every interrupted move)');
    if (dying) return;
    dying = true;
    process.exitCode = 1;
    setTimeout(() => process.exit(1), FATAL_STOP_DEADLINE_MS).unref();
    shutdown()
      .catch((stopErr: unknown) => log.error({ err: stopErr }, 'orderly stop after an uncaught exception failed'))
      .finally(() => log.flush(() => process.exit(1)));
  };

  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    get unhandledRejections() {
      return unhandledRejections;
    },
    uninstall() {
      process.removeListener('unhandledRejection', onRejection);
      process.removeListener('uncaughtException', onException);
    },
  };
}
