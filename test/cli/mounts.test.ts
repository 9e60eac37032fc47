// The CLI finds tierfs mounts in the kernel's mount table. Any user may make a FUSE mount
// of type fuse.tierfs with a source of their choosing (fusermount lets them, where
// /dev/fuse is open to all, as on most systems — not on this test machine, where it is
// root's: hence the table as text here): root's CLI must not talk to that user's socket.
import { expect, it } from 'vitest';
import { parseMountInfo } from '../../src/fuse/mountpoint.js';
import { tierfsMounts } from '../../src/cli/mounts.js';

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
