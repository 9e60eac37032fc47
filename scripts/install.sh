#!/usr/bin/env bash
# Makes this checkout's tierfs available system-wide (run as root; scripts/setup.sh
# calls it after the build):
#   $BINDIR/tierfs              → bin/tierfs.js           the command, on every PATH
#   $SBINDIR/mount.fuse.tierfs  → bin/mount.tierfs.js     what mount(8) runs for type fuse.tierfs
#   $SBINDIR/mount.tierfs       → bin/mount.tierfs.js     ... and for type tierfs
#   $UNITDIR/tierfs@.service    (with --systemd)          one mount per instance, see
#                                                          docs/OPERATIONS.md
# They are links: after `git pull && npm ci` the installed command is the new one.
# `scripts/install.sh --uninstall` removes what it made.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BINDIR="${BINDIR:-/usr/local/bin}"
SBINDIR="${SBINDIR:-/sbin}"
UNITDIR="${UNITDIR:-/etc/systemd/system}"

links=("$BINDIR/tierfs:$root/bin/tierfs.js" "$SBINDIR/mount.fuse.tierfs:$root/bin/mount.tierfs.js" "$SBINDIR/mount.tierfs:$root/bin/mount.tierfs.js")

if [ "${1:-}" = "--uninstall" ]; then
  for l in "${links[@]}"; do rm -f "${l%%:*}"; done
  rm -f "$UNITDIR/tierfs@.service"
  exit 0
fi

mkdir -p "$BINDIR" "$SBINDIR"
for l in "${links[@]}"; do
  ln -sfn "${l#*:}" "${l%%:*}"
done
if [ "${1:-}" = "--systemd" ]; then
  mkdir -p "$UNITDIR"
  sed "s#/usr/local/bin/tierfs#$BINDIR/tierfs#g" "$root/contrib/systemd/tierfs@.service" > "$UNITDIR/tierfs@.service"
  command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true
fi
echo "install: $BINDIR/tierfs, $SBINDIR/mount.fuse.tierfs and $SBINDIR/mount.tierfs point into $root" >&2
