// Price classes: what a provider charges for one storage class, as data. The presets are
// list prices copied by hand from the providers' public price pages, with the date they
// were taken and the region they are for: prices change and differ by region and volume,
// so `tierfs config validate` prints the numbers in use and every key can be overridden.
// A "GB" here is what the providers bill: 2^30 bytes.

export const GB = 2 ** 30;

/** Everything one storage class charges for. Amounts in US dollars. */
export interface PriceClass {
  /** storage, per GB held for a month */
  storagePerGBMonth: number;
  /** requests that write or list (PUT, POST, COPY, LIST; restore requests too), per 1,000 */
  writesPer1000: number;
  /** requests that read (GET, HEAD), per 1,000 */
  readsPer1000: number;
  /** data retrieval fee, per GB read back */
  retrievalPerGB: number;
  /** data transfer out of the provider, per GB read back (0 when tierfs runs inside its network) */
  egressPerGB: number;
  /** an object deleted or moved out sooner is charged storage for the rest of these days */
  minStorageDays: number;
  /** an object smaller than this is billed as this big */
  minBillableBytes: number;
  /** bytes billed on top of each object (index and metadata the class keeps per object) */
  objectOverheadBytes: number;
  /** a monthly fee per 1,000 objects (Intelligent-Tiering's monitoring) */
  monitoringPer1000Objects: number;
}

export interface Preset extends PriceClass {
  provider: 'aws' | 'azure' | 'gcp' | 'none';
  /** the price list the numbers are from */
  region: string;
  /** when they were taken from the provider's page (YYYY-MM) */
  asOf: string;
  note?: string;
}

const ZERO: PriceClass = {
  storagePerGBMonth: 0, writesPer1000: 0, readsPer1000: 0, retrievalPerGB: 0, egressPerGB: 0,
  minStorageDays: 0, minBillableBytes: 0, objectOverheadBytes: 0, monitoringPer1000Objects: 0,
};

const KiB = 1024;
const AWS = { provider: 'aws', region: 'us-east-1, first 50 TB tier', asOf: '2024-06' } as const;
const AZURE = { provider: 'azure', region: 'East US, LRS, flat namespace', asOf: '2024-06' } as const;
const GCP = { provider: 'gcp', region: 'us-central1 (regional)', asOf: '2024-06' } as const;

/**
 * The built-in classes. Egress is 0 in every preset: it depends on where the mount runs
 * (inside the provider's region it is free); set `egressPerGB` when it does not.
 */
