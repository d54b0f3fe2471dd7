/// A Substrate derivation junction (`Alice` in `//Alice`, `42` in `//42`) reduced to the 32-byte
/// chain code that sr25519 and ed25519 hard derivation consume (`sp_core::crypto::DeriveJunction`).
public struct DeriveJunction: Sendable, Equatable {
    /// 32 bytes: the SCALE encoding of the junction, zero-padded, or its BLAKE2b-256 when longer.
    public let chainCode: [UInt8]

    /// Junction text without the leading slashes. Like Substrate, text that parses as a `u64`
    /// is encoded as that integer (8 bytes little-endian); anything else as a SCALE string
    /// (compact length ‖ UTF-8).
    public init(_ text: String) throws(CryptoError) {
        let encoded: [UInt8]
        if let number = Self.parseU64(text) {
            encoded = withUnsafeBytes(of: number.littleEndian) { Array($0) }
        } else {
            let utf8 = Array(text.utf8)
            encoded = Self.scaleCompact(UInt64(utf8.count)) + utf8
        }
        try self.init(encoded: encoded)
    }

    /// A junction from already SCALE-encoded bytes.
    public init(encoded: [UInt8]) throws(CryptoError) {
        if encoded.count > 32 {
            chainCode = try Sodium.blake2b(encoded, outputLength: 32)
        } else {
            chainCode = encoded + [UInt8](repeating: 0, count: 32 - encoded.count)
        }
    }

    /// Rust's `str::parse::<u64>`: ASCII digits with an optional leading `+`, no `-`.
    private static func parseU64(_ text: String) -> UInt64? {
        let digits = text.hasPrefix("+") ? Substring(text.dropFirst()) : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return UInt64(digits)
    }

    /// SCALE compact integer encoding (used here for string length prefixes).
    static func scaleCompact(_ value: UInt64) -> [UInt8] {
        switch value {
        case 0..<(1 << 6):
            return [UInt8(value << 2)]
        case (1 << 6)..<(1 << 14):
            return withUnsafeBytes(of: UInt16(value << 2 | 0b01).littleEndian) { Array($0) }
        case (1 << 14)..<(1 << 30):
            return withUnsafeBytes(of: UInt32(value << 2 | 0b10).littleEndian) { Array($0) }
        default:
            var bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) }
            while bytes.count > 4, bytes.last == 0 { bytes.removeLast() }
            return [UInt8(bytes.count - 4) << 2 | 0b11] + bytes
        }
    }
}
