/// Why a signed extrinsic could not be built. Every case names the offending input, because a
/// wrong byte here surfaces on chain only as an opaque "bad signature" or "invalid transaction".
public enum ExtrinsicError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The runtime lists a signed extension this builder cannot fill, and it carries data
    /// (an empty unknown extension is accepted and contributes nothing).
    case unsupportedSignedExtension(String)
    /// A known extension's metadata shape (which parts are empty) differs from what the builder
    /// would write, so the runtime would decode the extrinsic differently than it was signed.
    case signedExtensionShapeMismatch(identifier: String, part: String, metadataSaysEmpty: Bool)
    /// A hash, account id or signature had the wrong size.
    case invalidLength(what: String, expected: Int, got: Int)
    /// Two bytes that are not a valid `Era` (period below 4 or phase not below the period).
    case invalidEra([UInt8])
    /// The signer refused or failed to sign the payload.
    case signingFailed(String)
    /// blake2b failed (only if the crypto library itself fails).
    case hashingFailed(String)

    public var description: String {
        switch self {
        case .unsupportedSignedExtension(let name):
            "unsupported signed extension \(name): the runtime expects data for it that this client does not know how to provide"
        case .signedExtensionShapeMismatch(let identifier, let part, let empty):
            "signed extension \(identifier): metadata says its \(part) is \(empty ? "empty" : "not empty"), which this client does not expect"
        case .invalidLength(let what, let expected, let got):
            "invalid \(what) length: expected \(expected) bytes, got \(got)"
        case .invalidEra(let bytes):
            "invalid era encoding \(bytes.map { String($0, radix: 16) })"
        case .signingFailed(let reason):
            "signing the extrinsic failed: \(reason)"
        case .hashingFailed(let reason):
            "hashing failed: \(reason)"
        }
    }
}
