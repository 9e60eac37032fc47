// The cost arithmetic: pure functions from recorded quantities and a price class to US
// dollars, one per charge kind, so each can be checked by hand. Conventions (those of
// the providers' bills): a GB is 2^30 bytes; storage is charged pro rata for the time
// held, a month being the calendar month the time falls in; an early deletion is
// charged for the days left of the minimum at the monthly price ÷ 30 per day.
import { GB, type PriceClass } from './prices.js';

export const DAY_MS = 86_400_000;
/** days in a month for early-deletion charges (the providers' "pro rata per day") */
export const BILLING_DAYS_PER_MONTH = 30;

export type RequestClass = 'write' | 'read' | 'free';

/** How a provider bills each object-store operation tierfs makes. */
export function requestClass(op: string): RequestClass {
  if (op === 'put' || op === 'list' || op === 'restore') return 'write';
  if (op === 'get' || op === 'head') return 'read';
  return 'free'; // delete
}

/** Storage: bytes held over time (byte·ms), in a month of `monthMs`. */
export function storageUsd(byteMs: number, price: Pick<PriceClass, 'storagePerGBMonth'>, monthMs: number): number {
  return (byteMs / GB / monthMs) * price.storagePerGBMonth;
}

/** Requests, by class. */
export function requestsUsd(counts: { writes: number; reads: number }, price: Pick<PriceClass, 'writesPer1000' | 'readsPer1000'>): number {
  return (counts.writes / 1000) * price.writesPer1000 + (counts.reads / 1000) * price.readsPer1000;
}

/** Retrieval fee for bytes read back. */
export function retrievalUsd(bytesRead: number, price: Pick<PriceClass, 'retrievalPerGB'>): number {
  return (bytesRead / GB) * price.retrievalPerGB;
}

/** Transfer out of the provider for bytes read back. */
export function egressUsd(bytesRead: number, price: Pick<PriceClass, 'egressPerGB'>): number {
  return (bytesRead / GB) * price.egressPerGB;
}

/** An object removed after `heldMs`: the storage of the days left of the class's minimum. */
export function earlyDeletionUsd(storedBytes: number, heldMs: number, price: Pick<PriceClass, 'minStorageDays' | 'storagePerGBMonth'>): number {
  const daysLeft = price.minStorageDays - heldMs / DAY_MS;
  if (daysLeft <= 0) return 0;
  return (storedBytes / GB) * price.storagePerGBMonth * (daysLeft / BILLING_DAYS_PER_MONTH);
}

/** Bytes billed for one object of `bytes`: at least the minimum, plus the per-object overhead. */
export function billableBytes(bytes: number, price: Pick<PriceClass, 'minBillableBytes' | 'objectOverheadBytes'>): number {
  return Math.max(bytes, price.minBillableBytes) + price.objectOverheadBytes;
}

/**
 * What objects cost beyond their bytes over `monthFraction` of a month: the padding up to
 * the minimum billable size (`paddingBytes`, summed over the objects below it) and each
 * object's overhead.
 */
export function objectSizeUsd(
  objects: { count: number; paddingBytes: number },
  price: Pick<PriceClass, 'objectOverheadBytes' | 'storagePerGBMonth'>,
  monthFraction: number,
): number {
  const extra = objects.paddingBytes + objects.count * price.objectOverheadBytes;
  return (extra / GB) * price.storagePerGBMonth * monthFraction;
}

/** A per-object monthly fee (monitoring), over `monthFraction` of a month. */
export function monitoringUsd(objects: number, price: Pick<PriceClass, 'monitoringPer1000Objects'>, monthFraction: number): number {
  return (objects / 1000) * price.monitoringPer1000Objects * monthFraction;
}

/**
 * The integral of a gauge over [fromMs, toMs), in value·ms: each point's value holds until
 * the next point (a gap while the daemon was down keeps the last value: the bytes were
 * still there). `before` is the value in force at fromMs, if a point came earlier.
 */
export function integrate(points: readonly [number, number][], fromMs: number, toMs: number, before?: number): number {
  let total = 0;
  let t = fromMs;
  let v = before;
  for (const [pt, pv] of points) {
    if (pt >= toMs) break;
    if (pt > t) {
      if (v !== undefined) total += v * (pt - t);
      t = pt;
    }
    v = pv;
  }
  if (v !== undefined && toMs > t) total += v * (toMs - t);
  return total;
}

/** The charges of one tier or backend, by kind. Every amount in US dollars. */
export interface Charges {
  storageUsd: number;
  writeRequestsUsd: number;
  readRequestsUsd: number;
  retrievalUsd: number;
  egressUsd: number;
  earlyDeletionUsd: number;
  /** padding up to the minimum billable object size, and per-object overhead */
  objectSizeUsd: number;
  monitoringUsd: number;
  totalUsd: number;
}

export const CHARGE_KINDS = ['storageUsd', 'writeRequestsUsd', 'readRequestsUsd', 'retrievalUsd', 'egressUsd', 'earlyDeletionUsd', 'objectSizeUsd', 'monitoringUsd'] as const;

export function noCharges(): Charges {
  return { storageUsd: 0, writeRequestsUsd: 0, readRequestsUsd: 0, retrievalUsd: 0, egressUsd: 0, earlyDeletionUsd: 0, objectSizeUsd: 0, monitoringUsd: 0, totalUsd: 0 };
}

export function addCharges(a: Charges, b: Partial<Charges>): Charges {
  const out = { ...a };
  for (const k of CHARGE_KINDS) out[k] += b[k] ?? 0;
  out.totalUsd = CHARGE_KINDS.reduce((s, k) => s + out[k], 0);
  return out;
}

/** Each charge multiplied by f (a projection). */
export function scaleCharges(c: Charges, f: number): Charges {
  return addCharges(noCharges(), Object.fromEntries(CHARGE_KINDS.map((k) => [k, c[k] * f])));
}
