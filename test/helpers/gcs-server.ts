// A small Google Cloud Storage JSON-API server for tests, so the real
// @google-cloud/storage client runs against something on 127.0.0.1 (no GCS emulator
// can be installed here). It follows Google's documented API for what tierfs uses:
//   objects insert: uploadType=media, multipart, resumable (session POST, then PUTs
//     with Content-Range, 308 + Range for incomplete sessions, "bytes */N" queries;
//     only whole 256 KiB units of a non-final chunk are kept, as Google does)
//   objects get: metadata, or alt=media with Range (206, 416), pinned by ?generation
//   objects patch (metadata), delete, list with prefix and maxResults/pageToken paging
//   preconditions ifGenerationMatch / ifGenerationNotMatch / ifMetagenerationMatch /
//     ifMetagenerationNotMatch on get, patch and delete (412 conditionNotMet)
//   errors as Google formats them: {"error": {"code", "message", "errors": [{reason}]}}
// It keeps objects in memory and computes md5Hash and crc32c like GCS does.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface StoredObject {
  name: string;
  data: Buffer;
  generation: string;
  metageneration: number;
  contentType: string;
  storageClass: string;
  metadata: Record<string, string>;
  md5: string;
  crc32c: string;
  created: Date;
  updated: Date;
}

interface UploadSession {
  bucket: string;
  name: string;
  resource: Record<string, unknown>;
  contentType?: string;
  chunks: Buffer[];
  received: number;
}

export interface GcsServer {
  endpoint: string;
  port: number;
  /** Requests seen, by "METHOD kind" (e.g. "PUT resumable-chunk"); tests check which protocol ran. */
  requests: Map<string, number>;
  /**
   * Runs `work` once, before the next request of that "METHOD kind" is handled (e.g.
   * "PATCH metadata"): a concurrent writer that slips in between two requests of a call.
   */
  beforeNext(what: string, work: () => Promise<void>): void;
  stop(): Promise<void>;
}

const RESUMABLE_UNIT = 256 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

