import Foundation
import RMBTestSupport
import Substrate
import Testing

/// Metadata and events come from a remote node: malformed input must throw, quickly, and never
/// crash, recurse without bound or allocate in proportion to a forged length.
@Suite struct MetadataRobustnessTests {
    @Test func truncatedMetadataThrows() throws {
        let bytes = try MetadataSnapshot.bytes()
        var cuts = Array(0..<64) + Array(stride(from: 64, to: bytes.count, by: 211)) + Array((bytes.count - 64)..<bytes.count)
        cuts.removeAll { $0 >= bytes.count }
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for cut in cuts {
                #expect(throws: MetadataError.self, "cut at \(cut)") { try RuntimeMetadata(bytes: Array(bytes[..<cut])) }
            }
        }
        #expect(elapsed < .seconds(30))
    }

    /// A flipped byte may land in a doc string and leave valid metadata; either way no crash.
    @Test func flippedBytesThrowOrParse() throws {
        let original = try MetadataSnapshot.bytes()
        var generator = SeededGenerator(state: 0x5EED)
        var failures = 0
        for _ in 0..<150 {
            var bytes = original
            let position = Int.random(in: 5..<bytes.count, using: &generator)
            bytes[position] ^= UInt8.random(in: 1...255, using: &generator)
            do {
                let metadata = try RuntimeMetadata(bytes: bytes)
                _ = metadata.signedExtensions
                _ = try? EventDecoder(metadata: metadata)
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0)
    }

    @Test func garbageAfterAValidHeaderThrows() {
        var generator = SeededGenerator(state: 42)
        for length in [0, 1, 2, 5, 17, 100, 1000, 10_000] {
            for _ in 0..<8 {
                let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                #expect(throws: MetadataError.self) { try RuntimeMetadata(bytes: [0x6D, 0x65, 0x74, 0x61, 14] + garbage) }
                #expect(throws: MetadataError.self) { try RuntimeMetadata(bytes: garbage) }
            }
        }
    }

    /// A huge forged count (2^30 types) is refused before any allocation.
    @Test func forgedCountsAreBounded() {
        var encoder = ScaleEncoder()
        encoder.append([0x6D, 0x65, 0x74, 0x61, 14])
        encoder.encodeCompact(1 << 30)
        encoder.append([UInt8](repeating: 0, count: 64))
        #expect(throws: MetadataError.self) { try RuntimeMetadata(bytes: encoder.bytes) }
    }

    @Test func eventDecoderSurvivesMutations() throws {
        let decoder = try EventDecoder(metadata: MetadataSnapshot.metadata())
        let hex = try #require(String(data: Fixtures.data("tfchain/events-twin-updated.hex"), encoding: .utf8))
        let original = [UInt8](testHex: hex.trimmingCharacters(in: .whitespacesAndNewlines))
        var generator = SeededGenerator(state: 7)
        for _ in 0..<2000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? decoder.decode(bytes)
        }
        for length in [1, 2, 8, 64, 512, 4096] {
            for _ in 0..<20 {
                _ = try? decoder.decode((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
        }
        // A forged event count with no records behind it.
        #expect(throws: ScaleError.self) { try decoder.decode([0xFE, 0xFF, 0xFF, 0xFF]) }
    }

    // MARK: Hostile registries

    /// Minimal V14 metadata: the given types, no pallets, extrinsic and runtime types `anchor`.
    static func metadata(types: [(id: UInt32, definition: [UInt8])], anchor: UInt32) -> [UInt8] {
        var encoder = ScaleEncoder()
        encoder.append([0x6D, 0x65, 0x74, 0x61, 14])
        encoder.encodeCompact(UInt64(types.count))
        for type in types {
            encoder.encodeCompact(UInt64(type.id))
            encoder.encodeCompact(0)  // path
            encoder.encodeCompact(0)  // params
            encoder.append(type.definition)
            encoder.encodeCompact(0)  // docs
        }
        encoder.encodeCompact(0)  // pallets
        encoder.encodeCompact(UInt64(anchor))
        encoder.encode(UInt8(4))
        encoder.encodeCompact(0)  // signed extensions
        encoder.encodeCompact(UInt64(anchor))
        return encoder.bytes
    }

    /// Composite with one unnamed field of `type`.
    static func wrapper(_ type: UInt8) -> [UInt8] { [0, 4, 0, type << 2, 0, 0] }

    @Test func selfReferentialTypeIsBoundedBySkipDepth() throws {
        // 0: u8, 1: struct { 1 } (infinite), 2: Vec<2> (recursive but finite), 3: ()
        let bytes = Self.metadata(types: [
            (0, [5, 3]),
            (1, Self.wrapper(1)),
            (2, [2, 2 << 2]),
            (3, [4, 0]),
        ], anchor: 0)
        let metadata = try RuntimeMetadata(bytes: bytes)
        #expect(!metadata.types.encodesToZeroBytes(1))
        #expect(metadata.types.encodesToZeroBytes(3))
        var decoder = ScaleDecoder([1, 2, 3])
        #expect(throws: ScaleError.self) { try metadata.types.skipValue(of: 1, in: &decoder) }

        // vec![vec![vec![…]]] nested 10 deep is fine; 100 deep is refused, not a stack overflow.
        var nested = ScaleDecoder([UInt8](repeating: 4, count: 10) + [0])
        try metadata.types.skipValue(of: 2, in: &nested)
        #expect(nested.isAtEnd)
        var deep = ScaleDecoder([UInt8](repeating: 4, count: 100) + [0])
        #expect(throws: ScaleError.self) { try metadata.types.skipValue(of: 2, in: &deep) }
    }

    @Test func hugeArraysOfEmptyValuesCostNothing() throws {
        // 0: (), 1: [(); 2^32 - 1], 2: Vec<()>, 3: [u8; 2^32 - 1]
        let bytes = Self.metadata(types: [
            (0, [4, 0]),
            (1, [3, 0xFF, 0xFF, 0xFF, 0xFF, 0]),
            (2, [2, 0]),
            (3, [3, 0xFF, 0xFF, 0xFF, 0xFF, 4 << 2]),
            (4, [5, 3]),
        ], anchor: 0)
        let metadata = try RuntimeMetadata(bytes: bytes)
        #expect(metadata.types.encodesToZeroBytes(1))
        var decoder = ScaleDecoder([0xFE, 0xFF, 0xFF, 0xFF])
        try metadata.types.skipValue(of: 1, in: &decoder)
        #expect(decoder.offset == 0)
        try metadata.types.skipValue(of: 2, in: &decoder)  // Vec<()> with 2^30 - 1 items
        #expect(decoder.isAtEnd)
        var short = ScaleDecoder([1, 2, 3])
        #expect(throws: ScaleError.self) { try metadata.types.skipValue(of: 3, in: &short) }
    }

    @Test func longTypeChainDoesNotOverflowTheStack() throws {
        // 0: (), and 1…20000 each a struct holding the previous one: all zero-sized.
        var types: [(id: UInt32, definition: [UInt8])] = [(0, [4, 0])]
        for id in 1...20_000 {
            var encoder = ScaleEncoder()
            encoder.append([0, 4, 0])
            encoder.encodeCompact(UInt64(id - 1))
            encoder.append([0, 0])
            types.append((UInt32(id), encoder.bytes))
        }
        let metadata = try RuntimeMetadata(bytes: Self.metadata(types: types, anchor: 0))
        #expect(metadata.types.encodesToZeroBytes(20_000))
    }

    @Test func unknownTypeReferencesAreRefused() {
        #expect(throws: MetadataError.unknownType(9, context: "type 1")) {
            try RuntimeMetadata(bytes: Self.metadata(types: [(0, [5, 3]), (1, Self.wrapper(9))], anchor: 0))
        }
        #expect(throws: MetadataError.self) { try RuntimeMetadata(bytes: Self.metadata(types: [(0, [5, 3])], anchor: 5)) }
        #expect(throws: MetadataError.duplicateType(0)) { try RuntimeMetadata(bytes: Self.metadata(types: [(0, [5, 3]), (0, [5, 3])], anchor: 0)) }
    }

    @Test func allPrimitivesAndCompactsSkip() throws {
        // 0…14: every primitive; 15: Compact<u128>; 16: BitVec<u8, 0>; 17: BitVec<u32, 0>
        var types: [(id: UInt32, definition: [UInt8])] = (0...14).map { (UInt32($0), [5, UInt8($0)]) }
        types.append((15, [6, 7 << 2]))
        types.append((16, [7, 3 << 2, 0]))
        types.append((17, [7, 5 << 2, 0]))
        let metadata = try RuntimeMetadata(bytes: Self.metadata(types: types, anchor: 0))
        let sizes: [Int] = [1, 4, -1, 1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32]
        for (id, size) in sizes.enumerated() where size > 0 {
            var decoder = ScaleDecoder([UInt8](repeating: 0, count: size + 1))
            try metadata.types.skipValue(of: UInt32(id), in: &decoder)
            #expect(decoder.remaining == 1, "primitive \(id)")
        }
        var string = ScaleDecoder([3 << 2, 0x61, 0x62, 0x63, 9])
        try metadata.types.skipValue(of: 2, in: &string)
        #expect(string.remaining == 1)
        // Compact<u128> in big-integer mode: 16 payload bytes.
        var big = ScaleDecoder([(16 - 4) << 2 | 0b11] + [UInt8](repeating: 0xFF, count: 16) + [9])
        #expect(try metadata.types.valueBytes(of: 15, in: &big).count == 17)
        #expect(big.remaining == 1)
        // 10 bits of u8 words: 2 bytes; 33 bits of u32 words: 8 bytes.
        var bits8 = ScaleDecoder([10 << 2, 0xFF, 0x03, 9])
        try metadata.types.skipValue(of: 16, in: &bits8)
        #expect(bits8.remaining == 1)
        var bits32 = ScaleDecoder([33 << 2] + [UInt8](repeating: 0, count: 8) + [9])
        try metadata.types.skipValue(of: 17, in: &bits32)
        #expect(bits32.remaining == 1)
        var forgedBits = ScaleDecoder([0b11 | (4 << 2)] + [UInt8](repeating: 0xFF, count: 8))
        #expect(throws: ScaleError.self) { try metadata.types.skipValue(of: 16, in: &forgedBits) }
    }
}

extension MetadataRobustnessTests {
    /// A struct of 5000 empty fields and one byte, in a list of 60000: the empty fields are
    /// dropped when the registry is built, so skipping costs per byte, not per declared field.
    @Test func wideStructsOfEmptyFieldsStayCheap() throws {
        var composite = ScaleEncoder()
        composite.encode(UInt8(0))
        composite.encodeCompact(5001)
        for _ in 0..<5000 { composite.append([0, 0, 0, 0]) }  // unnamed field of type 0 (), no docs
        composite.append([0, 1 << 2, 0, 0])  // unnamed field of type 1 (u8)
        let bytes = Self.metadata(types: [(0, [4, 0]), (1, [5, 3]), (2, composite.bytes), (3, [2, 2 << 2])], anchor: 0)
        let metadata = try RuntimeMetadata(bytes: bytes)

        var value = ScaleEncoder()
        value.encodeCompact(60_000)
        value.append([UInt8](repeating: 7, count: 60_000))
        var decoder = ScaleDecoder(value.bytes)
        let elapsed = try ContinuousClock().measure { try metadata.types.skipValue(of: 3, in: &decoder) }
        #expect(decoder.isAtEnd)
        #expect(elapsed < .seconds(2))
    }
}
