/// The signature schemes an extrinsic can carry, with their `MultiSignature` variant index
/// (`sp_runtime::MultiSignature`: Ed25519 = 0, Sr25519 = 1; Ecdsa = 2 is not used by RMB twins).
public enum SignatureKind: UInt8, Sendable, Hashable, CaseIterable {
    case ed25519 = 0
    case sr25519 = 1

    /// The byte written before the 64 signature bytes.
    public var multiSignatureIndex: UInt8 { rawValue }
}

/// Whoever signs an extrinsic: the account it is sent from and a signing function.
///
/// A protocol so that the builder needs no key material (the peer's identity keeps it) and tests
/// can record what was signed.
public protocol ExtrinsicSigner: Sendable {
    /// The 32-byte AccountId32, i.e. the ed25519 or sr25519 public key.
    var accountID: [UInt8] { get }
    var signatureKind: SignatureKind { get }
    /// Signs `payload` as given (the builder has already hashed a payload longer than 256
    /// bytes) and returns the 64-byte signature.
    func sign(_ payload: [UInt8]) throws -> [UInt8]
}
