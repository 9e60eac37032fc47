#!/usr/bin/env bash
# Installs everything tierfs needs on a fresh Debian machine, without prompting:
# system packages (apt), npm dependencies, the native addons and the compiled CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

# fuse3/libfuse3-dev: our FUSE binding; zlib1g-dev: its CRC-32 (checks of cached cells); libisal-dev: ISA-L, the erasure-coding
# reference in tests and benchmarks; attr: setfattr/getfattr used by tests; strace: the
# test that checks the order in which a move syncs and deletes; acl: setfacl/getfacl, the
# POSIX ACL tests; chromium: the browser the dashboard's tests drive (playwright-core
# cannot download one here).
packages=(fuse3 libfuse3-dev zlib1g-dev libisal-dev attr acl strace build-essential python3 chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -e /dev/fuse ] || modprobe fuse || true

# npm ci builds better-sqlite3 and our addons (package.json allowScripts, .npmrc nodedir=/usr)
# and compiles the TypeScript (prepare).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi

# The command on every PATH and the mount helper mount(8) runs for fstab lines of type
# fuse.tierfs (links into this checkout; docs/OPERATIONS.md). Only root may write there.
if [ "$(id -u)" = 0 ]; then
  ./scripts/install.sh
else
  echo "setup: not root, so tierfs is not installed system-wide: run scripts/install.sh as root" >&2
fi
