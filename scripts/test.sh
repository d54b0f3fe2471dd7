#!/usr/bin/env bash
# Runs the whole test suite. Tests start their own redis-server and relays on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --build-tests
# One test at a time: many tests run real processes and bound how long things may take, and on a
# two-core machine the Swift concurrency pool has two threads, so parallel tests starve each
# other's timers. Serial costs nothing here (the suite is dominated by its longest tests:
# ~165 s either way). Pass a filter to run a part, e.g. ./scripts/test.sh --filter TFChainTests.
swift test --skip-build --no-parallel "$@"
