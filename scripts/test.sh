#!/usr/bin/env bash
# Installs what the tests need (scripts/setup.sh) and runs the whole suite. The object-store
# servers (s3rver, Azurite, our GCS JSON-API server) are started by the tests themselves.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit 1
mkdir -p .tmp
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@"
