/// Errors raised by the cryptographic primitives. Messages are meant for logs and CLI output.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An input had the wrong size (keys, seeds, scalars, signatures…).
    case invalidLength(what: String, expected: Int, got: Int)
    /// A byte string is not a valid curve point / public key.
    case invalidPoint
    /// A secret scalar is zero or not below the curve order.
    case invalidSecretKey
    /// Authenticated decryption failed: wrong key, tampered data or truncated payload.
    case decryptionFailed
    /// The C library reported a failure we do not expect in normal operation.
    case libraryFailure(String)

    public var description: String {
        switch self {
        case let .invalidLength(what, expected, got): "invalid \(what) length: expected \(expected) bytes, got \(got)"
        case .invalidPoint: "invalid public key or curve point"
        case .invalidSecretKey: "invalid secret key"
        case .decryptionFailed: "invalid cipher data"
        case let .libraryFailure(what): "crypto library failure: \(what)"
        }
    }
}
