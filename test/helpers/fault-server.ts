// A fault server for tests: an HTTP proxy on 127.0.0.1 in front of a test server
// (s3rver, Azurite, our GCS server) that counts every request and, when a rule
// matches, answers in the cloud's own wire format instead of passing the request on:
//   error        the cloud's error response for an HTTP status and error code (S3 and
//                Azure: an XML <Error> body, Azure also x-ms-error-code; GCS: the JSON
//                error object; no body on HEAD, as the clouds do)
//   hang         accept the request and never answer
//   stall        pass the upstream's answer on: its headers and the first bytes of its
//                body, then nothing more
//   drop         the same, then close the connection mid-body
//   amend        pass the upstream's answer on with some headers added or replaced
//                (an archive state the test server cannot reach)
//   reset        close the connection without an answer
//   corrupt      pass the request on with one byte of its body flipped (at `at`, from
//                the start of this request's body): damage in transit on the way up;
//                with side "response", a byte of the answer's body instead (and
//                `headers` added to it: a checksum a test server does not send)
//   respond      a given status, headers and body
// Requests are matched in arrival order against the rules; a rule is used `times`
// times (default once).
//
// For S3 it also keeps the ledger of multipart uploads (created, completed, aborted),
// and answers AbortMultipartUpload itself, which s3rver does not implement: a test
// can then check that no upload was left open. Host and signatures pass through unchanged: the clients
// sign for the proxy's address, and the upstream checks what it receives.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform } from 'node:stream';

export type Cloud = 's3' | 'azure' | 'gcs';

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The fault used for it, if any. */
  fault?: Fault['kind'];
  /** The status the client got (the upstream's or the fault's); undefined when it got none. */
  status?: number;
  /** The request's body, for requests the fault server answered itself (errors, respond). */
  body?: Buffer;
}

export type Fault =
  | { kind: 'error'; status: number; code?: string; message?: string; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'stall'; afterBytes: number }
  | { kind: 'drop'; afterBytes: number }
  | { kind: 'amend'; headers: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'corrupt'; at: number; side?: 'request' | 'response'; headers?: Record<string, string> }
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string | Buffer };

export interface FaultRule {
  match?: (r: SeenRequest) => boolean;
  fault: Fault;
  /** How many requests this rule answers; default 1. */
  times?: number;
}

