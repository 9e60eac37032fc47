// The dashboard on the daemon's HTTP listener: the app (/), its files, JSON under
// /api/v1/... answered by the admin socket's own routes (the JSON `tierfs ... --json`
// prints: one source for the CLI, the dashboard and Prometheus), live updates at
// /api/events, and the one-time login of `tierfs dashboard --open` at /login.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopback } from '../config/metrics.js';
import { peerUid } from './peer-uid.js';
import { answer, type Routes } from '../admin/server.js';
import { crossSiteReason, DashboardAuth } from './auth.js';
import { EventStream, type Snapshots } from './sse.js';
import { StaticFiles } from './static.js';

/** Changes the dashboard may make (each needs the token or a session, and its own origin). */
const CHANGES = new Set([
  'POST /v1/move',
  'POST /v1/recall',
  'POST /v1/pin',
  'POST /v1/mover/pause',
  'POST /v1/queue/cancel',
  'POST /v1/queue/first',
  'POST /v1/config/validate',
  'POST /v1/config/apply',
  'POST /v1/config/rollback',
]);

export interface DashboardDeps {
  token: string;
  /** the admin socket's routes (and the dashboard's own) */
  routes: Routes;
  /** what /api/events sends as it changes */
  snapshots: Snapshots;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));


export class Dashboard {
  readonly auth: DashboardAuth;
  private readonly files = new StaticFiles();
  private readonly events: EventStream;

  constructor(private readonly d: DashboardDeps) {
    this.auth = new DashboardAuth(d.token);
    this.events = new EventStream(d.snapshots);
  }

  close(): void {
    this.events.close();
  }

  /** Answer a request of the listener (any but /metrics). tokenRequired: the listener is off loopback. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, tokenRequired: boolean): Promise<void> {
    const credential = this.auth.credential(req);
    const method = req.method ?? 'GET';
    const headers = { 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' };

    if (url.pathname === '/login' && method === 'GET') {
      const local = isLoopback(req.socket.remoteAddress ?? '');
      const cookie = this.auth.redeem(url.searchParams.get('code') ?? '', local ? peerUid(req.socket) : null);
      if (!cookie) return send(res, 403, 'text/plain; charset=utf-8', 'this login link is spent or expired: run tierfs dashboard --open for a new one\n', headers);
      return send(res, 303, 'text/plain; charset=utf-8', 'logged in\n', { ...headers, 'set-cookie': cookie, location: '/' });
    }
    if (url.pathname === '/api/session' && method === 'GET') return json(res, 200, { credential, canChange: credential !== null });
    // Off loopback, nothing without a credential; on loopback, the pages (which hold no
    // data), but none of the API: it names every user's files, and any local user
    // reaches a loopback port.
    if (!credential && (tokenRequired || url.pathname.startsWith('/api/'))) {
      return send(res, 401, 'text/plain; charset=utf-8', 'a bearer token or a login from `tierfs dashboard --open` is required\n', {
        ...headers,
        'www-authenticate': 'Bearer realm="tierfs"',
      });
    }
    if (url.pathname === '/api/events' && method === 'GET') return this.events.attach(req, res);

    if (url.pathname.startsWith('/api/')) {
      // /api/v1/x and /api/x (the reports) are both the route "/v1/x".
      const path = url.pathname.startsWith('/api/v1/') ? url.pathname.slice('/api'.length) : `/v1${url.pathname.slice('/api'.length)}`;
      const key = `${method} ${path}`;
      if (method === 'GET' || method === 'HEAD') return answer(this.d.routes, 'GET', path, url, req, res);
      if (!CHANGES.has(key)) return json(res, 405, { error: `the dashboard does not do ${key}` });
      const crossSite = crossSiteReason(req, credential!);
      if (crossSite) return json(res, 403, { error: `refused: ${crossSite}` });
      await answer(this.d.routes, method, path, url, req, res);
      return this.events.push();
    }
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'only GET\n', { allow: 'GET, HEAD' });
    const file = this.files.get(url.pathname);
    if (!file) return send(res, 404, 'text/plain; charset=utf-8', 'tierfs serves the dashboard at /, /metrics and /api/…\n', headers);
    return send(res, 200, file.type, method === 'HEAD' ? '' : file.body, { ...headers, 'cache-control': 'no-cache' });
  }
}
