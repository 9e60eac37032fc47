// The object tier: what the daemon, the mover and fsck import.
export { ObjectTier, openObjectTier, tierStore, backendLabels, cellsInParts, defaultCacheDir, DEFAULT_CACHE, type ObjectTierOptions, type ObjectTierSettings } from './object-tier.js';
export { headerLength } from './cell.js';
export { survivableBackendLosses } from './layout.js';
export { decodeHeader, CellFormatError, type CellHeader } from './cell.js';
export type * from './types.js';
