import RMBCrypto

/// The hashers a storage map can declare for its keys (metadata V14 `StorageHasher`, in its
/// SCALE order). The `Concat` and `identity` forms keep the key readable after the hash, which
/// is what lets a client iterate a map; the others only locate one value.
public enum StorageHasher: UInt8, Sendable, Hashable, CaseIterable {
    case blake2_128 = 0
    case blake2_256 = 1
    case blake2_128Concat = 2
    case twox128 = 3
    case twox256 = 4
    case twox64Concat = 5
    case identity = 6

    /// The hashed form of an already SCALE-encoded key, as it appears inside a storage key.
    public func hash(_ key: [UInt8]) -> [UInt8] {
        switch self {
        case .blake2_128: Self.blake2(key, outputLength: 16)
        case .blake2_256: Self.blake2(key, outputLength: 32)
        case .blake2_128Concat: Self.blake2(key, outputLength: 16) + key
        case .twox128: Self.twox(key, lanes: 2)
        case .twox256: Self.twox(key, lanes: 4)
        case .twox64Concat: Self.twox(key, lanes: 1) + key
        case .identity: key
        }
    }

    /// `xxh64(seed 0) ‖ xxh64(seed 1) ‖ …`, each little-endian.
    static func twox(_ data: [UInt8], lanes: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 * lanes)
        for seed in 0..<UInt64(lanes) {
            withUnsafeBytes(of: XXHash64.hash(data, seed: seed).littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// BLAKE2b with a fixed, valid output length: libsodium can then only fail if it could not
    /// initialise at all, which no input can cause and no caller could recover from.
    private static func blake2(_ data: [UInt8], outputLength: Int) -> [UInt8] {
        do {
            return try Sodium.blake2b(data, outputLength: outputLength)
        } catch {
            preconditionFailure("BLAKE2b unavailable: \(error)")
        }
    }
}
