// Which local user a TCP connection to the listener comes from. The kernel lists every
// socket with its owner's uid in /proc/net/tcp and tcp6; the client's end of a connection
// is the socket whose local port is the connection's remote port, connected to ours.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

const known = new WeakMap<Socket, number | null>();

/** The uid of the process that holds the other end of a loopback connection; null when it cannot be told. */
export function peerUid(socket: Socket): number | null {
  if (known.has(socket)) return known.get(socket)!;
  const uid = lookUp(socket.remotePort, socket.localPort);
  known.set(socket, uid);
  return uid;
}

function lookUp(remotePort: number | undefined, localPort: number | undefined): number | null {
  if (remotePort === undefined || localPort === undefined) return null;
  const [theirs, ours] = [remotePort, localPort].map((p) => `:${p.toString(16).toUpperCase().padStart(4, '0')}`);
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid …
      const f = line.trim().split(/\s+/);
      if (f.length > 7 && f[1]!.endsWith(theirs!) && f[2]!.endsWith(ours!)) return Number(f[7]);
    }
  }
  return null;
}
