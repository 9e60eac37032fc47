// The object tier: what the daemon, the mover and fsck import.
export { ObjectTier, openObjectTier, defaultCacheDir, DEFAULT_CACHE, type ObjectTierOptions, type ObjectTierSettings, type ObjectTierStats } from './object-tier.js';
export { survivableBackendLosses } from './layout.js';
export { decodeHeader, CellFormatError, type CellHeader } from './cell.js';
export type * from './types.js';