export async function startGcsServer(opts: { buckets: string[]; port?: number }): Promise<GcsServer> {
  const buckets = new Map<string, Map<string, StoredObject>>(opts.buckets.map((b) => [b, new Map()]));
  const sessions = new Map<string, UploadSession>();
  const requests = new Map<string, number>();
  let lastGeneration = 0;
  let origin = '';

  const hooks = new Map<string, () => Promise<void>>();
  const count = async (what: string) => {
    requests.set(what, (requests.get(what) ?? 0) + 1);
    const hook = hooks.get(what);
    hooks.delete(what);
    await hook?.();
  };
  const bucketOf = (name: string) => {
    const b = buckets.get(name);
    if (!b) throw new HttpError(404, 'notFound', 'The specified bucket does not exist.');
    return b;
  };
  const objectOf = (bucket: string, name: string, generation?: string | null) => {
    const obj = bucketOf(bucket).get(name);
    if (!obj || (generation && generation !== obj.generation)) {
      throw new HttpError(404, 'notFound', `No such object: ${bucket}/${name}`);
    }
    return obj;
  };
  /** The JSON API's preconditions: a mismatch answers 412 and changes nothing. */
  const checkPreconditions = (o: StoredObject, q: URLSearchParams) => {
    const fails: [string, (v: string) => boolean][] = [
      ['ifGenerationMatch', (v) => v !== o.generation],
      ['ifGenerationNotMatch', (v) => v === o.generation],
      ['ifMetagenerationMatch', (v) => v !== String(o.metageneration)],
      ['ifMetagenerationNotMatch', (v) => v === String(o.metageneration)],
    ];
    for (const [name, failed] of fails) {
      const v = q.get(name);
      if (v !== null && failed(v)) throw new HttpError(412, 'conditionNotMet', `At least one of the pre-conditions you specified did not hold. (${name}=${v})`);
    }
    return o;
  };

  function resource(bucket: string, o: StoredObject) {
    const path = `b/${bucket}/o/${encodeURIComponent(o.name)}`;
    return {
      kind: 'storage#object',
      id: `${bucket}/${o.name}/${o.generation}`,
      selfLink: `${origin}/storage/v1/${path}`,
      mediaLink: `${origin}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket,
      generation: o.generation,
      metageneration: String(o.metageneration),
      contentType: o.contentType,
      storageClass: o.storageClass,
      size: String(o.data.length),
      md5Hash: o.md5,
      crc32c: o.crc32c,
      etag: Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64'),
      timeCreated: o.created.toISOString(),
      updated: o.updated.toISOString(),
      ...(Object.keys(o.metadata).length > 0 ? { metadata: o.metadata } : {}),
    };
  }

  function store(bucket: string, name: string, data: Buffer, meta: Record<string, unknown>, contentType: string | undefined, q: URLSearchParams) {
    const objects = bucketOf(bucket);
    if (!name) throw new HttpError(400, 'required', 'Required parameter: name');
    const existing = objects.get(name);
    const match = q.get('ifGenerationMatch');
    if (match !== null && (match === '0' ? existing !== undefined : existing?.generation !== match)) {
      throw new HttpError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
    }
    // Generations are microsecond timestamps at Google; they only need to grow here.
    lastGeneration = Math.max(lastGeneration + 1, Date.now() * 1000);
    const now = new Date();
    const obj: StoredObject = {
      name,
      data,
      generation: String(lastGeneration),
      metageneration: 1,
      contentType: String(meta.contentType ?? contentType ?? 'application/octet-stream'),
      storageClass: String(meta.storageClass ?? 'STANDARD'),
      metadata: stringValues(meta.metadata),
      md5: createHash('md5').update(data).digest('base64'),
      crc32c: crc32cBase64(data),
      created: now,
      updated: now,
    };
    objects.set(name, obj);
    return resource(bucket, obj);
  }

  function sendJson(res: ServerResponse, status: number, body: unknown) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function sendMedia(req: IncomingMessage, res: ServerResponse, o: StoredObject) {
    const size = o.data.length;
    const headers: Record<string, string | number> = {
      'Content-Type': o.contentType,
      'Accept-Ranges': 'bytes',
      ETag: `"${o.md5}"`,
      'Last-Modified': o.updated.toUTCString(),
      'x-goog-generation': o.generation,
      'x-goog-metageneration': String(o.metageneration),
      'x-goog-stored-content-length': String(size),
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-storage-class': o.storageClass,
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5}`,
    };
    const range = req.headers.range;
    if (!range) {
      res.writeHead(200, { ...headers, 'Content-Length': size });
      res.end(o.data);
      return;
    }
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!m || (m[1] === '' && m[2] === '')) throw new HttpError(400, 'invalid', `Invalid range: ${range}`);
    let start: number;
    let end: number;
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || end < start) {
      res.writeHead(416, { 'Content-Type': 'application/xml; charset=UTF-8', 'Content-Range': `bytes */${size}` });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRange</Code><Message>The requested range cannot be satisfied.</Message></Error>');
      return;
    }
    res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
    res.end(o.data.subarray(start, end + 1));
  }

  function list(bucket: string, q: URLSearchParams) {
    if (q.get('delimiter')) throw new HttpError(400, 'invalid', 'this test server implements listings without a delimiter only');
    const prefix = q.get('prefix') ?? '';
    const max = Math.min(Number(q.get('maxResults') ?? 1000) || 1000, 1000);
    const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString() : undefined;
    const names = [...bucketOf(bucket).keys()]
      .filter((n) => n.startsWith(prefix) && (after === undefined || byteCompare(n, after) > 0))
      .sort(byteCompare);
    const page = names.slice(0, max);
    return {
      kind: 'storage#objects',
      ...(page.length > 0 ? { items: page.map((n) => resource(bucket, bucketOf(bucket).get(n)!)) } : {}),
      ...(names.length > max ? { nextPageToken: Buffer.from(page[page.length - 1]!).toString('base64url') } : {}),
    };
  }

  async function resumableChunk(req: IncomingMessage, res: ServerResponse, id: string, q: URLSearchParams) {
    const session = sessions.get(id);
    if (!session) throw new HttpError(404, 'notFound', 'No such upload session');
    const body = await readBody(req);
    const header = req.headers['content-range'];
    let start = session.received;
    let total: number | undefined;
    let final = header === undefined;
    if (header !== undefined) {
      const query = /^bytes \*\/(\d+|\*)$/.exec(header);
      // The client announces an empty final chunk of an empty stream as "bytes 0--1/0".
      const chunk = /^bytes (\d+)-(-1|\d+|\*)\/(\d+|\*)$/.exec(header);
      if (query) {
        total = query[1] === '*' ? undefined : Number(query[1]);
      } else if (chunk) {
        start = Number(chunk[1]);
        if (chunk[2] !== '*' && Number(chunk[2]) - start + 1 !== body.length) {
          throw new HttpError(400, 'invalid', `Content-Range ${header} does not match a body of ${body.length} bytes`);
        }
        total = chunk[3] === '*' ? undefined : Number(chunk[3]);
        // "bytes N-*/*" is the client's "the rest, in this request".
        final = chunk[2] === '*' && chunk[3] === '*';
      } else {
        throw new HttpError(400, 'invalid', `Invalid Content-Range: ${header}`);
      }
      if (start > session.received) throw new HttpError(400, 'invalid', `chunk starts at ${start}, expected ${session.received}`);
    }
    await count(isStatusQuery(header) ? 'PUT resumable-query' : 'PUT resumable-chunk');
    const fresh = body.subarray(session.received - start); // bytes already kept are sent again after a lost reply
    session.chunks.push(fresh);
    session.received += fresh.length;
    if (total !== undefined && session.received > total) throw new HttpError(400, 'invalid', 'more bytes than the declared total');
    if (final || (total !== undefined && session.received === total)) {
      sessions.delete(id);
      const data = Buffer.concat(session.chunks);
      sendJson(res, 200, store(session.bucket, session.name, data, session.resource, session.contentType, q));
      return;
    }
    // Google keeps only whole 256 KiB units of an unfinished upload; the client resends the rest.
    const kept = Math.floor(session.received / RESUMABLE_UNIT) * RESUMABLE_UNIT;
    if (kept < session.received) {
      const all = Buffer.concat(session.chunks).subarray(0, kept);
      session.chunks = [all];
      session.received = kept;
    }
    res.writeHead(308, {
      ...(session.received > 0 ? { Range: `bytes=0-${session.received - 1}` } : {}),
      'Content-Length': 0,
    });
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', origin);
    const q = url.searchParams;
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;

    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path))) {
      const bucket = decodeURIComponent(m[1]!);
      bucketOf(bucket);
      const uploadId = q.get('upload_id');
      if (uploadId && (method === 'PUT' || method === 'POST')) return resumableChunk(req, res, uploadId, q);
      if (method === 'DELETE' && uploadId) {
        sessions.delete(uploadId);
        res.writeHead(499).end();
        return;
      }
      if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', `${method} not allowed`);
      const type = q.get('uploadType');
      await count(`POST ${type}`);
      const body = await readBody(req);
      if (type === 'media') {
        return sendJson(res, 200, store(bucket, q.get('name') ?? '', body, {}, req.headers['content-type'], q));
      }
      if (type === 'multipart') {
        const { meta, data, contentType } = parseMultipart(req.headers['content-type'] ?? '', body);
        return sendJson(res, 200, store(bucket, String(meta.name ?? q.get('name') ?? ''), data, meta, contentType, q));
      }
      if (type === 'resumable') {
        const meta = body.length > 0 ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
        const name = String(meta.name ?? q.get('name') ?? '');
        if (!name) throw new HttpError(400, 'required', 'Required parameter: name');
        const id = randomUUID().replace(/-/g, '');
        const contentType = req.headers['x-upload-content-type'];
        sessions.set(id, {
          bucket, name, resource: meta, chunks: [], received: 0,
          ...(typeof contentType === 'string' ? { contentType } : {}),
        });
        const location = `${origin}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        res.writeHead(200, { Location: location, 'Content-Length': 0 });
        res.end();
        return;
      }
      throw new HttpError(400, 'invalid', `Invalid upload type: ${type}`);
    }

    if ((m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const bucket = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      if (method === 'GET' && (q.get('alt') === 'media' || path.startsWith('/download/'))) {
        await count('GET media');
        return sendMedia(req, res, checkPreconditions(objectOf(bucket, name, q.get('generation')), q));
      }
      if (method === 'GET') {
        await count('GET metadata');
        return sendJson(res, 200, resource(bucket, checkPreconditions(objectOf(bucket, name, q.get('generation')), q)));
      }
      if (method === 'PATCH' || method === 'PUT') {
        await count(`${method} metadata`);
        const o = checkPreconditions(objectOf(bucket, name, q.get('generation')), q);
        const patch = JSON.parse((await readBody(req)).toString() || '{}') as Record<string, unknown>;
        if (patch.metadata !== undefined) {
          const next = method === 'PUT' ? {} : { ...o.metadata };
          for (const [k, v] of Object.entries((patch.metadata ?? {}) as Record<string, unknown>)) {
            if (v === null) delete next[k];
            else next[k] = String(v);
          }
          o.metadata = next;
        }
        if (typeof patch.contentType === 'string') o.contentType = patch.contentType;
        o.metageneration++;
        o.updated = new Date();
        return sendJson(res, 200, resource(bucket, o));
      }
      if (method === 'DELETE') {
        await count('DELETE object');
        checkPreconditions(objectOf(bucket, name, q.get('generation')), q);
        bucketOf(bucket).delete(name);
        res.writeHead(204).end();
        return;
      }
    }

    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && method === 'GET') {
      await count('GET list');
      return sendJson(res, 200, list(decodeURIComponent(m[1]!), q));
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)$/.exec(path)) && method === 'GET') {
      const name = decodeURIComponent(m[1]!);
      bucketOf(name);
      return sendJson(res, 200, { kind: 'storage#bucket', id: name, name, storageClass: 'STANDARD', location: 'US' });
    }
    if (path === '/storage/v1/b' && method === 'POST') {
      const meta = JSON.parse((await readBody(req)).toString() || '{}') as { name?: string };
      if (!meta.name) throw new HttpError(400, 'required', 'Required parameter: name');
      if (buckets.has(meta.name)) throw new HttpError(409, 'conflict', 'Your previous request to create the named bucket succeeded and you already own it.');
      buckets.set(meta.name, new Map());
      return sendJson(res, 200, { kind: 'storage#bucket', id: meta.name, name: meta.name });
    }
    throw new HttpError(404, 'notFound', `Not Found: ${method} ${path}`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'backendError', String((err as Error)?.message ?? err));
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, e.status, { error: { code: e.status, message: e.message, errors: [{ message: e.message, domain: 'global', reason: e.reason }] } });
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    endpoint: origin,
    port,
    requests,
    beforeNext: (what, work) => { hooks.set(what, work); },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function isStatusQuery(header: string | undefined): boolean {
  return header !== undefined && header.startsWith('bytes */');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseMultipart(contentType: string, body: Buffer): { meta: Record<string, unknown>; data: Buffer; contentType?: string } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new HttpError(400, 'invalid', 'multipart upload without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    parts.push(body.subarray(at + delimiter.length, next));
    at = next;
  }
  if (parts.length !== 2) throw new HttpError(400, 'invalid', `multipart upload with ${parts.length} parts, expected 2`);
  const split = (part: Buffer) => {
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString();
    let content = part.subarray(headerEnd + 4);
    if (content.subarray(-2).toString() === '\r\n') content = content.subarray(0, -2);
    return { headers, content };
  };
  const metaPart = split(parts[0]!);
  const mediaPart = split(parts[1]!);
  const mediaType = /content-type:\s*([^\r\n]+)/i.exec(mediaPart.headers)?.[1];
  return {
    meta: JSON.parse(metaPart.content.toString() || '{}') as Record<string, unknown>,
    data: mediaPart.content,
    ...(mediaType ? { contentType: mediaType } : {}),
  };
}

function stringValues(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// CRC-32C (Castagnoli), slice-by-8, as GCS reports it: the big-endian value in base64.
const CRC32C_TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    tables[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) tables[t]![n] = (tables[t - 1]![n]! >>> 8) ^ tables[0]![tables[t - 1]![n]! & 0xff]!;
  }
  return tables;
})();

export function crc32c(data: Buffer): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = 0xffffffff;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  for (; i < end8; i += 8) {
    const lo = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    crc =
      t7[lo & 0xff]! ^ t6[(lo >>> 8) & 0xff]! ^ t5[(lo >>> 16) & 0xff]! ^ t4[lo >>> 24]! ^
      t3[data[i + 4]!]! ^ t2[data[i + 5]!]! ^ t1[data[i + 6]!]! ^ t0[data[i + 7]!]!;
  }
  for (; i < data.length; i++) crc = t0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function crc32cBase64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32c(data));
  return out.toString('base64');
}
