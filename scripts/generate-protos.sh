#!/usr/bin/env bash
# Regenerates Sources/RMBProtocol/Generated/types.pb.swift from Proto/types.proto.
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift from swift-protobuf 1.39.0,
# built from this package's own dependency (slow the first time, about a minute on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-protoc
swift build --scratch-path "$scratch" --product protoc-gen-swift
plugin="$scratch/debug/protoc-gen-swift"
protoc --plugin=protoc-gen-swift="$plugin" \
       --swift_opt=Visibility=Public \
       --swift_out=Sources/RMBProtocol/Generated \
       -I Proto Proto/types.proto
echo "generated Sources/RMBProtocol/Generated/types.pb.swift"
