// deleteMany as the layers of a store make it: in requests of as many keys as the
// backend takes at once (S3: a thousand), or one delete per key, a few in flight, each
// through the layer's own delete (so each is retried, counted and faulted alone).
import { mapLimit } from './limit.js';
import type { CallOptions, ObjectStore } from './types.js';

/** Deletes in flight at once, where each key is a request. */
const IN_FLIGHT = 8;

export async function deleteEach(store: Pick<ObjectStore, 'delete'>, keys: readonly string[], opts?: CallOptions): Promise<void> {
  await mapLimit(keys, IN_FLIGHT, (key) => store.delete(key, opts));
}

/** keys in requests of store.limits.keysPerDelete, each sent by `request`; one at a time per key otherwise. */
export async function deleteInRequests(
  store: Pick<ObjectStore, 'delete' | 'limits'>,
  keys: readonly string[],
  opts: CallOptions | undefined,
  request: (batch: readonly string[]) => Promise<void>,
): Promise<void> {
  const per = store.limits.keysPerDelete;
  if (per <= 1) return deleteEach(store, keys, opts);
  for (let i = 0; i < keys.length; i += per) await request(keys.slice(i, i + per));
}
