// What the vfs and the mover need of an object tier. The implementation (chunking,
// stripes, cell headers, manifests, recall cache) lives beside this file; callers
// see only this interface and the layout, which the catalog stores as JSON.
import type { ReadCounters } from './reader.js';
import type { CacheCounters } from './recall-cache.js';
import type { ObjectStore } from '../../objectstore/types.js';

/** Where one cell of a stripe is stored. */
export interface CellRef {
  /** index into the tier's backends */
  backend: number;
  key: string;
  /** payload bytes (without the header) */
  length: number;
  /** checksum of the payload, hex: CRC-32 (zlib's polynomial; see cell.ts for why not CRC-32C) */
  crc: string;
  /**
   * Data cells of more than one block (ObjectLayout.blockSize): the CRC-32 of each block of
   * the payload, 8 hex digits each, one after the other, so that a small read can fetch and
   * check only the blocks it needs. Absent from parity cells and older copies.
   */
  blocks?: string;
}

export interface StripeRef {
  /** index of the stripe in the file (chunk number) */
  index: number;
  /** file bytes this stripe holds (the last one may be short) */
  dataLength: number;
  /** k data cells then m parity cells */
  cells: CellRef[];
}

/** A file's layout on an object tier: everything needed to read, verify, repair or delete it. */
export interface ObjectLayout {
  version: 1;
  tier: string;
  /** unique per copy: a new move writes new objects, never over the old ones */
  fileId: string;
  /** 'single': one object (small files), copied to `replicas` backends; 'striped': k+m stripes */
  kind: 'single' | 'striped';
  size: number;
  k: number;
  m: number;
  chunkSize: number;
  /** bytes per checksummed block of a data cell (CellRef.blocks); absent: whole cells only */
  blockSize?: number;
  /** SHA-256 of the whole file, hex: verified after every copy */
  sha256: string;
  stripes: StripeRef[];
  manifest: { backend: number; key: string }[];
}

/** The file as written in its manifest object (so the catalog can be rebuilt from the tiers). */
export interface ManifestInfo {
  fsid: string;
  ino: number;
  generation: number;
  path: string;
  mode: number;
  uid: number;
  gid: number;
  atimeNs: string;
  mtimeNs: string;
  ctimeNs: string;
  /**
   * When this copy's write began, as a sequence that only grows (microseconds since the
   * epoch, made strictly increasing within the process): of two copies of one path, the
   * later write is the later state. The writer stamps it unless the caller gives one.
   * Absent from manifests written before it existed.
   */
  writeSequence?: number;
  /**
   * The file's extended attributes (name → value, base64) and its own pin: what else a
   * rebuild from the tiers alone needs. Absent from manifests written before they were kept.
   */
  xattrs?: Record<string, string>;
  pin?: string | null;
}

/** A source of bytes to copy onto the tier. */
export interface ByteSource {
  size: number;
  /**
   * Bytes at offset (fewer only at the end of the source). With `into`, a source may
   * read straight into it and return a view of it; one that does not returns its own
   * buffer, and the caller copies.
   */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
}

export interface ScrubReport {
  cellsChecked: number;
  cellsBad: number;
  cellsRepaired: number;
  /** stripes with more than m bad cells: data lost */
  stripesLost: number;
  /** cells in an archive class, not checked (they need a restore first) */
  cellsArchived?: number;
  /** stripes left with fewer than m cells to spare: a bad cell not repaired (lost stripes included) */
  stripesAtRisk?: number;
  /** copies of the file's manifest (one per backend) checked, missing or bad, and written again */
  manifestsChecked?: number;
  manifestsBad?: number;
  manifestsRepaired?: number;
}

export interface IncompleteStripe {
  stripe: number;
  present: number;
  needed: number;
}

/** A backend's answer to a probe. */
export interface BackendProbe {
  /** its name in metrics (see backendLabels) */
  backend: string;
  up: boolean;
  error?: string;
}

/** Counters of reads and caches, for metrics and tests. */
export interface ObjectTierStats extends ReadCounters, CacheCounters {
  memoryCacheBytes: number;
  diskCacheBytes: number;
}

