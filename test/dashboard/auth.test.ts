// Who may use the dashboard: off loopback nothing without the token or a login; a login
// link works once; the API needs a credential even on loopback, and changes are refused
// when they come from a page of another origin (CSRF) or name another host (DNS rebinding).
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { dashboardMount, loginLink, type DashboardMount } from './setup.js';
import { runAsNobody } from '../helpers/mount.js';

let m: DashboardMount | undefined;
afterEach(async () => {
  await m?.dispose();
  m = undefined;
});

const pin = (url: string, headers: Record<string, string>) =>
  fetch(new URL('/api/v1/pin', url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ path: 'f', tier: 'warm' }) });

describe('dashboard access', () => {
  it('off loopback: refuses requests without the token or a login; a login link works once; another origin cannot change anything', async () => {
    m = await dashboardMount({ listen: '0.0.0.0:0' });
    const host = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    const port = new URL(m.url).port;
    // Reach it as another host would: through a non-loopback address of this machine.
    const base = `http://${host ?? '127.0.0.1'}:${port}`;
    const token = readFileSync(join(m.t.dataDir, 'metrics.token'), 'utf8').trim();
    await import('node:fs/promises').then((fs) => fs.writeFile(join(m!.t.mnt, 'f'), 'x'));

    for (const path of ['/', '/api/v1/status', '/api/events', '/ui/app.js', '/api/v1/config/version']) {
      expect((await fetch(base + path)).status, path).toBe(401);
    }
    expect((await pin(base, {})).status).toBe(401);
    expect((await fetch(`${base}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    const link = new URL(await loginLink(m.t));
    expect(link.port).toBe(port);
    const login = await fetch(`${base}${link.pathname}${link.search}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await fetch(`${base}${link.pathname}${link.search}`, { redirect: 'manual' })).status).toBe(403); // spent
    const page = await fetch(`${base}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/ui/app.js');

    // Changes from another origin are refused, with the cookie or the token; from its own page they pass.
    expect((await pin(base, { cookie, origin: 'http://evil.example' })).status).toBe(403);
    expect((await pin(base, { cookie })).status).toBe(403); // a cookie without an origin
    expect((await pin(base, { authorization: `Bearer ${token}`, origin: 'http://evil.example' })).status).toBe(403);
    expect((await pin(base, { cookie, origin: base, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const own = await pin(base, { cookie, origin: base });
    expect(own.status, await own.clone().text()).toBe(200);
    expect((await pin(base, { authorization: `Bearer ${token}` })).status).toBe(200); // a script with the token
    const where = (await (await fetch(`${base}/api/v1/where?path=f`, { headers: { cookie } })).json()) as { pin: { tier: string } };
    expect(where.pin.tier).toBe('warm');
  });

  it('on loopback: the pages need nothing, the API (reads too) needs a credential; another Host name is refused', async () => {
    m = await dashboardMount();
    // Only --open makes a login link.
    const plain = JSON.parse((await m.t.cli(['dashboard', '--json', m.t.mnt])).stdout) as { url: string; loginUrl: string | null };
    expect(plain).toMatchObject({ url: m.url, loginUrl: null });
    const text = await m.t.cli(['dashboard', '--open', m.t.mnt]);
    expect(text.stdout).toMatch(new RegExp(`^dashboard: ${m.url}\nlogin \\(once, until .*\\): ${m.url}login\\?code=\\S+\n$`));
    expect((await m.t.cli(['status', m.t.mnt])).stdout).toContain(`dashboard: ${m.url} `);
    // On loopback the page, which holds no data, but not the API: any local user reaches
    // the port, and the API names every user's files.
    expect((await fetch(m.url)).status).toBe(200);
    for (const path of ['/api/v1/status', '/api/v1/find?glob=**', '/api/v1/trace', '/api/events']) expect((await fetch(new URL(path, m.url))).status, path).toBe(401);
    expect((await fetch(new URL('/api/v1/status', m.url), { headers: m.t.apiAuth() })).status).toBe(200);
    expect(await (await fetch(new URL('/api/session', m.url))).json()).toEqual({ credential: null, canChange: false });
    // A session is its user's: its cookie, which the browser sends to any port of 127.0.0.1
    // (to a page another user serves on a port this listener gave up), is nothing to another user.
    const link = new URL(await loginLink(m.t));
    const cookie = (await fetch(link, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
    const status = new URL('/api/v1/status', m.url).href;
    expect((await fetch(status, { headers: { cookie } })).status).toBe(200);
    const other = await runAsNobody('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Cookie: ${cookie}`, status]);
    expect(other.stdout).toBe('401');
    expect((await pin(m.url, { origin: m.url.replace(/\/$/, '') })).status).toBe(401);
    expect((await fetch(new URL('/api/v1/config/version', m.url))).status).toBe(401);
    // A page of evil.example whose name resolves to 127.0.0.1 names itself in Host.
    // (fetch does not let a caller set Host: node:http does.)
    const rebound = (path: string) => {
      const u = new URL(path, m!.url);
      return new Promise<number>((resolve, reject) =>
        get({ host: u.hostname, port: u.port, path: u.pathname, headers: { host: `evil.example:${u.port}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject),
      );
    };
    expect(await rebound('/api/v1/status')).toBe(421);
    // /metrics too, which a loopback listener serves without a token
    expect(await rebound('/metrics')).toBe(421);
    expect((await fetch(new URL('/metrics', m!.url))).status).toBe(200);
  });
});
