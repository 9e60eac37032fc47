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
    const req = request({ socketPath, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
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
