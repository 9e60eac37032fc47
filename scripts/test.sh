#!/usr/bin/env bash
# Installs what the tests need (scripts/setup.sh) and runs the whole suite, then the tests
# that depend on Node's version on Node 24 as well (scripts/test-node24.sh). The
# object-store servers (s3rver, Azurite, our GCS JSON-API server) are started by the tests.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit 1
mkdir -p .tmp
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@"
status=$?
# The whole suite (no files named): the tests that depend on Node's version, on Node 24 too.
if [ $# -eq 0 ]; then ./scripts/test-node24.sh || status=1; fi
exit $status
