// Typed errors carried from where they happen to the edge, where they become
// an errno (fuse/session.ts) or an exit status and a message (cli/).
import { constants } from 'node:os';

export type ErrnoCode = keyof typeof constants.errno;

/** A filesystem error with a POSIX errno code, e.g. new FsError('ENOENT', 'no such file: a/b'). */
export class FsError extends Error {
  constructor(
    readonly code: ErrnoCode,
    message?: string,
  ) {
    super(message ?? code);
    this.name = 'FsError';
  }
}

/** The errno number for an error thrown anywhere below the FUSE adapter; EIO when it has none. */
export function errnoOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in constants.errno) {
    return constants.errno[code as ErrnoCode];
  }
  if (typeof code === 'number' && code > 0) return code;
  return constants.errno.EIO;
}
