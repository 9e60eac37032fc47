// Before a new connection to a backend (endpoint, credentials, bucket) replaces the one a
// mount runs with, or a new object tier is opened live, it must work and, for a running
// tier, reach the same store: a small object is written, read back and removed, and when
// the tier holds files, one of their manifests must be found through it. Credentials that
// can read but not write, or an endpoint that reaches an empty bucket, are refused here
// rather than found by the mover hours later.
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../objectstore/types.js';

/** What the check puts and removes, under the tier's own prefix. */
export function checkKey(fsid: string): string {
  return `${fsid}/config-check-${randomBytes(6).toString('hex')}`;
}

/**
 * Why `store` cannot serve this tier, or null when it can. `heldKey`: an object the tier
 * holds (a file's manifest), to be found through the new connection.
 */
export async function checkBackend(store: ObjectStore, fsid: string, heldKey: string | undefined, timeoutMs: number): Promise<string | null> {
  const signal = AbortSignal.timeout(timeoutMs);
  const key = checkKey(fsid);
  const body = randomBytes(1024);
  let step = 'write a test object';
  let leftBehind = false;
  try {
    await store.put(key, body, { signal });
    leftBehind = true;
    step = 'read the test object back';
    const got = await store.get(key, { signal });
    if (!got.data.equals(body)) return `the test object read back differs from what was written (${got.data.length} bytes)`;
    step = 'remove the test object';
    await store.delete(key, { signal });
    leftBehind = false;
    if (heldKey !== undefined) {
      step = `find ${heldKey}, which the tier holds`;
      await store.head(heldKey, { signal });
    }
    return null;
  } catch (err) {
    const e = err as Error & { code?: string };
    const why = signal.aborted ? `no answer within ${timeoutMs} ms` : `${e.code ? `${e.code}: ` : ''}${e.message}`;
    return `cannot ${step}: ${why}`;
  } finally {
    // Never leave the test object behind, whatever failed after the write.
    if (leftBehind) await store.delete(key).catch(() => undefined);
  }
}
