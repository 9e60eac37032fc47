// Who may use the dashboard, and how. Its API — reads too: they name every user's files,
// and any local user reaches a loopback port — needs the token, or a session cookie that a
// one-time login link (`tierfs dashboard --open`) set; off loopback, so do its pages. A
// change from a page of another origin is refused, so a site the user visits cannot drive
// the daemon (CSRF).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { peerUid } from './peer-uid.js';

const COOKIE = 'tierfs_session';
/** a login link is for the person who just asked for it: used once, and soon */
const LOGIN_TTL_MS = 5 * 60_000;
const SESSION_TTL_MS = 12 * 3_600_000;

function same(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

export function bearerOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  return auth.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : '';
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export type Credential = 'token' | 'session' | null;

export class DashboardAuth {
  private readonly logins = new Map<string, number>(); // code → expiry
  /** id → its expiry, and the local user whose browser redeemed the login (null: not known, a remote one) */
  private readonly sessions = new Map<string, { expires: number; uid: number | null }>();

  constructor(
    private readonly token: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A code for a login link, valid once within LOGIN_TTL_MS. */
  issueLogin(): { code: string; expiresMs: number } {
    this.prune();
    const code = randomBytes(24).toString('base64url');
    const expiresMs = this.now() + LOGIN_TTL_MS;
    this.logins.set(code, expiresMs);
    return { code, expiresMs };
  }

  /**
   * The Set-Cookie value of a new session for a valid code (then spent), or undefined.
   * The session is the redeeming user's (on loopback): its cookie, sent by the browser to
   * any port of 127.0.0.1 (a page another user serves on a port this listener gave up),
   * is worth nothing to another user.
   */
  redeem(code: string, uid: number | null = null): string | undefined {
    this.prune();
    const found = [...this.logins.keys()].find((c) => same(c, code));
    if (!found) return undefined;
    this.logins.delete(found);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { expires: this.now() + SESSION_TTL_MS, uid });
    // HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it.
    return `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}`;
  }

  /** What the request proves: the token, a live session of the user it comes from, or nothing. */
  credential(req: IncomingMessage): Credential {
    const given = bearerOf(req);
    if (given && same(given, this.token)) return 'token';
    const id = cookieOf(req, COOKIE);
    if (id) {
      const session = [...this.sessions].find(([s]) => same(s, id))?.[1];
      if (session && session.expires > this.now() && (session.uid === null || session.uid === peerUid(req.socket))) return 'session';
    }
    return null;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, exp] of this.logins) if (exp <= now) this.logins.delete(k);
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
  }
}

/**
 * Why a changing request must be refused as cross-site, or null. A browser names the
 * page's origin on every POST; it must be this listener's. A session cookie without an
 * Origin is refused too (only a browser holds one); a bearer token without one is a
 * script (curl), which no other site can make a browser send.
 */
export function crossSiteReason(req: IncomingMessage, credential: Credential): string | null {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (origin !== undefined) {
    if (!host || origin !== `http://${host}`) return `origin ${origin} is not this dashboard's (http://${host ?? '?'})`;
  } else if (credential === 'session') return 'a request with the session cookie must name its origin';
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${site} request`;
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return 'changes are sent as application/json';
  return null;
}
