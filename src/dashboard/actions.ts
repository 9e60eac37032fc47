// What the dashboard may do beyond the CLI's routes: pause or resume the mover, cancel a
// queued move or put it first, and check a configuration text as it is typed (the same parser and schema
// as a mount and `tierfs config apply`: problems at key and line).
import { dirname } from 'node:path';
import type { Routes } from '../admin/server.js';
import { ConfigError, parseConfig } from '../config/load.js';
import type { BackgroundMover } from '../mover/background.js';
import type { AdminApi } from '../admin/api.js';
import type { Catalog } from '../catalog/catalog.js';

/** The Moves page's snapshot: tierfs moves --json, each queued entry with its path, and whether the mover is paused. */
export function movesSnapshot(api: AdminApi, catalog: Catalog, background: BackgroundMover) {
  const m = api.moves(50);
  return { ...m, queued: m.queued.map((q) => ({ ...q, path: catalog.pathOf(q.ino) ?? null })), paused: background.paused };
}

export interface ActionDeps {
  background: BackgroundMover;
  /** the config file the mount runs from (relative paths in a text are its) */
  configFile: string | undefined;
}

export function dashboardActionRoutes(d: ActionDeps): Routes {
  return {
    'GET /v1/mover': () => ({ paused: d.background.paused, heldBack: d.background.heldBack, slowedBy: d.background.slowedBy }),
    'POST /v1/mover/pause': (_url, body) => {
      d.background.paused = body.paused !== false;
      d.background.kick();
      return { paused: d.background.paused };
    },
    'POST /v1/queue/cancel': (_url, body) => ({ id: Number(body.id), ...d.background.cancel(Number(body.id)) }),
    'POST /v1/queue/first': (_url, body) => ({ id: Number(body.id), ...d.background.runFirst(Number(body.id)) }),
    'POST /v1/config/validate': (_url, body) => {
      const text = typeof body.text === 'string' ? body.text : '';
      const file = d.configFile ?? 'tierfs.yaml';
      try {
        parseConfig(text, file, dirname(file));
        return { valid: true, problems: [] };
      } catch (err) {
        if (err instanceof ConfigError) return { valid: false, problems: err.problems };
        throw err;
      }
    },
  };
}
