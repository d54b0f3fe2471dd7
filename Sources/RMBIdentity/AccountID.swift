/// A tfchain `AccountId32`: the 32 public-key bytes of an sr25519 or ed25519 key, unhashed
/// (identity.md §3). Chain lookups use ``bytes``; people read and type ``ss58`` or hex, so
/// both are accepted by ``init(parsing:)``.
public struct AccountID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32

    /// Exactly 32 bytes (checked by every initializer).
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(AccountIDError) {
        guard bytes.count == Self.byteCount else { throw .wrongLength(bytes.count) }
        self.bytes = bytes
    }

    /// Accepts 64 hex digits (optionally `0x`-prefixed, either case) or a prefix-42 SS58
    /// address. Surrounding whitespace is ignored so values pasted from files work.
    public init(parsing text: String) throws(AccountIDError) {
        let trimmed = Self.trimmingWhitespace(text)
        guard !trimmed.isEmpty else { throw .empty }

        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") {
            self = try Self.fromHex(trimmed.dropFirst(2), original: trimmed)
            return
        }
        let allHex = trimmed.utf8.allSatisfy(Self.isHexDigit)
        if allHex && trimmed.utf8.count == 2 * Self.byteCount {
            self = try Self.fromHex(Substring(trimmed), original: trimmed)
            return
        }
        do {
            self.bytes = try SS58.decode(trimmed)
        } catch {
            // A long run of hex digits was almost certainly meant as hex: report that instead.
            if allHex && trimmed.utf8.count >= 40 {
                throw .invalidHex(Self.excerpt(trimmed), digits: trimmed.utf8.count)
            }
            throw .invalidSS58(Self.excerpt(trimmed), error)
        }
    }

    /// Lowercase hex, no `0x` (the spec's convention).
    public var hex: String {
        var text = ""
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(Self.hexDigits[Int(byte >> 4)])
            text.append(Self.hexDigits[Int(byte & 0x0f)])
        }
        return text
    }

    /// Prefix-42 SS58 address (`5…`). Falls back to `0x`-hex, which ``init(parsing:)`` also
    /// accepts, in the one case SS58 cannot be computed (libsodium unusable), so display
    /// code never has to handle an error.
    public var ss58: String {
        (try? SS58.encode(bytes)) ?? "0x" + hex
    }

    public var description: String { ss58 }

    // MARK: Helpers (private so other files of this module can define their own hex tools)

    private static let hexDigits: [Character] = Array("0123456789abcdef")

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    private static func fromHex(_ digits: Substring, original: String) throws(AccountIDError) -> AccountID {
        let utf8 = Array(digits.utf8)
        guard utf8.count == 2 * byteCount else { throw .invalidHex(excerpt(original), digits: utf8.count) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount)
        var index = 0
        while index < utf8.count {
            guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else {
                throw .invalidHex(excerpt(original), digits: utf8.count)
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return try AccountID(bytes: bytes)
    }

    private static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// Inputs are echoed in errors; cap them so a pasted blob does not flood the terminal.
    private static func excerpt(_ text: String) -> String {
        text.count <= 80 ? text : String(text.prefix(77)) + "..."
    }
}

extension AccountID: Codable {
    /// Encoded as lowercase hex (unambiguous for machines); decoding accepts hex or SS58.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Why a value is not an account id. Descriptions are single lines suitable for CLI output.
public enum AccountIDError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    /// Raw bytes were not 32 long.
    case wrongLength(Int)
    /// Looked like hex but is not exactly 64 hex digits; `digits` is the count after `0x`.
    case invalidHex(String, digits: Int)
    /// Neither hex nor a valid prefix-42 SS58 address.
    case invalidSS58(String, SS58Error)

    public var description: String {
        switch self {
        case .empty:
            "empty account id: expected 64 hex digits or an SS58 address"
        case let .wrongLength(count):
            "account id must be 32 bytes, got \(count)"
        case let .invalidHex(text, digits):
            "invalid hex account id \(String(reflecting: text)): expected 64 hex digits (optionally 0x-prefixed), got \(digits) characters"
        case let .invalidSS58(text, error):
            "invalid account id \(String(reflecting: text)): not 64 hex digits, and not an SS58 address: \(error.description)"
        }
    }
}
