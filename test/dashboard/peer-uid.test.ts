// Who is at the other end of a loopback connection, and who listens on a port: read from
// the kernel's socket lists. The dashboard binds a session to the first; the listener
// refuses to step aside from a port another user holds by the second.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';

import { listenerUids, peerUid } from '../../src/dashboard/peer-uid.js';

/** A node child run as `uid` (root runs the tests) that prints a line once its script is set up. */
async function childAs(uid: number, script: string) {
  const child = spawn(process.execPath, ['-e', script], { uid, gid: uid, stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

describe('peer-uid', () => {
  it('tells the uid of the process that connected', async () => {
    const server = createServer();
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const child = await childAs(65534, `require('node:net').connect(${port}, '127.0.0.1', () => console.log('in')); setInterval(() => {}, 1000)`);
    try {
      const [socket] = await accepted;
      expect(peerUid(socket)).toBe(65534);
      // and a connection of our own, made after it, is ours
      const mine = once(server, 'connection') as Promise<[Socket]>;
      const client = (await import('node:net')).connect(port, '127.0.0.1');
      const [own] = await mine;
      expect(peerUid(own)).toBe(process.getuid!());
      client.destroy();
    } finally {
      child.kill();
      server.close();
    }
  });

  it('tells who listens on a port, and that nobody does on a free one', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    expect(listenerUids(port)).toEqual([process.getuid!()]);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    expect(listenerUids(port)).toEqual([]);
    const child = await childAs(65534, `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`);
    try {
      expect(listenerUids(port)).toEqual([65534]);
    } finally {
      child.kill();
    }
  });
});
