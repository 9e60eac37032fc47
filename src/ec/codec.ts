// Reed-Solomon erasure coding for the object tiers: k data shards, m parity
// shards, any k of the k + m rebuild the rest. Parity is byte for byte ISA-L's
// (Cauchy generator of gf_gen_cauchy1_matrix, polynomial 0x11D), so cells
// written by tierfs can be decoded by any ISA-L based tool and back.
//
// Every call works on the caller's buffers in place. The synchronous calls
// suit one stripe; the *Batch calls run a whole batch of stripes on libuv's
// thread pool in one round trip, which pays off because a round trip (13-28 µs)
// costs more than coding a 10+4 x 64 KiB stripe. A batch runs on one pool
// thread; several batches in flight use several cores. Leave a batch's
// buffers alone until its promise settles. Shards of one stripe must not
// overlap; allocateShards() lays them out the way the kernels run fastest.
import { EcError, toEcError } from './errors.js';
import { defaultKernel, type KernelName } from './kernels.js';
import { native, NativeBatchOp, type NativeCodec } from './native.js';

/** A stripe's shards by index: data 0..k-1, then parity k..k+m-1; null where a shard is absent. */
export type Shards = readonly (Uint8Array | null)[];

export interface EncodeStripe {
  data: readonly Uint8Array[];
  /** Overwritten with the parity of data. */
  parity: readonly Uint8Array[];
}

export interface RepairStripe {
  shards: Shards;
  /** Indices whose contents are not to be trusted (besides null entries). */
  lost: readonly number[];
  /** For reconstructBatch: the lost shards to rebuild (default: all of lost). */
  targets?: readonly number[];
}

export interface CodecOptions {
  /** Force a kernel; default defaultKernel() (TIERFS_EC_KERNEL or the fastest). */
  kernel?: KernelName;
}

export class ErasureCodec {
  readonly kernel: KernelName;
  private readonly native: NativeCodec;

  /** Throws EcError EC_RANGE unless k >= 1, m >= 0, k + m <= 255. */
  constructor(
    readonly k: number,
    readonly m: number,
    options: CodecOptions = {},
  ) {
    // checked here too: the addon reads k and m as int32, where 2^32 + 4 would pass as 4
    if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0 || k + m > 255) {
      throw new EcError('EC_RANGE', `k must be >= 1, m >= 0, k + m <= 255; got k=${k}, m=${m}`);
    }
    try {
      this.native = new native.NativeCodec(k, m, options.kernel ?? defaultKernel());
    } catch (err) {
      throw toEcError(err);
    }
    this.kernel = this.native.kernel as KernelName;
  }

  /** Writes the m parity shards of the k data shards (all of one length). */
  encode(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void {
    try {
      this.native.encode(data.length, ...data, ...parity);
    } catch (err) {
      throw toEcError(err);
    }
  }

  /**
   * Rebuilds, in place, every data shard listed in lost, from the first k
   * shards that are neither null nor lost. Lost parity shards are skipped
   * (they may be null); each lost data shard needs a buffer to be written.
   */
  decode(shards: Shards, lost: readonly number[]): void {
    this.reconstruct(shards, lost, this.dataTargets(lost));
  }

  /** Rebuilds, in place, the chosen shards (data or parity; default: all of lost) from the first k readable ones. */
  reconstruct(shards: Shards, lost: readonly number[], targets: readonly number[] = lost): void {
    try {
      this.native.reconstruct(lost, targets, ...shards);
    } catch (err) {
      throw toEcError(err);
    }
  }

  /** True when every parity shard matches the data shards. */
  verify(shards: readonly Uint8Array[]): boolean {
    try {
      return this.native.verify(...shards);
    } catch (err) {
      throw toEcError(err);
    }
  }

  /** encode() for each stripe, on libuv's thread pool. */
  encodeBatch(stripes: readonly EncodeStripe[]): Promise<void> {
    return this.batch(NativeBatchOp.Encode, stripes) as Promise<void>;
  }

  /** decode() for each stripe, on libuv's thread pool. */
  decodeBatch(stripes: readonly RepairStripe[]): Promise<void> {
    const withTargets = stripes.map((s) => ({ shards: s.shards, lost: s.lost, targets: this.dataTargets(s.lost) }));
    return this.batch(NativeBatchOp.Reconstruct, withTargets) as Promise<void>;
  }

  /** reconstruct() for each stripe, on libuv's thread pool. */
  reconstructBatch(stripes: readonly RepairStripe[]): Promise<void> {
    const withTargets = stripes.map((s) => (s.targets ? s : { shards: s.shards, lost: s.lost, targets: s.lost }));
    return this.batch(NativeBatchOp.Reconstruct, withTargets) as Promise<void>;
  }

  /** verify() for each stripe (its k + m shards), on libuv's thread pool. */
  verifyBatch(stripes: readonly (readonly Uint8Array[])[]): Promise<boolean[]> {
    return this.batch(NativeBatchOp.Verify, stripes) as Promise<boolean[]>;
  }

  /** Lost data shards, each once: what decode rebuilds. */
  private dataTargets(lost: readonly number[]): number[] {
    const targets: number[] = [];
    for (const i of lost) if (i < this.k && !targets.includes(i)) targets.push(i);
    return targets;
  }

  private async batch(op: NativeBatchOp, stripes: readonly object[]): Promise<boolean[] | undefined> {
    try {
      return await this.native.batch(op, stripes);
    } catch (err) {
      throw toEcError(err);
    }
  }
}