export const PRESETS = {
  local: { ...ZERO, provider: 'none', region: '-', asOf: '-', note: 'no charge: set storagePerGBMonth to a disk’s price ÷ its months of life' },
  's3-standard': { ...ZERO, ...AWS, storagePerGBMonth: 0.023, writesPer1000: 0.005, readsPer1000: 0.0004 },
  's3-standard-ia': {
    ...ZERO, ...AWS, storagePerGBMonth: 0.0125, writesPer1000: 0.01, readsPer1000: 0.001, retrievalPerGB: 0.01,
    minStorageDays: 30, minBillableBytes: 128 * KiB,
  },
  's3-glacier-ir': {
    ...ZERO, ...AWS, storagePerGBMonth: 0.004, writesPer1000: 0.02, readsPer1000: 0.01, retrievalPerGB: 0.03,
    minStorageDays: 90, minBillableBytes: 128 * KiB,
  },
  's3-glacier-flexible': {
    ...ZERO, ...AWS, storagePerGBMonth: 0.0036, writesPer1000: 0.03, readsPer1000: 0.0004, retrievalPerGB: 0.01,
    minStorageDays: 90, objectOverheadBytes: 40 * KiB,
    note: 'standard retrievals; restore requests are priced as writes here ($0.05/1000 on the list); the 40 KiB per object are billed at this class’s price (8 KiB of them are Standard’s on the list)',
  },
  's3-deep-archive': {
    ...ZERO, ...AWS, storagePerGBMonth: 0.00099, writesPer1000: 0.05, readsPer1000: 0.0004, retrievalPerGB: 0.02,
    minStorageDays: 180, objectOverheadBytes: 40 * KiB,
    note: 'standard retrievals; restore requests priced as writes ($0.10/1000 on the list)',
  },
  's3-intelligent-tiering': {
    ...ZERO, ...AWS, storagePerGBMonth: 0.023, writesPer1000: 0.005, readsPer1000: 0.0004, monitoringPer1000Objects: 0.0025,
    note: 'priced at the Frequent Access tier; objects below 128 KiB are not monitored on the list (charged here too)',
  },
  'azure-hot': { ...ZERO, ...AZURE, storagePerGBMonth: 0.0184, writesPer1000: 0.0055, readsPer1000: 0.00044 },
  'azure-cool': {
    ...ZERO, ...AZURE, storagePerGBMonth: 0.01, writesPer1000: 0.01, readsPer1000: 0.001, retrievalPerGB: 0.01, minStorageDays: 30,
  },
  'azure-cold': {
    ...ZERO, ...AZURE, storagePerGBMonth: 0.0036, writesPer1000: 0.018, readsPer1000: 0.01, retrievalPerGB: 0.03, minStorageDays: 90,
  },
  'azure-archive': {
    ...ZERO, ...AZURE, storagePerGBMonth: 0.00099, writesPer1000: 0.011, readsPer1000: 0.5, retrievalPerGB: 0.022, minStorageDays: 180,
    note: 'standard-priority rehydration',
  },
  'gcs-standard': { ...ZERO, ...GCP, storagePerGBMonth: 0.02, writesPer1000: 0.005, readsPer1000: 0.0004 },
  'gcs-nearline': {
    ...ZERO, ...GCP, storagePerGBMonth: 0.01, writesPer1000: 0.01, readsPer1000: 0.001, retrievalPerGB: 0.01, minStorageDays: 30,
  },
  'gcs-coldline': {
    ...ZERO, ...GCP, storagePerGBMonth: 0.004, writesPer1000: 0.02, readsPer1000: 0.01, retrievalPerGB: 0.02, minStorageDays: 90,
  },
  'gcs-archive': {
    ...ZERO, ...GCP, storagePerGBMonth: 0.0012, writesPer1000: 0.05, readsPer1000: 0.05, retrievalPerGB: 0.05, minStorageDays: 365,
  },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
export const PRICE_KEYS = Object.keys(ZERO) as (keyof PriceClass)[];

/** A class as configured: a preset and the keys that override it. */
export type PriceSpec = { class: PresetName } & Partial<PriceClass>;

/** A price class in use, with where each number came from. */
export interface ResolvedPrice extends PriceClass {
  class: PresetName;
  asOf: string;
  region: string;
  /** keys set in the configuration rather than taken from the preset */
  overridden: (keyof PriceClass)[];
}

export function resolvePrice(spec: PriceSpec): ResolvedPrice {
  const preset: Preset = PRESETS[spec.class];
  const out: ResolvedPrice = { class: spec.class, asOf: preset.asOf, region: preset.region, overridden: [], ...pick(preset) };
  for (const k of PRICE_KEYS) {
    const v = spec[k];
    if (v !== undefined) {
      out[k] = v;
      out.overridden.push(k);
    }
  }
  return out;
}

function pick(p: PriceClass): PriceClass {
  return Object.fromEntries(PRICE_KEYS.map((k) => [k, p[k]])) as unknown as PriceClass;
}

/** One line for people: "s3-standard-ia (us-east-1…, list of 2024-06): $0.0125/GB-month, …". */
export function describePrice(p: ResolvedPrice): string {
  const mark = (k: keyof PriceClass, text: string) => (p.overridden.includes(k) ? `${text}*` : text);
  const parts = [
    mark('storagePerGBMonth', `$${p.storagePerGBMonth}/GB-month`),
    mark('writesPer1000', `writes $${p.writesPer1000}/1000`),
    mark('readsPer1000', `reads $${p.readsPer1000}/1000`),
  ];
  if (p.retrievalPerGB) parts.push(mark('retrievalPerGB', `retrieval $${p.retrievalPerGB}/GB`));
  if (p.egressPerGB) parts.push(mark('egressPerGB', `egress $${p.egressPerGB}/GB`));
  if (p.minStorageDays) parts.push(mark('minStorageDays', `minimum ${p.minStorageDays} days`));
  if (p.minBillableBytes) parts.push(mark('minBillableBytes', `objects billed as ≥ ${p.minBillableBytes / KiB} KiB`));
  if (p.objectOverheadBytes) parts.push(mark('objectOverheadBytes', `+${p.objectOverheadBytes / KiB} KiB per object`));
  if (p.monitoringPer1000Objects) parts.push(mark('monitoringPer1000Objects', `monitoring $${p.monitoringPer1000Objects}/1000 objects-month`));
  const source = p.class === 'local' ? 'no list price' : `list prices of ${p.asOf}, ${p.region}`;
  return `${p.class} (${source}${p.overridden.length > 0 ? '; * = set in the configuration' : ''}): ${parts.join(', ')}`;
}
