// The CLI finds tierfs mounts in the kernel's mount table. Any user may make a FUSE mount
// of type fuse.tierfs with a source of their choosing (fusermount lets them, where
// /dev/fuse is open to all, as on most systems — not on this test machine, where it is
// root's: hence the table as text here): root's CLI must not talk to that user's socket.
import { expect, it } from 'vitest';
import { chownSync } from 'node:fs';
import { parseMountInfo } from '../../src/fuse/mountpoint.js';
import { namedTierfsMount, tierfsMounts } from '../../src/cli/mounts.js';
import { tempDir } from '../helpers/tmp.js';

const TABLE = [
  '47 27 0:42 / /srv/mnt rw,nosuid,nodev,relatime - fuse.tierfs /var/lib/tierfs rw,user_id=0,group_id=0,default_permissions,allow_other',
  '48 47 0:43 / /srv/mnt/home/m/fake rw,nosuid,nodev,relatime - fuse.tierfs /home/m/fake rw,user_id=1000,group_id=1000,default_permissions',
  '49 27 0:44 / /mnt/with\\040space rw,relatime - fuse.sshfs host:/x rw,user_id=1000,group_id=1000',
  '50 27 8:1 / /data rw,relatime - ext4 /dev/sda1 rw',
].join('\n');

it("reads who mounted each FUSE filesystem, and lists root's tierfs mounts (and the caller's), not another user's", () => {
  const table = parseMountInfo(TABLE);
  expect(table.map((m) => m.mountedBy)).toEqual([0, 1000, 1000, undefined]);
  expect(table[2]!.mountpoint).toBe('/mnt/with space');
  expect(process.getuid!()).toBe(0);
  expect(tierfsMounts(table)).toEqual([{ mountpoint: '/srv/mnt', dataDir: '/var/lib/tierfs' }]);
});

it('a mount of another user is taken when named, if its data directory is that user\'s (a daemon run as a service user)', () => {
  const service = tempDir('tierfs-service-data-');
  const planted = tempDir('tierfs-planted-data-');
  try {
    chownSync(service.path, 65534, 65534);
    // a third user's fake mount naming a directory that is not theirs (root's, here)
    const table = parseMountInfo(
      [
        `60 27 0:50 / /srv/svc rw,nosuid,nodev - fuse.tierfs ${service.path} rw,user_id=65534,group_id=65534,default_permissions`,
        `61 27 0:51 / /srv/fake rw,nosuid,nodev - fuse.tierfs ${planted.path} rw,user_id=65534,group_id=65534,default_permissions`,
      ].join('\n'),
    );
    expect(tierfsMounts(table)).toEqual([]); // never found unasked
    expect(namedTierfsMount('/srv/svc', table)).toEqual({ mountpoint: '/srv/svc', dataDir: service.path });
    expect(namedTierfsMount('/srv/fake', table)).toBeUndefined();
    expect(namedTierfsMount('/srv/elsewhere', table)).toBeUndefined();
  } finally {
    service.remove();
    planted.remove();
  }
});
