// Misuse is refused with a typed error before any byte is touched.
import { afterEach, describe, expect, it } from 'vitest';

import { EcError, ErasureCodec, availableKernels, defaultKernel, type EcErrorCode } from '../../src/ec/index.js';

function codeOf(fn: () => unknown): EcErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EcError);
    return (err as EcError).code;
  }
  return undefined;
}

const shards = (n: number, len = 16) => Array.from({ length: n }, () => Buffer.alloc(len));

describe('errors', () => {
  it('k and m out of range', () => {
    expect(codeOf(() => new ErasureCodec(0, 2))).toBe('EC_RANGE');
    expect(codeOf(() => new ErasureCodec(4, -1))).toBe('EC_RANGE');
    expect(codeOf(() => new ErasureCodec(200, 56))).toBe('EC_RANGE');
    expect(codeOf(() => new ErasureCodec(2.5, 1))).toBe('EC_RANGE');
    expect(codeOf(() => new ErasureCodec(200, 55))).toBeUndefined();
  });

  it('wrong shard count', () => {
    const codec = new ErasureCodec(4, 2);
    expect(codeOf(() => codec.encode(shards(3), shards(2)))).toBe('EC_SHARD_COUNT');
    expect(codeOf(() => codec.encode(shards(4), shards(3)))).toBe('EC_SHARD_COUNT');
    expect(codeOf(() => codec.verify(shards(5)))).toBe('EC_SHARD_COUNT');
    expect(codeOf(() => codec.reconstruct(shards(7), [0]))).toBe('EC_SHARD_COUNT');
  });

  it('shard sizes differ', () => {
    const codec = new ErasureCodec(4, 2);
    const data = shards(4);
    data[2] = Buffer.alloc(15);
    expect(codeOf(() => codec.encode(data, shards(2)))).toBe('EC_SHARD_SIZE');
    expect(codeOf(() => codec.encode(shards(4), [Buffer.alloc(16), Buffer.alloc(17)]))).toBe('EC_SHARD_SIZE');
  });

  it('not a Uint8Array, or null where a buffer is needed', () => {
    const codec = new ErasureCodec(2, 1);
    const bad = [Buffer.alloc(4), new Uint16Array(2)] as unknown as Buffer[];
    expect(codeOf(() => codec.encode(bad, shards(1, 4)))).toBe('EC_SHARD_TYPE');
    expect(codeOf(() => codec.encode([Buffer.alloc(4), null as unknown as Buffer], shards(1, 4)))).toBe('EC_SHARD_TYPE');
    // a target with no buffer to write into
    expect(codeOf(() => codec.reconstruct([null, Buffer.alloc(4), Buffer.alloc(4)], [0]))).toBe('EC_BAD_INDEX');
  });

  it('too few survivors', () => {
    const codec = new ErasureCodec(4, 2);
    expect(codeOf(() => codec.reconstruct(shards(6), [0, 1, 2]))).toBe('EC_TOO_FEW_SHARDS');
    const withNull: (Buffer | null)[] = shards(6);
    withNull[5] = null;
    expect(codeOf(() => codec.decode(withNull, [0, 1]))).toBe('EC_TOO_FEW_SHARDS');
  });

  it('bad or repeated indices', () => {
    const codec = new ErasureCodec(4, 2);
    expect(codeOf(() => codec.reconstruct(shards(6), [6]))).toBe('EC_BAD_INDEX');
    expect(codeOf(() => codec.reconstruct(shards(6), [-1]))).toBe('EC_BAD_INDEX');
    expect(codeOf(() => codec.reconstruct(shards(6), [1], [1, 1]))).toBe('EC_BAD_INDEX');
    expect(codeOf(() => codec.reconstruct(shards(6), [0.5]))).toBe('EC_BAD_INDEX');
    expect(codeOf(() => codec.reconstruct(shards(6), [Number.NaN]))).toBe('EC_BAD_INDEX');
    expect(codeOf(() => codec.reconstruct(shards(6), [1e12]))).toBe('EC_BAD_INDEX');
  });

  it('the async calls reject with the same typed errors', async () => {
    const codec = new ErasureCodec(4, 2);
    await expect(codec.encodeBatch([{ data: shards(4), parity: shards(1) }])).rejects.toMatchObject({
      code: 'EC_SHARD_COUNT',
    });
    await expect(codec.reconstructBatch([{ shards: shards(6), lost: [0, 1, 2] }])).rejects.toBeInstanceOf(EcError);
    await expect(codec.verifyBatch([[...shards(5), Buffer.alloc(3)]])).rejects.toMatchObject({ code: 'EC_SHARD_SIZE' });
  });
});

describe('TIERFS_EC_KERNEL', () => {
  const saved = process.env.TIERFS_EC_KERNEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.TIERFS_EC_KERNEL;
    else process.env.TIERFS_EC_KERNEL = saved;
  });

  it('forces the kernel of new codecs', () => {
    process.env.TIERFS_EC_KERNEL = 'portable';
    expect(new ErasureCodec(4, 2).kernel).toBe('portable');
    delete process.env.TIERFS_EC_KERNEL;
    expect(new ErasureCodec(4, 2).kernel).toBe(availableKernels()[0]);
  });

  it('refuses unknown names', () => {
    expect(codeOf(() => defaultKernel({ TIERFS_EC_KERNEL: 'avx9000' }))).toBe('EC_KERNEL_UNKNOWN');
    expect(codeOf(() => new ErasureCodec(4, 2, { kernel: 'neon' as never }))).toBe('EC_KERNEL_UNKNOWN');
  });
});
