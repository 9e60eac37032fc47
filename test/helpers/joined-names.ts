import type { JoinedNames } from '../../src/catalog/catalog.js';

/** A page of names as the FUSE binding reads it (`cookie,ino,type,name` per entry, '/' between), as [cookie, name, ino, type]. */
export function entriesOf(page: JoinedNames): [cookie: number, name: string, ino: number, type: number][] {
  const out = page.joined === '' ? [] : page.joined.split('/').map((e): [number, string, number, number] => {
    const [cookie, ino, mode, ...name] = e.split(',');
    return [Number(cookie), name.join(','), Number(ino), Number(mode)];
  });
  if (out.length !== page.count) throw new Error(`page says ${page.count} entries and holds ${out.length}`);
  return out;
}
