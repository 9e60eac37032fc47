// The daemon's HTTP listener for machine readers: GET /metrics in the Prometheus text
// format, and GET /api/v1/... answered by the same routes as the admin socket (the
// JSON that `tierfs ... --json` prints). It computes nothing: the metrics module and
// the AdminApi do. A listener on anything but loopback requires a bearer token.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isLoopback, type ListenAddress } from '../config/metrics.js';
import { moduleLogger } from '../log.js';
import type { MetricsStatus } from './api.js';
import { answer, type Routes } from './server.js';
import { loadOrCreateToken } from './token.js';
import { Dashboard, type DashboardDeps } from '../dashboard/dashboard.js';
import { listenerUids } from '../dashboard/peer-uid.js';

const log = moduleLogger('admin-http');

/** Ports tried after a taken one (a second mount on the host takes the next free port). */
const PORTS_TO_TRY = 32;

export interface HttpHandlers {
  /** the exposition and its content type */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** the admin routes; only GET ones are served here (the dashboard's, when there is one) */
  routes: Routes;
  /** the web dashboard at / and /api/… (its API needs the token or a login, even on loopback) */
  dashboard?: Omit<DashboardDeps, 'token'>;
}

export interface HttpListener {
  /** the address it listens on */
  host: string;
  port: number;
  /** the address configured (differs in port when that one was taken) */
  configured: ListenAddress;
  tokenRequired: boolean;
  close(): Promise<void>;
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Listens on `at` (or, while that port is taken, on the next ones). Every request must
 * carry the admin token as a bearer token (or a dashboard session), but /metrics, which
 * the scrape token reads too, and on loopback needs none: the API names every user's
 * files and makes changes, and any local user reaches a loopback port.
 */
export async function startHttpListener(
  at: ListenAddress,
  tokens: { admin: string; scrape: string },
  handlers: Omit<HttpHandlers, 'dashboard'>,
  dashboard?: Dashboard,
): Promise<HttpListener> {
  const tokenRequired = !isLoopback(at.host);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // A page of another site that resolves its name to 127.0.0.1 (DNS rebinding) names
    // that site in Host: a loopback listener answers only to loopback names — /metrics,
    // which it serves without a token, included.
    if (!tokenRequired && !isLoopback(hostName(req.headers.host ?? ''))) {
      return text(res, 421, 'this listener answers to a loopback address only (127.0.0.1, localhost, [::1])\n');
    }
    const url = new URL(req.url ?? '/', 'http://tierfs');
    // The dashboard checks its own credentials (the token, or its session cookie).
    if (dashboard && url.pathname !== '/metrics') return dashboard.handle(req, res, url, tokenRequired);
    // The dashboard's Object stores page reads /metrics with its session.
    if ((tokenRequired || url.pathname !== '/metrics') && !dashboard?.auth.credential(req)) {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : '';
      const metricsToken = url.pathname === '/metrics' && sameToken(given, tokens.scrape);
      if (!given || (!sameToken(given, tokens.admin) && !metricsToken)) return text(res, 401, 'a bearer token is required (tierfs status says where it is)\n', { 'www-authenticate': 'Bearer realm="tierfs"' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'only GET\n', { allow: 'GET, HEAD' });
    if (url.pathname === '/metrics') {
      const m = await handlers.metrics();
      res.writeHead(200, { 'content-type': m.contentType });
      return res.end(req.method === 'HEAD' ? undefined : m.body);
    }
    // The dashboard's report routes: /api/report/… is /api/v1/report/….
    if (url.pathname.startsWith('/api/report/')) return answer(handlers.routes, 'GET', `/v1${url.pathname.slice('/api'.length)}`, url, req, res);
    if (url.pathname.startsWith('/api/v1/')) {
      return answer(handlers.routes, 'GET', url.pathname.slice('/api'.length), url, req, res);
    }
    return text(res, 404, 'tierfs serves /metrics and /api/v1/…\n');
  };

  const tries = at.port === 0 ? 1 : PORTS_TO_TRY;
  for (let i = 0; i < tries && at.port + i <= 65535; i++) {
    const server = createServer((req, res) => {
      handle(req, res).catch((err: unknown) => {
        log.error({ err }, 'HTTP request failed');
        if (!res.headersSent) text(res, 500, `${(err as Error).message}\n`);
        else res.destroy();
      });
    });
    let port: number;
    try {
      port = await listenOn(server, at.host, at.port + i);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (i === 0) refuseAnotherUsersPort(at);
      continue;
    }
    // The listener must not keep a daemon alive that is otherwise done.
    server.unref();
    if (i > 0) log.warn({ configured: formatAddress(at.host, at.port), listen: formatAddress(at.host, port) }, 'metrics port taken (another mount?): listening on the next free one');
    return {
      host: at.host,
      port,
      configured: at,
      tokenRequired,
      close: () =>
        new Promise<void>((resolve) => {
          dashboard?.close();
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  throw new Error(`ports ${at.port}–${at.port + tries - 1} on ${at.host} are all taken`);
}

/**
 * The configured port is taken: another mount of this user's, which the next free port
 * steps aside from — or a server of another local user's, which would then answer the
 * configured address: Prometheus would scrape it and an operator's browser would give it
 * the token at the dashboard's login. Then nothing listens, and status says why.
 */
function refuseAnotherUsersPort(at: ListenAddress): void {
  const uids = listenerUids(at.port);
  const ours = process.getuid?.();
  if (uids && uids.length > 0 && uids.every((uid) => uid === ours)) return;
  const holder = !uids ? 'by a process whose user cannot be told (/proc/net/tcp unreadable)' : uids.length === 0 ? 'by a socket that is not listening' : `by uid ${uids.filter((uid) => uid !== ours).join(', ')}`;
  throw new Error(
    `${formatAddress(at.host, at.port)} is taken ${holder}, not by this daemon's user: not listening on another port, ` +
      'since the configured address would reach that server (free the port, or set metrics.listen to another)',
  );
}

/** The host name of a Host header ("127.0.0.1:9750", "[::1]:9750", "localhost:9750"). */
function hostName(host: string): string {
  const m = /^\[([^\]]+)\]/.exec(host);
  return m ? m[1]! : host.replace(/:\d+$/, '');
}

/** The listener as status shows it (the history part is the daemon's). */
export type ListenerStatus = Omit<MetricsStatus, 'history'>;

/**
 * The daemon's listener as configured (`listen` null: off), with its tokens: the
 * configured ones, else those in the data directory. Metrics must never
 * cost the mount: a listener that cannot start is logged and reported in status.
 */
export async function serveMetrics(
  listen: ListenAddress | null,
  configured: { token?: string; scrapeToken?: string },
  dataDir: string,
  handlers: HttpHandlers,
): Promise<{ status(): ListenerStatus; close(): Promise<void>; login(withLink: boolean): DashboardLogin }> {
  let listener: HttpListener | undefined;
  let dashboard: Dashboard | undefined;
  let tokenFile: string | null = null;
  let scrapeTokenFile: string | null = null;
  let error: string | null = null;
  if (listen) {
    try {
      let token = configured.token;
      let scrape = configured.scrapeToken;
      // The API needs a token on loopback too.
      if (!token) ({ token, file: tokenFile } = loadOrCreateToken(dataDir, 'admin'));
      if (!scrape) ({ token: scrape, file: scrapeTokenFile } = loadOrCreateToken(dataDir, 'scrape'));
      if (scrape === token) throw new Error('metrics.scrapeToken is metrics.token: give Prometheus a token of its own, which reads /metrics only');
      dashboard = handlers.dashboard && new Dashboard({ ...handlers.dashboard, token });
      listener = await startHttpListener(listen, { admin: token, scrape }, handlers, dashboard);
      log.info({ listen: formatAddress(listener.host, listener.port), tokenRequired: listener.tokenRequired }, 'metrics served');
    } catch (err) {
      error = (err as Error).message;
      log.error({ err: error }, 'metrics listener not started');
    }
  }
  return {
    status: () => {
      const at = listener ? formatAddress(listener.host, listener.port) : null;
      return {
        listen: at,
        url: at ? `http://${at}/metrics` : null,
        configured: listen ? formatAddress(listen.host, listen.port) : 'off',
        tokenRequired: listener?.tokenRequired ?? false,
        tokenFile,
        scrapeTokenFile,
        error,
      };
    },
    close: async () => listener?.close(),
    login: (withLink) => {
      if (!listener || !dashboard) throw Object.assign(new Error(`the dashboard is not served: ${error ?? 'metrics.listen is off'}`), { code: 'ENOTSUP' });
      const url = `http://${formatAddress(reachableHost(listener.host), listener.port)}/`;
      if (!withLink) return { url, loginUrl: null, expiresAt: null, tokenRequired: listener.tokenRequired };
      const { code, expiresMs } = dashboard.auth.issueLogin();
      return { url, loginUrl: `${url}login?code=${code}`, expiresAt: new Date(expiresMs).toISOString(), tokenRequired: listener.tokenRequired };
    },
  };
}

/** What `tierfs dashboard` prints: the address, and a login link valid once for a few minutes. */
export interface DashboardLogin {
  url: string;
  /** null unless a login link was asked for */
  loginUrl: string | null;
  expiresAt: string | null;
  tokenRequired: boolean;
}

/** A host a browser can open: a listener on every interface is reached at this host's first address. */
function reachableHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  const v4 = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  return v4?.address ?? '127.0.0.1';
}
