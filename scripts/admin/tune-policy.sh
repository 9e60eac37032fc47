#!/bin/sh
# Tune the policy from the last month's accesses: export the trace, sweep the policy on
# it with `tierfs policy suggest`, then show what the suggestion would move with a dry
# run. Nothing is applied unless --apply is given (and then the mount asks again).
#   scripts/admin/tune-policy.sh --config /etc/tierfs.yaml [--apply] [MOUNTPOINT]
set -eu
config= apply= mnt=
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=$2; shift 2 ;;
    --apply) apply=1; shift ;;
    *) mnt=$1; shift ;;
  esac
done
[ -n "$config" ] || { echo "usage: $0 --config TIERFS.YAML [--apply] [MOUNTPOINT]" >&2; exit 2; }
command -v jq >/dev/null || { echo "tune-policy: needs jq" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
since=$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)

tierfs trace $mnt --since "$since" | gzip > "$tmp/month.csv.gz"
tierfs policy suggest --config "$config" --trace "$tmp/month.csv.gz" --pass-interval 10m --json > "$tmp/suggest.json"
jq -r '.variants[] | "\(.label): first tier serves \(.result.tiers[0].byteHitRatio * 1000 | round / 10)% of bytes read"' "$tmp/suggest.json"
best=$(jq -r '.best.label' "$tmp/suggest.json")
echo "best: $best"

# The suggested policy section, spliced into a copy of the config (yq would do it too).
tierfs policy suggest --config "$config" --trace "$tmp/month.csv.gz" --pass-interval 10m > "$tmp/policy.yaml"
awk 'FNR==NR { p = p $0 "\n"; next } /^policy:/ { printf "%s", p; skip = 1; next } skip && /^[^ #]/ { skip = 0 } !skip' \
  "$tmp/policy.yaml" "$config" > "$tmp/tierfs.yaml"
tierfs config apply "$tmp/tierfs.yaml" --dry-run --json ${mnt:+--mount "$mnt"} | jq '.'
if [ -n "$apply" ]; then
  tierfs config apply "$tmp/tierfs.yaml" -m "tune-policy.sh: $best" ${mnt:+--mount "$mnt"}
else
  echo "dry run only; apply with: $0 --config $config --apply $mnt"
fi
