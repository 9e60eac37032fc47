#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and mounts a demo tierfs on the embedded default
# configuration: hot and warm tiers in ./demo/tierfs-data, mounted on ./demo/mnt.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mkdir -p demo/mnt
cd demo
[ -f tierfs.yaml ] || ../bin/tierfs.js init .
if grep -q " $(pwd)/mnt fuse.tierfs " /proc/self/mounts; then
  echo "demo: already mounted on $(pwd)/mnt"
else
  ../bin/tierfs.js mount --config tierfs.yaml mnt
fi
cat <<MSG

Try:  cp -r /usr/share/doc/fuse3 demo/mnt/ && ls -l demo/mnt
      npx tierfs status
      npx tierfs where demo/mnt/fuse3/*
      npx tierfs umount demo/mnt
MSG
