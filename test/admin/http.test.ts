// The HTTP listener on its own: what it serves (/metrics, GET routes under /api/v1),
// what it refuses (a missing or wrong token off loopback, other methods, other paths),
// the next free port when the configured one is taken, and the token file.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpListener, type HttpHandlers, type HttpListener } from '../../src/admin/http.js';
import { loadOrCreateToken } from '../../src/admin/token.js';
import { tempDir } from '../helpers/tmp.js';

const handlers: HttpHandlers = {
  metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'tierfs_build_info{version="x"} 1\n' }),
  routes: {
    'GET /v1/status': () => ({ mountpoint: '/mnt' }),
    'POST /v1/move': () => ({ moved: true }),
  },
};

let open: HttpListener[] = [];
let blockers: Server[] = [];
let dirs: ReturnType<typeof tempDir>[] = [];
afterEach(async () => {
  await Promise.all(open.map((l) => l.close()));
  await Promise.all(blockers.map((b) => new Promise((r) => b.close(r))));
  for (const d of dirs) d.remove();
  open = [];
  blockers = [];
  dirs = [];
});

const TOKEN = 'a'.repeat(20) + 'b'.repeat(20);
const SCRAPE = 'c'.repeat(40);
const bearer = { authorization: `Bearer ${TOKEN}` };

async function listen(host: string, port: number, token = TOKEN): Promise<HttpListener> {
  const l = await startHttpListener({ host, port }, { admin: token, scrape: SCRAPE }, handlers);
  open.push(l);
  return l;
}

describe('the HTTP listener', () => {
  it('on loopback, serves /metrics to anyone, and the GET routes as /api/v1/… with the token (they name every user\'s files), nothing else', async () => {
    const l = await listen('127.0.0.1', 0);
    expect(l.tokenRequired).toBe(false);
    const base = `http://127.0.0.1:${l.port}`;
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('tierfs_build_info');
    expect((await fetch(`${base}/api/v1/status`)).status).toBe(401);
    expect(await (await fetch(`${base}/api/v1/status`, { headers: bearer })).json()).toEqual({ mountpoint: '/mnt' });
    expect((await fetch(`${base}/api/v1/move`, { headers: bearer })).status).toBe(404); // only GET routes, and only by GET
    expect((await fetch(`${base}/api/v1/move`, { method: 'POST', body: '{}', headers: bearer })).status).toBe(405);
    expect((await fetch(`${base}/`, { headers: bearer })).status).toBe(404);
  });

  it('off loopback, needs the bearer token on every request', async () => {
    const token = TOKEN;
    const l = await listen('0.0.0.0', 0, token);
    expect(l.tokenRequired).toBe(true);
    const url = `http://127.0.0.1:${l.port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${token.slice(1)}` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Basic ${token}` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('the scrape token reads /metrics and nothing else', async () => {
    const l = await listen('0.0.0.0', 0);
    const base = `http://127.0.0.1:${l.port}`;
    const scraper = { authorization: `Bearer ${SCRAPE}` };
    expect((await fetch(`${base}/metrics`, { headers: scraper })).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { method: 'HEAD', headers: scraper })).status).toBe(200);
    expect((await fetch(`${base}/api/v1/status`, { headers: scraper })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/move`, { method: 'POST', body: '{}', headers: scraper })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/status`, { headers: bearer })).status).toBe(200);
  });

  it('takes the next free port when the configured one is taken', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    const l = await listen('127.0.0.1', taken);
    expect(l.port).toBeGreaterThan(taken);
    expect(l.configured).toEqual({ host: '127.0.0.1', port: taken });
    expect((await fetch(`http://127.0.0.1:${l.port}/metrics`)).status).toBe(200);
  });
});

describe('the token file', () => {
  it('is made once with mode 0600 and kept; a copy with wider permissions is narrowed', () => {
    const d = tempDir('tierfs-token-');
    dirs.push(d);
    const first = loadOrCreateToken(d.path);
    expect(first.file).toBe(join(d.path, 'metrics.token'));
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(first.token).toMatch(/^[0-9a-f]{64}$/);
    expect(loadOrCreateToken(d.path).token).toBe(first.token);
    writeFileSync(first.file, 'my-own-token-of-enough-length\n', { mode: 0o644 });
    expect(loadOrCreateToken(d.path).token).toBe('my-own-token-of-enough-length');
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    writeFileSync(first.file, 'short');
    expect(() => loadOrCreateToken(d.path)).toThrow(/no usable token/);
    expect(readFileSync(first.file, 'utf8')).toBe('short');
  });

  it('the scrape token has a file of its own, another token', () => {
    const d = tempDir('tierfs-token-');
    dirs.push(d);
    const admin = loadOrCreateToken(d.path, 'admin');
    const scrape = loadOrCreateToken(d.path, 'scrape');
    expect(scrape.file).toBe(join(d.path, 'scrape.token'));
    expect(statSync(scrape.file).mode & 0o777).toBe(0o600);
    expect(scrape.token).toMatch(/^[0-9a-f]{64}$/);
    expect(scrape.token).not.toBe(admin.token);
  });
});
