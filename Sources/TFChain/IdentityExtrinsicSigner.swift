import RMBIdentity
import RMBProtocol
import Substrate

/// Signs extrinsics with a twin's ``Identity``: the same key that signs its envelopes owns its
/// twin on chain, so `update_twin` is signed by it (sr25519 or ed25519 `MultiSignature`).
public struct IdentityExtrinsicSigner: ExtrinsicSigner {
    public let identity: Identity

    public init(_ identity: Identity) {
        self.identity = identity
    }

    public var accountID: [UInt8] { identity.account.bytes }

    public var signatureKind: SignatureKind {
        switch identity.keyType {
        case .sr25519: .sr25519
        case .ed25519: .ed25519
        }
    }

    public func sign(_ payload: [UInt8]) throws -> [UInt8] {
        try identity.sign(payload).signature
    }
}
