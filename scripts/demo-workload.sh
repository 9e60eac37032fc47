#!/usr/bin/env bash
# A small generated workload on the demo mount, so the dashboard's charts move: for a few
# minutes it writes files (a few KiB to a few MiB), reads some of them back, and every
# minute sends a few of the written ones to the cold tier and recalls one.
# Usage: scripts/demo-workload.sh MOUNTPOINT [MINUTES]
set -euo pipefail
mnt=$1
minutes=${2:-5}
tierfs() { node "$(dirname "$0")/../bin/tierfs.js" "$@"; }
dir="$mnt/workload"
mkdir -p "$dir"
end=$((SECONDS + minutes * 60))
n=0
next_cold=$((SECONDS + 60))
while ((SECONDS < end)); do
  n=$((n + 1))
  # sizes from 4 KiB to 4 MiB
  head -c $(((RANDOM % 1024 + 1) * 4096)) /dev/urandom >"$dir/file-$n.bin"
  # read back a few of the earlier files (the recall cache and read charts)
  for _ in 1 2 3; do
    f="$dir/file-$((RANDOM % n + 1)).bin"
    [ -f "$f" ] && cat "$f" >/dev/null
  done
  if ((SECONDS >= next_cold)); then
    next_cold=$((SECONDS + 60))
    mapfile -t some < <(ls "$dir" | shuf -n 3)
    for f in "${some[@]}"; do tierfs move --no-wait --to cold "$dir/$f" >/dev/null || true; done
    sleep 5
    [ ${#some[@]} -gt 0 ] && tierfs recall "$dir/${some[0]}" >/dev/null 2>&1 || true
  fi
  sleep 1
done
echo "demo workload: done ($n files written in $dir)"
