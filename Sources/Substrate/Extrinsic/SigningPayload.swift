import RMBCrypto

/// What the signer signs: `call ‖ extra ‖ additional signed`, replaced by its blake2_256 when it
/// is longer than 256 bytes (Substrate's `SignedPayload::using_encoded`), so a signature never
/// has to cover an arbitrarily long message.
public struct SigningPayload: Sendable, Hashable {
    /// The unhashed concatenation.
    public let raw: [UInt8]
    /// The bytes handed to the signer: `raw`, or `blake2_256(raw)` when `raw.count > 256`.
    public let message: [UInt8]

    /// The length above which the payload is hashed.
    public static let hashingThreshold = 256

    public init(call: [UInt8], extensions: SignedExtensionParts) throws(ExtrinsicError) {
        raw = call + extensions.extra + extensions.additionalSigned
        message = raw.count > Self.hashingThreshold ? try ExtrinsicHashing.blake2_256(raw) : raw
    }

    public var isHashed: Bool { raw.count > Self.hashingThreshold }
}

/// blake2b with a 32-byte output, with the library's (unexpected) failure as an `ExtrinsicError`.
enum ExtrinsicHashing {
    static func blake2_256(_ bytes: [UInt8]) throws(ExtrinsicError) -> [UInt8] {
        do {
            return try Sodium.blake2b(bytes, outputLength: 32)
        } catch {
            throw .hashingFailed(error.description)
        }
    }
}
