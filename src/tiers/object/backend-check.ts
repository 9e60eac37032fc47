// Before a new connection to a backend (endpoint, credentials, bucket) replaces the one a
// mount runs with, or a new object tier is opened live, it must work and, for a running
// tier, reach the same store: a small object is written, read back and removed, and when
// the tier holds files, objects of theirs that this backend holds must be found through
// it — a cell of each, whose key names its place in the stripe, and so its backend: a
// manifest alone has the same key on every backend, and would let two backends' roots
// be swapped. Credentials that can read but not write, an endpoint that reaches an empty
// bucket, another backend's store, or a copy of the store taken before the latest moves,
// are refused here rather than found by readers later.
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../objectstore/types.js';
import type { ObjectLayout } from './types.js';

/** What the check puts and removes, under the tier's own prefix. */
export function checkKey(fsid: string): string {
  return `${fsid}/config-check-${randomBytes(6).toString('hex')}`;
}

/** The keys of a copy's objects that backend `index` holds and no other backend has under that key: one cell (else its manifest). */
export function objectsOnBackend(layout: ObjectLayout, index: number): string[] {
  for (const stripe of layout.stripes) {
    const cell = stripe.cells.find((c) => c.backend === index);
    if (cell) return [cell.key];
  }
  return layout.manifest.filter((m) => m.backend === index).map((m) => m.key);
}

/**
 * Why `store` cannot serve this tier, or null when it can. `heldKeys`: objects the tier
 * holds on this backend (objectsOnBackend), each to be found through the new connection.
 */
export async function checkBackend(store: ObjectStore, fsid: string, heldKeys: readonly string[], timeoutMs: number): Promise<string | null> {
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
    for (const held of heldKeys) {
      step = `find ${held}, which the tier holds on this backend (${heldKeys.length} objects of its files checked)`;
      await store.head(held, { signal });
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
