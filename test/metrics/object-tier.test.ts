// What an object tier tells the metrics: which backends answer a probe, and how reads
// met the recall cache (hits by layer, misses, hit bytes, and the wait of the reads
// that missed) — exact, without a mount in between.
import { describe, expect, it } from 'vitest';
import { FaultyStore, MemoryStore, TransientError } from '../../src/objectstore/index.js';
import { backendLabels } from '../../src/tiers/object/index.js';
import { body, infoFor, KiB, makeTier, memoryStores, newFileId, sourceOf } from '../tiers/object/helpers.js';

/** A backend whose network is gone. */
class Unreachable extends MemoryStore {
  override async head(): Promise<never> {
    throw new TransientError('connection refused');
  }
}

describe('backend probes', () => {
  it('a backend that answers (NotFound, or Throttled) is up; one that fails or does not answer in time is down', async () => {
    const throttled = new FaultyStore(new MemoryStore(), { seed: 1, throttleRate: 1 });
    const slow = new FaultyStore(new MemoryStore(), { seed: 1, latencyMs: 2000 });
    const tier = makeTier({ k: 1, m: 3, chunkSize: 64 * KiB, smallFileThreshold: KiB }, [new MemoryStore(), new Unreachable(), slow, throttled], {
      backendNames: ['ok', 'unreachable', 'slow', 'throttled'],
    });
    const started = Date.now();
    const probes = await tier.probe(200);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(probes.map((p) => [p.backend, p.up])).toEqual([['ok', true], ['unreachable', false], ['slow', false], ['throttled', true]]);
    expect(probes[1]!.error).toMatch(/connection refused/);
    expect(probes[2]!.error).toMatch(/no answer within 200 ms/);
    await tier.close();
  });

  it('names backends by name, else by type, else type-N when a tier has several of a type', () => {
    expect(backendLabels([{ name: 'a', type: 'fs' }, { type: 's3' }, { type: 'fs' }, { type: 'fs' }])).toEqual(['a', 's3', 'fs-2', 'fs-3']);
  });
});

describe('recall cache counters of reads', () => {
  it('counts a first read as misses (timed), a second as memory hits with the bytes it returned', async () => {
    const recalls: number[] = [];
    const tier = makeTier({ k: 2, m: 1, chunkSize: 64 * KiB, smallFileThreshold: KiB }, memoryStores(3), {
      readAheadStripes: 0,
      onRecall: (s) => recalls.push(s),
    });
    const data = body(100 * KiB, 3);
    const layout = await tier.write(sourceOf(data), infoFor('f'), newFileId());
    // 100 KiB in 64 KiB stripes of 2 cells: 4 data cells (32, 32, 18, 18 KiB)
    const read1 = await tier.read(layout, 0, data.length);
    expect(read1.equals(data)).toBe(true);
    let s = await tier.stats();
    expect(s).toMatchObject({ cacheMisses: 4, cacheHitsMemory: 0, cacheHitsDisk: 0, cacheHitBytes: 0 });
    expect(recalls).toHaveLength(1);
    expect(recalls[0]).toBeGreaterThan(0);

    // A read of part of two cells: both in memory now.
    const part = await tier.read(layout, 30 * KiB, 10 * KiB);
    expect(part.equals(data.subarray(30 * KiB, 40 * KiB))).toBe(true);
    s = await tier.stats();
    expect(s).toMatchObject({ cacheMisses: 4, cacheHitsMemory: 2, cacheHitBytes: 10 * KiB });
    expect(recalls).toHaveLength(1); // hits are not recalls
    await tier.close();
  });
});
