// Whether a copy's cells are still there, by listing its keys (no body is read): what
// `tierfs fsck --rebuild` asks before it restores a copy from its manifest. A manifest
// can outlive its cells (a collection interrupted before manifests were deleted first,
// a backend lost): restoring such a copy would give a file that cannot be read and
// leave an intact older copy orphaned.
import { moduleLogger } from '../../log.js';
import { isLostCell, type TierContext } from './cell-io.js';
import { filePrefix } from './keys.js';
import type { IncompleteStripe, ObjectLayout } from './types.js';

const log = moduleLogger('object-tier');

export async function incompleteStripe(ctx: TierContext, layout: ObjectLayout): Promise<IncompleteStripe | null> {
  const prefix = filePrefix(ctx.fsid, layout.fileId);
  // One listing per backend covers every cell of the copy there.
  const listed = await Promise.all(
    ctx.stores.map(async (store, backend) => {
      const keys = new Set<string>();
      try {
        for await (const entry of store.list(prefix)) keys.add(entry.key);
      } catch (err) {
        if (!isLostCell(err)) throw err;
        log.warn({ tier: ctx.name, backend, fileId: layout.fileId, err: (err as Error).message }, 'cannot list a copy on a backend; counting its cells there as missing');
      }
      return keys;
    }),
  );
  for (const stripe of layout.stripes) {
    const present = stripe.cells.filter((ref) => listed[ref.backend]?.has(ref.key)).length;
    if (present < layout.k) return { stripe: stripe.index, present, needed: layout.k };
  }
  return null;
}
