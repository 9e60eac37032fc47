// Which local user a TCP connection to the listener comes from, and who listens on a
// port. The kernel lists every socket with its owner's uid in /proc/net/tcp and tcp6; the
// client's end of a connection is the socket whose local port is the connection's remote
// port, connected to ours.
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

/** The uids of the sockets listening on a TCP port (any address); null when the kernel's lists cannot be read. */
export function listenerUids(port: number): number[] | null {
  const at = portSuffix(port);
  const rows = socketRows();
  return rows && [...new Set(rows.filter((f) => f[3] === LISTEN && f[1]!.endsWith(at)).map((f) => Number(f[7])))];
}

const LISTEN = '0A';
const ESTABLISHED = '01';
const portSuffix = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;

function lookUp(remotePort: number | undefined, localPort: number | undefined): number | null {
  if (remotePort === undefined || localPort === undefined) return null;
  const [theirs, ours] = [portSuffix(remotePort), portSuffix(localPort)];
  // (Connected sockets only: one in TIME_WAIT on the same ports, a closed connection's, is the kernel's, uid 0.)
  const row = (socketRows() ?? []).find((f) => f[3] === ESTABLISHED && f[1]!.endsWith(theirs) && f[2]!.endsWith(ours));
  return row ? Number(row[7]) : null;
}

/** Every socket's fields (sl local_address rem_address st tx:rx tr:when retrnsmt uid …); null if neither list can be read. */
function socketRows(): string[][] | null {
  let rows: string[][] | null = null;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    rows = [...(rows ?? []), ...text.split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((f) => f.length > 7)];
  }
  return rows;
}
