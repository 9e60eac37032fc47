// The cost arithmetic, one charge kind at a time, against numbers worked out by hand
// (in the comments) from the presets' list prices.
import { describe, expect, it } from 'vitest';
import {
  billableBytes, DAY_MS, earlyDeletionUsd, egressUsd, integrate, monitoringUsd, objectSizeUsd, requestClass, requestsUsd, retrievalUsd, storageUsd,
} from '../../src/cost/model.js';
import { GB, PRESETS, PRESET_NAMES, resolvePrice, describePrice } from '../../src/cost/prices.js';

const NOVEMBER_MS = 30 * DAY_MS;

describe('cost arithmetic', () => {
  it('storage is pro rata of the month: 100 GB for 15 of 30 days on S3 Standard-IA is 50 GB-months × $0.0125 = $0.625', () => {
    const byteMs = 100 * GB * 15 * DAY_MS;
    expect(storageUsd(byteMs, PRESETS['s3-standard-ia'], NOVEMBER_MS)).toBeCloseTo(0.625, 10);
    // the same bytes over a 31-day month cost less: 100 × 15/31 × 0.0125
    expect(storageUsd(byteMs, PRESETS['s3-standard-ia'], 31 * DAY_MS)).toBeCloseTo((100 * 15 * 0.0125) / 31, 10);
  });

  it('the integral of a stored-bytes gauge holds each value until the next point, through gaps', () => {
    // 10 bytes from day 0 (in force before the period), 30 from day 10, 20 from day 20; period day 5..25
    const pts: [number, number][] = [[10 * DAY_MS, 30], [20 * DAY_MS, 20]];
    expect(integrate(pts, 5 * DAY_MS, 25 * DAY_MS, 10)).toBe((5 * 10 + 10 * 30 + 5 * 20) * DAY_MS);
    // nothing known before the first point: it counts from there
    expect(integrate(pts, 5 * DAY_MS, 25 * DAY_MS)).toBe((10 * 30 + 5 * 20) * DAY_MS);
  });

  it('requests by class: 20,000 PUT/LIST and 1,000,000 GET/HEAD on S3 Standard are 20 × $0.005 + 1000 × $0.0004 = $0.50', () => {
    expect(['put', 'list', 'restore'].map(requestClass)).toEqual(['write', 'write', 'write']);
    expect(['get', 'head'].map(requestClass)).toEqual(['read', 'read']);
    expect(requestClass('delete')).toBe('free');
    expect(requestsUsd({ writes: 20_000, reads: 1_000_000 }, PRESETS['s3-standard'])).toBeCloseTo(0.5, 10);
  });

  it('retrieval and egress per GB read back: 50 GB from Glacier IR is 50 × $0.03 = $1.50; egress at $0.09 set by hand adds $4.50', () => {
    expect(retrievalUsd(50 * GB, PRESETS['s3-glacier-ir'])).toBeCloseTo(1.5, 10);
    expect(egressUsd(50 * GB, PRESETS['s3-glacier-ir'])).toBe(0);
    expect(egressUsd(50 * GB, resolvePrice({ class: 's3-glacier-ir', egressPerGB: 0.09 }))).toBeCloseTo(4.5, 10);
  });

  it('early deletion charges the days left of the minimum: 10 GB deleted after 30 of Glacier IR’s 90 days is 10 × $0.004 × 60/30 = $0.08', () => {
    expect(earlyDeletionUsd(10 * GB, 30 * DAY_MS, PRESETS['s3-glacier-ir'])).toBeCloseTo(0.08, 10);
    expect(earlyDeletionUsd(10 * GB, 90 * DAY_MS, PRESETS['s3-glacier-ir'])).toBe(0);
    expect(earlyDeletionUsd(10 * GB, 1 * DAY_MS, PRESETS['s3-standard'])).toBe(0); // no minimum
    // Deep Archive, 1 GB after 12 hours: 1 × 0.00099 × 179.5/30
    expect(earlyDeletionUsd(GB, DAY_MS / 2, PRESETS['s3-deep-archive'])).toBeCloseTo((0.00099 * 179.5) / 30, 12);
  });

  it('minimum object size and per-object overhead: 1,000 objects of 16 KiB on Standard-IA are billed as 128 KiB each', () => {
    const ia = PRESETS['s3-standard-ia'];
    expect(billableBytes(16 * 1024, ia)).toBe(128 * 1024);
    expect(billableBytes(1 * GB, ia)).toBe(GB);
    // padding 1000 × 112 KiB = 109.375 MiB, for a whole month at $0.0125: 0.10681152... GB × 0.0125
    const padding = 1000 * 112 * 1024;
    expect(objectSizeUsd({ count: 1000, paddingBytes: padding }, ia, 1)).toBeCloseTo((padding / GB) * 0.0125, 12);
    // Glacier Flexible: 40 KiB more per object; 1,000,000 objects for half a month: 38.147 GB × $0.0036 / 2
    const flex = PRESETS['s3-glacier-flexible'];
    expect(billableBytes(1000, flex)).toBe(1000 + 40 * 1024);
    expect(objectSizeUsd({ count: 1_000_000, paddingBytes: 0 }, flex, 0.5)).toBeCloseTo(((1_000_000 * 40 * 1024) / GB) * 0.0036 * 0.5, 10);
  });

  it('monitoring fee per 1,000 objects: 2,000,000 objects under Intelligent-Tiering for a month are 2000 × $0.0025 = $5', () => {
    expect(monitoringUsd(2_000_000, PRESETS['s3-intelligent-tiering'], 1)).toBeCloseTo(5, 10);
    expect(monitoringUsd(2_000_000, PRESETS['s3-standard'], 1)).toBe(0);
  });

  it('presets carry the date and region of their list prices; overrides replace one key and are marked', () => {
    for (const name of PRESET_NAMES) {
      if (name === 'local') continue;
      expect(PRESETS[name].asOf).toMatch(/^\d{4}-\d{2}$/);
      expect(PRESETS[name].storagePerGBMonth).toBeGreaterThan(0);
    }
    const p = resolvePrice({ class: 's3-standard-ia', storagePerGBMonth: 0.01 });
    expect(p.storagePerGBMonth).toBe(0.01);
    expect(p.retrievalPerGB).toBe(0.01);
    expect(p.overridden).toEqual(['storagePerGBMonth']);
    expect(describePrice(p)).toContain('$0.01/GB-month*');
    expect(describePrice(p)).toContain('list prices of 2024-06');
  });
});
