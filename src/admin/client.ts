// How the CLI talks to a running daemon: HTTP over its unix socket.
import { request } from 'node:http';
import { join } from 'node:path';

export class AdminError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export function socketPathOf(dataDir: string): string {
  return join(dataDir, 'admin.sock');
}

export function adminRequest(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A connection of its own (agent: false): one kept alive by the default agent is closed by
    // the server after 5 s idle, and a caller whose event loop was busy meanwhile would write
    // to it before hearing of the close (EPIPE). Connecting to a Unix socket costs nothing.
    const req = request({ socketPath, agent: false, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) =>
      reject(new AdminError(`cannot reach the tierfs daemon at ${socketPath}: ${(err as Error).message} (is it mounted?)`, 0)),
    );
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export async function adminJson<T>(socketPath: string, method: 'GET' | 'POST', path: string, payload?: unknown): Promise<T> {
  const { status, body } = await adminRequest(socketPath, method, path, payload);
  if (status !== 200) {
    let parsed: { error?: string; code?: string } = {};
    try {
      parsed = JSON.parse(body);
    } catch {
      // not JSON: report the raw body
    }
    throw new AdminError(parsed.error ?? body, status, parsed.code);
  }
  return JSON.parse(body) as T;
}

/** A request whose answer is JSON lines, each handed to onLine as it arrives. */
export function adminLines(socketPath: string, path: string, body: unknown, onLine: (value: unknown) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line && res.statusCode === 200) onLine(JSON.parse(line));
        }
      });
      res.on('end', () => {
        if (res.statusCode === 200) return resolve();
        let message = buf;
        try {
          message = (JSON.parse(buf) as { error?: string }).error ?? buf;
        } catch {
          // not JSON: the raw body is the message
        }
        reject(new AdminError(message, res.statusCode ?? 0));
      });
    });
    req.on('error', (err) => reject(new AdminError(`cannot reach the tierfs daemon at ${socketPath}: ${err.message} (is it mounted?)`, 0)));
    req.end(JSON.stringify(body));
  });
}
