// The configured tiers, fastest first, each either local (plain files on volumes) or
// object (stripes on object stores). Callers look tiers up by name and ask what kind.
import { FsError } from '../errors.js';
import type { LocalTier } from './local/local-tier.js';
import type { ObjectTierStore } from './object/types.js';

export type AnyTier =
  | { kind: 'local'; name: string; local: LocalTier }
  /** capacity: the configured bytes the tier may hold, and its high watermark (unset: no limit) */
  | { kind: 'object'; name: string; object: ObjectTierStore; capacity?: { bytes: number; high: number } };

export class TierSet {
  private readonly byName: Map<string, AnyTier>;

  constructor(readonly ordered: AnyTier[]) {
    this.byName = new Map(ordered.map((t) => [t.name, t]));
  }

  /** A tier after the slowest one (tierfs config apply adds tiers while mounted). */
  add(tier: AnyTier): void {
    if (this.byName.has(tier.name)) throw new RangeError(`tier ${tier.name} exists`);
    this.ordered.push(tier);
    this.byName.set(tier.name, tier);
  }

  get locals(): LocalTier[] {
    return this.ordered.flatMap((t) => (t.kind === 'local' ? [t.local] : []));
  }

  get objects(): ObjectTierStore[] {
    return this.ordered.flatMap((t) => (t.kind === 'object' ? [t.object] : []));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): AnyTier {
    const t = this.byName.get(name);
    if (!t) throw new FsError('EINVAL', `no tier named "${name}" (tiers: ${[...this.byName.keys()].join(', ')})`);
    return t;
  }

  local(name: string): LocalTier {
    const t = this.get(name);
    if (t.kind !== 'local') throw new FsError('EINVAL', `tier "${name}" is not a local tier`);
    return t.local;
  }

  object(name: string): ObjectTierStore {
    const t = this.get(name);
    if (t.kind !== 'object') throw new FsError('EINVAL', `tier "${name}" is not an object tier`);
    return t.object;
  }

  isLocal(name: string): boolean {
    return this.byName.get(name)?.kind === 'local';
  }
}
