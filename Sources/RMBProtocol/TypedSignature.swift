import Foundation

/// A wire signature: exactly 65 bytes, `type ‖ sig64` (envelope.md §3). The type byte tells the
/// verifier which scheme to apply to the signer's 32-byte account id.
public struct TypedSignature: Hashable, Sendable {
    public let keyType: KeyType
    /// The 64-byte scheme signature (ed25519 `R ‖ S`, or sr25519 `R ‖ s` with the marker bit).
    public let signature: [UInt8]

    public init(keyType: KeyType, signature: [UInt8]) throws(SignatureError) {
        guard signature.count == 64 else { throw .invalidLength(signature.count + 1) }
        self.keyType = keyType
        self.signature = signature
    }

    /// Parses the 65-byte wire form.
    public init(bytes: some Collection<UInt8>) throws(SignatureError) {
        guard bytes.count == 65, let first = bytes.first else { throw .invalidLength(bytes.count) }
        guard let keyType = KeyType(rawValue: first) else { throw .unknownType(first) }
        self.keyType = keyType
        self.signature = Array(bytes.dropFirst())
    }

    /// The 65-byte wire form.
    public var bytes: [UInt8] { [keyType.rawValue] + signature }
}

/// Why a signature was refused. The texts follow the reference where one exists
/// (code 104 `invalid envelope signature: <detail>`).
public enum SignatureError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing
    case invalidLength(Int)
    case unknownType(UInt8)
    case invalidAccount
    case verificationFailed

    public var description: String {
        switch self {
        case .missing: "message is not signed"
        case .invalidLength(let n): "invalid signature length: expected 65 bytes, got \(n)"
        case .unknownType(let b): "unknown signature type byte 0x\(String(b, radix: 16))"
        case .invalidAccount: "signer account is not a valid public key for this signature type"
        case .verificationFailed: "signature does not verify"
        }
    }
}
