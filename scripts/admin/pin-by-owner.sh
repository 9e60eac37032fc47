#!/bin/sh
# Pin every top-level directory of a project (or every file of an owner) to a tier, and
# say what moves: `tierfs pin` per path, then `tierfs where --json` to check.
#   scripts/admin/pin-by-owner.sh --tier hot --project /mnt/tierfs/projects/db
#   scripts/admin/pin-by-owner.sh --tier hot --owner alice /mnt/tierfs/home
# A directory pin covers everything below it: a project is one pin. Owners are found
# with find(1) on the mount (stat only, no file is opened).
set -eu
tier= project= owner= root=
while [ $# -gt 0 ]; do
  case $1 in
    --tier) tier=$2; shift 2 ;;
    --project) project=$2; shift 2 ;;
    --owner) owner=$2; shift 2 ;;
    *) root=$1; shift ;;
  esac
done
[ -n "$tier" ] || { echo "usage: $0 --tier TIER (--project DIR | --owner USER ROOT)" >&2; exit 2; }
command -v jq >/dev/null || { echo "pin-by-owner: needs jq" >&2; exit 2; }

pin() {
  tierfs pin "$1" --tier "$tier" >/dev/null
  tierfs where --json "$1" | jq -r --arg p "$1" '.[0] | "\($p): on \(.tier // "?"), pinned to \(.pin.tier // "nothing")"'
}
if [ -n "$project" ]; then
  pin "$project"
elif [ -n "$owner" ] && [ -n "$root" ]; then
  find "$root" -xdev -type f -user "$owner" | while IFS= read -r f; do pin "$f"; done
else
  echo "usage: $0 --tier TIER (--project DIR | --owner USER ROOT)" >&2; exit 2
fi
echo "pinned files move at the mover's pace; tierfs moves --json shows the queue"
