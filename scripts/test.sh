#!/usr/bin/env bash
# Runs the whole test suite. Tests start their own redis-server and relays on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --build-tests
# Two tests at a time (Swift Testing runs in parallel; the width bounds it). Timing-bound logic
# runs on manual clocks, so only tests of real processes keep (generous) real-time bounds; more
# than two at once would have their debug-built relays and peers fight for this machine's two
# cores. Pass a filter to run a part, e.g. ./scripts/test.sh --filter TFChainTests.
# (The environment variable, not `swift test`'s --experimental-maximum-parallelization-width:
# SwiftPM 6.3 accepts that flag but does not pass it on.)
# Two suites run alone afterwards, one after the other: the overload test (200,000 envelopes into
# one peer), whose fake relay lives in the test process, so other tests starving that process
# would starve the relay it plays; and the frozen-relay test, which measures how long requests
# wait across a freeze (next to a test signing thousands of sr25519 envelopes, even its requests
# before the freeze took 1.9 s at the median).
alone=(PeerOverloadTests SilentRelayTests)
if [ $# -gt 0 ]; then
    SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=2 swift test --skip-build "$@"
else
    SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=2 swift test --skip-build "${alone[@]/#/--skip=}"
    SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=1 swift test --skip-build --filter "$(IFS='|'; echo "${alone[*]}")"
fi
