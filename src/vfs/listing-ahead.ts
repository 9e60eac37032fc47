// Listings read ahead of a walk by name: the first page of names of the directory a walk
// is about to list, read while the walker is busy with the one before.
//
// `find` lists a directory, goes through the names it got, then lists the next one: the
// daemon waits while the walker works, and the walker waits while the daemon reads the
// next directory's names from the catalog — at 1,000,000 files a quarter of a directory's
// time with the catalog in memory, more when its pages must come from the disk. So right
// after a directory's first page of names is answered, the next directory in depth-first
// order (its first subdirectory, else the next subdirectory after it in its parent, or in
// its parent's parent, ...) is read, and its first page kept here until asked for.
//
// A page is kept only while it is what a read now would give: the catalog reports every
// change of a directory's names (Catalog.onNamesChanged), and the page of that directory,
// and of any directory whose '..' it is (a rename moves a directory's '..'), is dropped.
import type { JoinedNames } from '../catalog/catalog.js';

/** Levels climbed to find the next directory after one without subdirectories. */
const CLIMB = 16;

export interface ListingSource {
  /** The first page of dir's names (limit entries at most, '.' and '..' first), and its parent. */
  firstPage(dir: number, limit: number): { page: JoinedNames; parent: number } | undefined;
  /** The first subdirectory of dir after cookie (0: from the start), in listing order. */
  nextSubdir(dir: number, afterCookie: number): number | undefined;
  /** dir's parent and its position there (its cookie); undefined for the root. */
  nameOf(dir: number): { parent: number; cookie: number } | undefined;
}

interface Kept {
  dir: number;
  limit: number;
  page: JoinedNames;
  parent: number;
}

export class ListingAhead {
  /** Pages read ahead and then asked for, and those dropped unasked. */
  readonly counts = { used: 0, unused: 0 };
  /** One page: a walk lists one directory at a time. */
  private kept: Kept | undefined;
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly source: ListingSource) {}

  /**
   * dir's first page (limit entries) is asked for: the page read ahead, if it is dir's.
   * The next directory's is read once this turn's work is answered — unless a page read
   * ahead for another directory was waiting: the walk went elsewhere than guessed (or
   * something else lists), and it is dropped instead, so that a wrong guess costs at most
   * every other listing one read nobody asks for.
   */
  asked(dir: number, limit: number): JoinedNames | undefined {
    const k = this.kept;
    this.kept = undefined;
    if (k && k.dir !== dir) {
      this.counts.unused++;
      return undefined;
    }
    this.readNext(dir, limit);
    if (!k) return undefined;
    if (k.limit !== limit) {
      this.counts.unused++;
      return undefined;
    }
    this.counts.used++;
    return k.page;
  }

  /** A name in dir was added, removed, moved or pointed elsewhere. */
  namesChanged(dir: number): void {
    if (this.kept && (this.kept.dir === dir || this.kept.parent === dir)) {
      this.kept = undefined;
      this.counts.unused++;
    }
  }

  /** Nothing more is asked (unmount): no read is left scheduled. */
  stop(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }

  private readNext(dir: number, limit: number): void {
    this.stop();
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      try {
        const next = this.nextAfter(dir);
        const read = next === undefined ? undefined : this.source.firstPage(next, limit);
        if (read) this.kept = { dir: next!, limit, ...read };
      } catch {
        // Only a guess failed (the catalog closing, say): the page is read when asked for.
      }
    });
  }

  /** The directory a depth-first walk lists after dir. */
  private nextAfter(dir: number): number | undefined {
    const first = this.source.nextSubdir(dir, 0);
    if (first !== undefined) return first;
    for (let at = dir, level = 0; level < CLIMB; level++) {
      const place = this.source.nameOf(at);
      if (!place) return undefined;
      const sibling = this.source.nextSubdir(place.parent, place.cookie);
      if (sibling !== undefined) return sibling;
      at = place.parent;
    }
    return undefined;
  }
}
