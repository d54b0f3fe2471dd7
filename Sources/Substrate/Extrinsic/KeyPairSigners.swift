import RMBCrypto

/// An ed25519 `ExtrinsicSigner` from a 32-byte seed (Substrate's ed25519 "mini secret").
/// Deterministic: the same payload always gets the same signature.
public struct Ed25519ExtrinsicSigner: ExtrinsicSigner {
    public let accountID: [UInt8]
    public var signatureKind: SignatureKind { .ed25519 }
    private let secretKey: [UInt8]

    public init(seed: [UInt8]) throws(CryptoError) {
        let pair = try Sodium.ed25519KeyPair(seed: seed)
        accountID = pair.publicKey
        secretKey = pair.secretKey
    }

    public func sign(_ payload: [UInt8]) throws -> [UInt8] {
        try Sodium.ed25519Sign(payload, secretKey: secretKey)
    }
}

/// An sr25519 `ExtrinsicSigner` (signing context "substrate"). Signatures are randomized.
public struct Sr25519ExtrinsicSigner: ExtrinsicSigner {
    public var accountID: [UInt8] { keyPair.publicKey }
    public var signatureKind: SignatureKind { .sr25519 }
    private let keyPair: Sr25519KeyPair

    public init(keyPair: Sr25519KeyPair) {
        self.keyPair = keyPair
    }

    public init(miniSecret: [UInt8]) throws(CryptoError) {
        keyPair = try Sr25519KeyPair(miniSecret: miniSecret)
    }

    public func sign(_ payload: [UInt8]) throws -> [UInt8] {
        try keyPair.sign(payload)
    }
}
