#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and mounts a demo tierfs on the embedded default
# configuration: hot and warm tiers in ./demo/tierfs-data, mounted on ./demo/mnt; prints
# the web dashboard's address and login link, and runs a small generated workload in the
# background (scripts/demo-workload.sh, a few minutes) so its charts move.
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
../bin/tierfs.js dashboard --open mnt
if ! pgrep -f "demo-workload.sh $(pwd)/mnt" >/dev/null; then
  nohup ../scripts/demo-workload.sh "$(pwd)/mnt" 5 >workload.log 2>&1 &
  echo "demo: a generated workload runs for 5 minutes (pid $!, log demo/workload.log)"
fi
cat <<MSG

Try:  cp -r /usr/share/doc/fuse3 demo/mnt/ && ls -l demo/mnt
      npx tierfs status
      npx tierfs dashboard --open      (a fresh login link for the dashboard)
      npx tierfs where demo/mnt/fuse3/*
      npx tierfs umount demo/mnt
MSG
