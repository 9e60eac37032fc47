#!/bin/sh
# Weekly report of a tierfs mount, from `tierfs status --json` and `tierfs sim --json`:
# each tier's use against its capacity, and what the running policy would have served
# from the first tier over the last week's accesses, next to LRU and the offline bound.
#   scripts/admin/weekly-report.sh [MOUNTPOINT] > report.txt
# Needs jq. The last week's trace comes from the mount's access log (tierfs trace).
set -eu
mnt=${1:-}
command -v jq >/dev/null || { echo "weekly-report: needs jq" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
since=$(date -u -d '7 days ago' +%Y-%m-%dT%H:%M:%SZ)

echo "tierfs weekly report, $(date -u +%Y-%m-%d)"
tierfs status --json $mnt > "$tmp/status.json"
jq -r '.tiers[] | "\(.name): \(.files) files, \(.usedBytes / 1073741824 | floor) GiB of \(if .capacityBytes > 0 then "\(.capacityBytes / 1073741824 | floor) GiB" else "no limit" end)\(if .pressure then " — " + .pressure else "" end)"' "$tmp/status.json"

tierfs trace $mnt --since "$since" > "$tmp/week.csv"
# the running configuration (its tiers, capacities and policy), as the mount has it now
tierfs config show current ${mnt:+--mount "$mnt"} > "$tmp/current.yaml"
tierfs sim --trace "$tmp/week.csv" --config "$tmp/current.yaml" --pass-interval 10m --json > "$tmp/sim.json"
echo
echo "last week's reads replayed (share of bytes read served by the first tier):"
jq -r '.variants[0].results[] | "  \(.policy): \(.tiers[0].byteHitRatio * 1000 | round / 10)%  moved \((.promotions.bytes + .demotions.bytes) / 1073741824 * 10 | round / 10) GiB  misplaced \(.misplacements)"' "$tmp/sim.json"