export interface FaultServer {
  endpoint: string;
  port: number;
  /** Every request received, in order. */
  requests: SeenRequest[];
  /** Requests received that match. */
  count(match?: (r: SeenRequest) => boolean): number;
  inject(...rules: FaultRule[]): void;
  /** S3: the multipart uploads created and neither completed nor aborted. */
  openUploads: Set<string>;
  /** Forgets the rules and the requests seen. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startFaultServer(opts: { cloud: Cloud; upstream: string }): Promise<FaultServer> {
  const upstream = new URL(opts.upstream);
  const requests: SeenRequest[] = [];
  let rules: { rule: FaultRule; left: number }[] = [];
  const sockets = new Set<Socket>();
  const openUploads = new Set<string>();
  let origin = '';

  const take = (seen: SeenRequest): Fault | undefined => {
    const hit = rules.find((r) => r.left > 0 && (r.rule.match?.(seen) ?? true));
    if (!hit) return undefined;
    hit.left--;
    return hit.rule.fault;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fault');
    const seen: SeenRequest = { method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), query: url.searchParams, headers: req.headers };
    requests.push(seen);
    const fault = take(seen);
    if (fault) seen.fault = fault.kind;
    if (!fault && opts.cloud === 's3' && seen.method === 'DELETE' && seen.query.has('uploadId')) {
      seen.status = 204;
      openUploads.delete(seen.query.get('uploadId')!);
      req.resume();
      res.writeHead(204).end();
      return;
    }
    if (!fault || fault.kind === 'stall' || fault.kind === 'drop' || fault.kind === 'amend' || fault.kind === 'corrupt') {
      forward(req, res, seen, fault);
      return;
    }
    switch (fault.kind) {
      case 'hang':
        req.resume(); // take the whole request, answer nothing
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'respond':
        seen.status = fault.status;
        keepBody(req, seen);
        res.writeHead(fault.status, fault.headers);
        res.end(fault.body);
        return;
      case 'error':
        seen.status = fault.status;
        keepBody(req, seen);
        sendError(opts.cloud, req, res, fault);
        return;
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  function forward(req: IncomingMessage, res: ServerResponse, seen: SeenRequest, fault: Extract<Fault, { kind: 'stall' | 'drop' | 'amend' | 'corrupt' }> | undefined) {
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        seen.status = up.statusCode;
        const headers = { ...up.headers };
        // Absolute URLs the upstream hands out (GCS resumable sessions) must lead back here.
        if (typeof headers.location === 'string') headers.location = headers.location.replace(upstream.origin, origin);
        if (fault?.kind === 'amend' || fault?.kind === 'corrupt') for (const [k, v] of Object.entries(fault.headers ?? {})) headers[k.toLowerCase()] = v;
        res.writeHead(up.statusCode ?? 502, headers);
        if (!fault || fault.kind === 'amend' || fault.kind === 'corrupt') {
          if (opts.cloud === 's3') keepLedger(seen, up);
          if (fault?.kind === 'corrupt' && fault.side === 'response') up.pipe(flipByte(fault.at)).pipe(res);
          else up.pipe(res);
          return;
        }
        let sent = 0;
        let stopped = false;
        up.on('data', (chunk: Buffer) => {
          if (stopped) return;
          const room = fault.afterBytes - sent;
          if (chunk.length < room) {
            sent += chunk.length;
            res.write(chunk);
            return;
          }
          stopped = true;
          // Flush what the client may have, then stall or cut.
          res.write(chunk.subarray(0, room), () => {
            if (fault.kind === 'drop') res.socket?.destroy();
          });
          up.destroy();
        });
        up.on('end', () => { if (!stopped) res.end(); });
      },
    );
    out.on('error', () => res.socket?.destroy());
    if (fault?.kind === 'corrupt' && fault.side !== 'response') req.pipe(flipByte(fault.at)).pipe(out);
    else req.pipe(out);
  }

  function keepLedger(seen: SeenRequest, up: IncomingMessage) {
    if (seen.method !== 'POST' || up.statusCode !== 200) return;
    const completed = seen.query.get('uploadId');
    if (completed !== null) {
      openUploads.delete(completed);
      return;
    }
    if (!seen.query.has('uploads')) return;
    let text = '';
    up.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    up.on('end', () => {
      const id = /<UploadId>([^<]+)<\/UploadId>/.exec(text)?.[1];
      if (id) openUploads.add(id);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    endpoint: origin,
    port,
    requests,
    openUploads,
    count: (match) => requests.filter((r) => match?.(r) ?? true).length,
    inject: (...more) => {
      rules.push(...more.map((rule) => ({ rule, left: rule.times ?? 1 })));
    },
    reset: () => {
      rules = [];
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A pass-through that inverts the bits of the byte at offset `at`. */
function flipByte(at: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (at >= seen && at < seen + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[at - seen] = chunk[at - seen]! ^ 0xff;
      }
      seen += chunk.length;
      done(null, chunk);
    },
  });
}

function keepBody(req: IncomingMessage, seen: SeenRequest) {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => { seen.body = Buffer.concat(chunks); });
}

function sendError(cloud: Cloud, req: IncomingMessage, res: ServerResponse, fault: Extract<Fault, { kind: 'error' }>) {
  const message = fault.message ?? `injected ${fault.code ?? fault.status}`;
  const head = req.method === 'HEAD';
  let type = 'application/xml';
  let body = '';
  const headers: Record<string, string> = { ...fault.headers };
  switch (cloud) {
    case 's3':
      headers['x-amz-request-id'] = 'FAULT0000000000';
      body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code ?? ''}</Code><Message>${message}</Message><RequestId>FAULT0000000000</RequestId><HostId>fault</HostId></Error>`;
      break;
    case 'azure':
      headers['x-ms-request-id'] = '00000000-0000-0000-0000-000000000000';
      headers['x-ms-version'] = '2025-01-05';
      if (fault.code) headers['x-ms-error-code'] = fault.code;
      body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${fault.code ?? ''}</Code><Message>${message}\nRequestId:00000000-0000-0000-0000-000000000000\nTime:${new Date().toISOString()}</Message></Error>`;
      break;
    case 'gcs':
      type = 'application/json; charset=UTF-8';
      body = JSON.stringify({
        error: { code: fault.status, message, errors: [{ message, domain: 'global', reason: fault.code ?? 'backendError' }] },
      });
      break;
  }
  if (head) body = '';
  res.writeHead(fault.status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
