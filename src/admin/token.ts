// The bearer tokens of the HTTP listener: metrics.token (everything: the API, the
// dashboard, /metrics) and metrics.scrapeToken (GET /metrics and nothing else: what a
// Prometheus holds) from the configuration, else each generated once into the data
// directory (mode 0600, so only who may read the catalog may read it) and kept across
// restarts, so that a Prometheus configured with one goes on scraping.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type TokenKind = 'admin' | 'scrape';

export function tokenFileOf(dataDir: string, kind: TokenKind = 'admin'): string {
  return join(dataDir, kind === 'admin' ? 'metrics.token' : 'scrape.token');
}

/** The token in its file in dataDir, written there first if there is none. */
export function loadOrCreateToken(dataDir: string, kind: TokenKind = 'admin'): { token: string; file: string } {
  const file = tokenFileOf(dataDir, kind);
  try {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(file, 0o600); // one copied in with wider permissions is narrowed
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < 16) throw new Error(`${file} holds no usable token (16 characters at least): remove it and a new one is made`);
  return { token, file };
}
