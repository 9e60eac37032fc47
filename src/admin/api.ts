// The admin API's answers, computed from the catalog and the tiers. Pure reads:
// the HTTP server (server.ts) only routes to these.
import type { Catalog } from '../catalog/catalog.js';
import { ROOT_INO } from '../catalog/catalog.js';
import { FsError } from '../errors.js';
import type { LocalTier } from '../tiers/local/local-tier.js';
import { isDir, isReg, S_IFLNK, S_IFMT } from '../vfs/vfs.js';
import type { Vfs } from '../vfs/vfs.js';
import type { AccessRecorder } from '../vfs/access-recorder.js';

export interface TierStatus {
  name: string;
  kind: string;
  files: number;
  bytes: number;
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  watermarks: { high: number; low: number };
  volumes: string[];
}

export interface Status {
  mountpoint: string;
  fsid: string;
  pid: number;
  startedAt: string;
  tiers: TierStatus[];
  conflicts: { path: string; kind: string; detail: string }[];
  recording: { enabled: boolean; eventsRecorded: number };
}

export interface Where {
  path: string;
  ino: number;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  tier: string | null;
  volume: string | null;
  backingPath: string | null;
  state: string;
  generation: number;
  openForWrite: boolean;
  access: { opens: number; reads: number; readBytes: number; writes: number; writeBytes: number; firstAccess: string | null; lastAccess: string | null };
}

export class AdminApi {
  readonly startedAt = new Date();

  constructor(
    private readonly catalog: Catalog,
    private readonly tiers: LocalTier[],
    private readonly vfs: Vfs,
    private readonly recorder: AccessRecorder,
    private readonly mountpoint: string,
  ) {}

  status(): Status {
    const usage = this.catalog.usageByTier();
    return {
      mountpoint: this.mountpoint,
      fsid: this.catalog.fsid,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      tiers: this.tiers.map((t) => {
        const held = usage.get(t.name) ?? { files: 0, bytes: 0 };
        return { name: t.name, kind: t.kind, ...held, ...t.usage(held.bytes), watermarks: t.config.watermarks, volumes: t.volumes };
      }),
      conflicts: this.catalog.conflicts(),
      recording: { enabled: this.recorder.enabled, eventsRecorded: this.recorder.recorded },
    };
  }

  /** Where a path (relative to the mount root) lives and how it has been used. */
  where(path: string): Where {
    this.recorder.flush();
    let ino = ROOT_INO;
    for (const part of path.split('/').filter((p) => p !== '' && p !== '.')) {
      const next = this.catalog.lookupIno(ino, part);
      if (next === undefined) throw new FsError('ENOENT', `no such file in the mount: ${path}`);
      ino = next;
    }
    const i = this.vfs.getattr(ino);
    const stats = this.catalog.accessStats(ino);
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      path,
      ino,
      type: isReg(i.mode) ? 'file' : isDir(i.mode) ? 'directory' : (i.mode & S_IFMT) === S_IFLNK ? 'symlink' : 'other',
      size: i.size,
      tier: i.tier,
      volume: i.volume,
      backingPath: i.tier ? this.vfs.backingPath(i) : null,
      state: i.state,
      generation: i.generation,
      openForWrite: this.vfs.isOpenForWrite(ino),
      access: {
        opens: stats?.opens ?? 0,
        reads: stats?.reads ?? 0,
        readBytes: stats?.readBytes ?? 0,
        writes: stats?.writes ?? 0,
        writeBytes: stats?.writeBytes ?? 0,
        firstAccess: iso(stats?.firstMs),
        lastAccess: iso(stats?.lastMs),
      },
    };
  }

  /** The access log as CSV: time, path, op, offset, length, file size. */
  *traceCsv(sinceMs = 0): Generator<string> {
    this.recorder.flush();
    yield 'time,path,op,offset,length,size\n';
    for (const r of this.catalog.trace(sinceMs)) {
      yield `${new Date(r.timeMs).toISOString()},${csvField(r.path)},${r.op},${r.offset},${r.length},${r.size}\n`;
    }
  }
}

export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
