import Foundation
import RMBTestSupport
import Substrate

/// The bundled tfchain metadata snapshot, parsed once per use.
enum MetadataSnapshot {
    static func bytes() throws -> [UInt8] {
        [UInt8](try Fixtures.data("tfchain-metadata-v14.scale"))
    }

    static func metadata() throws -> RuntimeMetadata {
        try RuntimeMetadata(bytes: bytes())
    }
}

/// A small deterministic generator so fuzz-style tests are reproducible (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
