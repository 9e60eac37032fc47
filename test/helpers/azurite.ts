// Azurite's blob service for tests, in a child process on a free port of 127.0.0.1,
// with its files in a temporary directory. `--skipApiVersionCheck` is needed because
// the SDK speaks a newer API version than Azurite 3.35 announces (see MACHINE.md).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopChild } from './s3-server.js';

export interface Azurite {
  port: number;
  /** Azurite's well-known development account, on our port. */
  connectionString: string;
  stop(): Promise<void>;
}

const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function startAzurite(): Promise<Azurite> {
  const location = await mkdtemp(join(tmpdir(), 'tierfs-azurite-'));
  const port = await freePort();
  const bin = resolve('node_modules/.bin/azurite-blob');
  const child = spawn(
    bin,
    ['--skipApiVersionCheck', '--disableTelemetry', '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--silent'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const stop = async () => {
    await stopChild(child);
    await rm(location, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, () => (child.exitCode !== null ? `azurite exited (${child.exitCode}): ${stderr}` : undefined));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT};`,
    stop,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, failed: () => string | undefined, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const why = failed();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`azurite did not listen on ${port} within ${timeoutMs} ms`);
}
