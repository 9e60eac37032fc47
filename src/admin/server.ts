// The daemon's admin endpoint: HTTP on a unix socket beside the catalog (only who
// can reach the data directory can talk to it). Routes map to AdminApi calls; the
// HTTP listener (http.ts) answers its GET routes under /api too.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, rmSync } from 'node:fs';
import { errnoOf } from '../errors.js';
import type { AdminApi } from './api.js';
import { moduleLogger } from '../log.js';

const log = moduleLogger('admin');

type Handler = (url: URL, body: Record<string, unknown>, res: ServerResponse) => unknown;
/** "METHOD /v1/path" → handler */
export type Routes = Record<string, Handler>;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return {};
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A number from a query parameter, or undefined when it is absent. */
function numberParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  return v === null || v === '' ? undefined : Number(v);
}

export function adminRoutes(api: AdminApi, onFlush: () => void, pace: (bytes: number) => Promise<void> = async () => undefined): Routes {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const strs = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return {
    'GET /v1/status': () => api.status(),
    // since: how far back, in ms (the daemon's clock decides what "now" is); step in ms
    'GET /v1/history': (url) => {
      const series = url.searchParams.get('series');
      if (!series) return { series: api.historySeries() };
      return api.history(series, numberParam(url, 'since'), numberParam(url, 'step'));
    },
    'GET /v1/alerts': (url) => api.alerts(numberParam(url, 'limit')),
    'GET /v1/where': (url) => api.where(url.searchParams.get('path') ?? ''),
    'GET /v1/ls': (url) => api.ls(url.searchParams.get('path') ?? ''),
    'GET /v1/find': (url) => api.find(url.searchParams.get('glob') ?? '', url.searchParams.get('path') ?? '', numberParam(url, 'limit')),
    'GET /v1/moves': (url) => api.moves(Number(url.searchParams.get('limit') ?? 50)),
    'POST /v1/move': (_url, body) => api.move(strs(body.paths), str(body.to), body.wait !== false),
    'POST /v1/recall': (_url, body) => api.recall(strs(body.paths)),
    'POST /v1/pin': (_url, body) => api.pin(str(body.path), body.tier === null ? null : str(body.tier)),
    'POST /v1/catalog/backup': () => api.backup(),
    'POST /v1/flush': () => {
      onFlush();
      return { ok: true };
    },
    // Long work answers as it goes: one JSON line per file scrubbed.
    'POST /v1/scrub': async (_url, body, res) => {
      const lines = api.scrub(body.tier === undefined ? undefined : str(body.tier), body.repair === true, pace);
      const first = await lines.next(); // an unknown tier fails here, before the 200
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (let r = first; !r.done; r = await lines.next()) res.write(`${JSON.stringify(r.value)}\n`);
      res.end();
      return undefined;
    },
    'GET /v1/trace': async (url, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      // Page by page, as the reader takes them, with the mount's requests served between.
      for (const page of api.traceCsv(Number(url.searchParams.get('since') ?? 0))) {
        if (!res.write(page)) await once(res, 'drain');
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
      return undefined;
    },
  };
}

/** Answers one request from the routes: JSON, or what the route writes itself; errors as JSON with a status. */
export async function answer(routes: Routes, method: string, pathname: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = routes[`${method} ${pathname}`];
  if (!route) return json(res, 404, { error: `no such endpoint: ${method} ${pathname}` });
  try {
    const result = await route(url, await readBody(req), res);
    if (result !== undefined) json(res, 200, result);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const status = code === 'ENOENT' ? 404 : errnoOf(err) === 5 ? 500 : 400;
    if (status === 500) log.error({ err }, 'admin request failed');
    // A streamed answer (scrub) that fails midway has sent its status already: cut it.
    if (res.headersSent) res.destroy(err as Error);
    else json(res, status, { error: (err as Error).message, code });
  }
}

export function startAdminServer(socketPath: string, routes: Routes): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://tierfs');
    void answer(routes, req.method ?? 'GET', url.pathname, url, req, res);
  });
  rmSync(socketPath, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      resolve(server);
    });
  });
}
