// The admin socket's configuration endpoints (tierfs config apply|rollback|history|
// show|diff). The metrics listener serves them only to the dashboard, behind its admin
// credential (the token or a login; never the scrape token): the YAML may hold a
// backend's credentials.
import type { Caller, ConfigManager } from '../config/manager.js';
import type { Routes } from './server.js';

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : Number(v));

/**
 * Who asks: the CLI says (uid and user name). The socket is mode 0600, so only its
 * owner (the user who mounted, or root) can ask at all; the name is for the history.
 */
function callerOf(body: Record<string, unknown>): Caller {
  const c = (body.caller ?? {}) as Record<string, unknown>;
  return { uid: typeof c.uid === 'number' ? c.uid : null, user: str(c.user) ?? null };
}

export function configRoutes(config: ConfigManager): Routes {
  return {
    'GET /v1/config/versions': () => ({ current: config.current().version, versions: config.history() }),
    'GET /v1/config/version': (url) => config.show(num(url.searchParams.get('version'))),
    'GET /v1/config/diff': (url) => config.diff(Number(url.searchParams.get('from')), num(url.searchParams.get('to'))),
    'POST /v1/config/apply': (_url, body) =>
      config.apply({
        text: str(body.text) ?? '',
        source: str(body.source),
        message: str(body.message),
        dryRun: body.dryRun === true,
        caller: callerOf(body),
        expectVersion: num(body.expectVersion),
      }),
    'POST /v1/config/rollback': (_url, body) =>
      config.rollback(Number(body.version), { message: str(body.message), dryRun: body.dryRun === true, caller: callerOf(body), expectVersion: num(body.expectVersion) }),
  };
}