export interface ObjectTierStore {
  readonly name: string;
  /** how many backends may be lost with every file still readable */
  readonly survivableBackendLosses: number;
  /** the backends' names in metrics, in configuration order */
  readonly backendNames: readonly string[];
  /** the backends' stores as the tier uses them now (replaceStore changes them), in configuration order */
  readonly stores: readonly ObjectStore[];
  /**
   * Write cells and manifest under fileId (a fresh id per copy), read them back and
   * verify; returns the layout.
   */
  write(src: ByteSource, info: ManifestInfo, fileId: string, onProgress?: (bytes: number) => void): Promise<ObjectLayout>;
  /** Bytes [offset, offset+length) of a file, clipped to its size; degraded reads rebuild from parity. */
  read(layout: ObjectLayout, offset: number, length: number): Promise<Buffer>;
  /** The copy's bytes for reading front to back (a move to a local tier): cells fetched ahead, not kept in the recall cache. */
  /** The copy's first `size` bytes (default: all) for a move to read in order. */
  copySource(layout: ObjectLayout, size?: number): ByteSource;
  /** The data cells of [offset, offset+length) (every one without a range) that are whole files in the disk cache. */
  cellFiles(layout: ObjectLayout, offset?: number, length?: number): Promise<CellFileSet | undefined>;
  /** Cell files (paths, of any tier) that were read without the tier seeing it: its disk cache's entries among them were used now. */
  noteCellsRead(paths: string[]): void;
  /** Delete a copy's cells and manifest; what is already gone is fine. */
  remove(layout: ObjectLayout): Promise<void>;
  /** Delete whatever an interrupted write under fileId left behind (its layout is unknown). */
  removePartial(fileId: string): Promise<void>;
  scrub(layout: ObjectLayout, repair: boolean): Promise<ScrubReport>;
  /**
   * Write a copy's manifest again with the file's current name and attributes (rename,
   * chmod, xattrs changed) on each backend whose manifest does not say it yet; the copy
   * and its write sequence stay. False: every manifest said it already. Throws when no
   * backend has a readable one (the update waits).
   */
  rewriteManifest(layout: ObjectLayout, info: Omit<ManifestInfo, 'writeSequence'>): Promise<boolean>;
  /** Every manifest on the tier, for `tierfs fsck --rebuild`. */
  manifests(): AsyncIterable<{ info: ManifestInfo; layout: ObjectLayout }>;
  /**
   * The first stripe of a copy with fewer than k of its cells present (listed, not
   * read), or null when every stripe has enough: only then is the copy worth restoring.
   */
  incompleteStripe(layout: ObjectLayout): Promise<IncompleteStripe | null>;
  /** new recall cache budgets, applied while mounted (a cache that is off stays off) */
  resizeCaches(memoryBytes: number, diskBytes: number): Promise<void>;
  /** Counters of reads and of the recall cache. */
  stats(): Promise<ObjectTierStats>;
  /** Whether each backend answers (within timeoutMs). */
  probe(timeoutMs: number): Promise<BackendProbe[]>;
  /** Why each backend cannot serve the tier (a test write, read and removal; `held(i)` found): empty when all can. */
  checkStores(timeoutMs: number): Promise<string[]>;
  /** Serve backend `index` through `store` from now on (a checked new connection to the same objects). */
  replaceStore(index: number, store: ObjectStore): void;
  close(): Promise<void>;
}

/** Cells of a cold file held as files on local disk (whose reads the FUSE binding can serve itself). */
export interface CellFileSet {
  /** the file's size: reads past it are short */
  fileSize: number;
  /** each cell's bytes are checked in blocks of this size */
  blockSize: number;
  cells: CellFileRef[];
}

export interface CellFileRef {
  /** of the cell's first byte in the file */
  offset: number;
  length: number;
  /** the file that holds exactly the cell's bytes (or, a file of blocks, those read so far) */
  path: string;
  /** the CRC-32 of each block of the cell */
  crcs: Uint32Array;
  /**
   * The file's inode and ctime when its whole content was last found good, if known:
   * while the file at the path is that inode with that ctime, it is served unchecked (a
   * file made again under the name within one tick of a coarse clock has the ctime, not
   * the inode).
   */
  checkedIno?: number;
  checkedCtimeSec?: number;
  checkedCtimeNsec?: number;
  /** a file of blocks: which blocks (1 a block) were written from checked bytes by that ctime; only those are served unchecked */
  checkedBlocks?: Uint8Array;
}
