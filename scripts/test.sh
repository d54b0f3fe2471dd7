#!/usr/bin/env bash
# Runs the whole test suite. Tests start their own redis-server and relays on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
