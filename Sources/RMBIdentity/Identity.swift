import RMBCrypto
import RMBProtocol

/// A twin's keys, all derived from one mini secret (identity.md): the signing key (sr25519 or
/// ed25519; its public key is the chain account id) and the secp256k1 e2e key.
public struct Identity: Sendable {
    public let keyType: KeyType
    public let account: AccountID
    public let e2eKey: Secp256k1SecretKey
    private let signer: Signer

    private enum Signer: Sendable {
        case sr25519(Sr25519KeyPair)
        case ed25519(secretKey: [UInt8])
    }

    public init(secret: MiniSecret, keyType: KeyType) throws(IdentityError) {
        self.keyType = keyType
        do {
            switch keyType {
            case .sr25519:
                let pair = try Sr25519KeyPair(miniSecret: secret.bytes)
                signer = .sr25519(pair)
                account = try AccountID(bytes: pair.publicKey)
            case .ed25519:
                let pair = try Sodium.ed25519KeyPair(seed: secret.bytes)
                signer = .ed25519(secretKey: pair.secretKey)
                account = try AccountID(bytes: pair.publicKey)
            }
            e2eKey = try Secp256k1SecretKey(secret.bytes)
        } catch let error as CryptoError {
            throw .keyDerivation(error.description)
        } catch {
            throw .keyDerivation(String(describing: error))
        }
    }

    /// From a mnemonic or a `0x` hex seed (the peer's `--mnemonic`).
    public init(parsing secret: String, keyType: KeyType) throws(IdentityError) {
        do {
            try self.init(secret: MiniSecret(parsing: secret), keyType: keyType)
        } catch let error as SecretError {
            throw .secret(error)
        } catch let error as IdentityError {
            throw error
        } catch {
            throw .keyDerivation(String(describing: error))
        }
    }

    /// The 33-byte compressed secp256k1 public key published as the twin's `pk`.
    public var e2ePublicKey: [UInt8] { e2eKey.compressedPublicKey }

    /// Signs raw bytes (the 16-byte envelope digest, or a JWT signing input) in wire form.
    public func sign(_ message: [UInt8]) throws(IdentityError) -> TypedSignature {
        do {
            switch signer {
            case .sr25519(let pair):
                return try TypedSignature(keyType: .sr25519, signature: pair.sign(message))
            case .ed25519(let secretKey):
                return try TypedSignature(keyType: .ed25519, signature: Sodium.ed25519Sign(message, secretKey: secretKey))
            }
        } catch let error as CryptoError {
            throw .signing(error.description)
        } catch {
            throw .signing(String(describing: error))
        }
    }
}

public enum IdentityError: Error, Equatable, Sendable, CustomStringConvertible {
    case secret(SecretError)
    case keyDerivation(String)
    case signing(String)

    public var description: String {
        switch self {
        case .secret(let e): e.description
        case .keyDerivation(let d): "failed to derive keys: \(d)"
        case .signing(let d): "failed to sign: \(d)"
        }
    }
}

/// Signature checks against a twin's 32-byte account id, dispatched on the type byte.
public enum SignatureVerifier {
    public static func verify(_ signature: TypedSignature, message: [UInt8], account: AccountID) -> Bool {
        switch signature.keyType {
        case .ed25519: Sodium.ed25519Verify(signature.signature, message: message, publicKey: account.bytes)
        case .sr25519: Sr25519.verify(signature: signature.signature, message: message, publicKey: account.bytes)
        }
    }

    /// One signature to check: what was signed, and by which account.
    public struct Check: Sendable {
        public var signature: TypedSignature
        public var message: [UInt8]
        public var account: AccountID

        public init(signature: TypedSignature, message: [UInt8], account: AccountID) {
            self.signature = signature
            self.message = message
            self.account = account
        }
    }

    /// sr25519 signatures in a batch of at least this many are checked together
    /// (``Sr25519/verifyBatch(_:)``); below it, one by one is as cheap.
    public static let batchThreshold = 4

    /// Each check's outcome, in order, as ``verify(_:message:account:)`` would give it. The
    /// sr25519 ones are checked together when there are at least ``batchThreshold``; should
    /// that fail, one by one, to find which (so a forged signature costs its batch a second pass,
    /// never a wrong outcome for the others).
    public static func verify(_ checks: [Check]) -> [Bool] {
        let sr25519 = checks.filter { $0.signature.keyType == .sr25519 }
        let batchPassed = sr25519.count >= batchThreshold && Sr25519.verifyBatch(sr25519.map {
            Sr25519.SignedMessage(signature: $0.signature.signature, message: $0.message, publicKey: $0.account.bytes)
        })
        return checks.map { check in
            (batchPassed && check.signature.keyType == .sr25519)
                || verify(check.signature, message: check.message, account: check.account)
        }
    }
}
