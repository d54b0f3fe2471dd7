import RMBCrypto

/// SS58 addresses for Substrate's generic prefix 42 (identity.md §3), the `5…` strings
/// people paste. Chain queries use the raw 32 bytes; SS58 is only a display and input form,
/// so this supports exactly one network prefix and 32-byte account ids.
public enum SS58 {
    /// The generic Substrate network prefix used by tfchain.
    public static let substratePrefix: UInt8 = 42

    /// Longest text worth decoding; real prefix-42 addresses are 47–48 characters. Bounding
    /// the input keeps the quadratic base58 decoder cheap on hostile input.
    static let maximumTextLength = 64

    /// `base58(0x2a ‖ accountID ‖ blake2b512("SS58PRE" ‖ 0x2a ‖ accountID)[0..<2])`.
    /// Fails only for a wrong length or when libsodium is unusable.
    public static func encode(_ accountID: [UInt8]) throws(SS58Error) -> String {
        guard accountID.count == 32 else { throw .wrongAccountLength(accountID.count) }
        let body = [substratePrefix] + accountID
        return Base58.encode(body + (try checksum(body)))
    }

    /// Decodes a prefix-42 address to its 32 account bytes, checking length, checksum and
    /// prefix (in that order, so a valid address from another network says so).
    public static func decode(_ text: String) throws(SS58Error) -> [UInt8] {
        let characters = text.unicodeScalars.count
        guard characters <= maximumTextLength else { throw .tooLong(characters: characters) }
        let raw: [UInt8]
        do { raw = try Base58.decode(text) } catch { throw .invalidBase58(error) }

        // Prefixes 0...63 take one byte, 64...16383 two bytes (bit 6 of the first byte set).
        guard let first = raw.first else { throw .wrongLength(0) }
        let prefixLength = first < 64 ? 1 : 2
        guard first < 128, raw.count == prefixLength + 32 + 2 else { throw .wrongLength(raw.count) }

        let body = Array(raw[..<(raw.count - 2)])
        guard try checksum(body) == Array(raw[(raw.count - 2)...]) else { throw .badChecksum }

        let prefix: UInt16 = prefixLength == 1
            ? UInt16(first)
            : (UInt16(first & 0x3f) << 2) | (UInt16(raw[1]) >> 6) | (UInt16(raw[1] & 0x3f) << 8)
        guard prefix == UInt16(substratePrefix) else { throw .wrongPrefix(prefix) }
        return Array(body[prefixLength...])
    }

    private static let checksumContext: [UInt8] = Array("SS58PRE".utf8)

    private static func checksum(_ body: [UInt8]) throws(SS58Error) -> [UInt8] {
        do {
            return Array(try Sodium.blake2b(checksumContext + body, outputLength: 64).prefix(2))
        } catch {
            throw .hashUnavailable(error.description)
        }
    }
}

/// Why a value is not a prefix-42 SS58 address.
public enum SS58Error: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLong(characters: Int)
    case invalidBase58(Base58Error)
    /// Decoded byte count that does not fit prefix ‖ 32-byte key ‖ 2-byte checksum.
    case wrongLength(Int)
    case badChecksum
    /// A valid address for another network (e.g. 0 = Polkadot, 2 = Kusama).
    case wrongPrefix(UInt16)
    /// ``SS58/encode(_:)`` was given something other than 32 bytes.
    case wrongAccountLength(Int)
    case hashUnavailable(String)

    public var description: String {
        switch self {
        case let .tooLong(characters): "too long for an SS58 address (\(characters) characters)"
        case let .invalidBase58(error): error.description
        case let .wrongLength(count): "decodes to \(count) bytes, not a 32-byte account address"
        case .badChecksum: "checksum mismatch (typo?)"
        case let .wrongPrefix(prefix): "network prefix \(prefix), expected \(SS58.substratePrefix)"
        case let .wrongAccountLength(count): "account id must be 32 bytes, got \(count)"
        case let .hashUnavailable(reason): "cannot compute SS58 checksum: \(reason)"
        }
    }
}
