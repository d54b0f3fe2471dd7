import RMBCrypto
import RMBIdentity
import Synchronization
import TwinDirectory

/// Per-pair AES keys. The ECDH (≈50 µs) is done once per (twin, pk); a changed `pk` on the
/// twin record gives a new key automatically because the pk is part of the cache key.
///
/// A lock, not an actor: every envelope sent or received asks for its cipher, and a hit is one
/// dictionary look-up that should not cost a hop to another executor. The ECDH of a miss runs
/// outside the lock; two callers missing the same key at once both compute it (the same key).
public final class E2EKeyCache: Sendable {
    private struct Key: Hashable { let twin: UInt32; let publicKey: [UInt8] }

    private let ownKey: Secp256k1SecretKey
    private let ciphers = Mutex<[Key: E2ECipher]>([:])
    private let capacity: Int

    public init(ownKey: Secp256k1SecretKey, capacity: Int = 4096) {
        self.ownKey = ownKey
        self.capacity = max(1, capacity)
    }

    /// The cipher for messages with `twin`, or nil when the twin publishes no e2e key.
    public func cipher(for twin: Twin) throws(E2EError) -> E2ECipher? {
        guard let publicKey = twin.e2ePublicKey else { return nil }
        let key = Key(twin: twin.id, publicKey: publicKey)
        if let cipher = ciphers.withLock({ $0[key] }) { return cipher }
        let cipher = try E2ECipher(ownKey: ownKey, peerPublicKey: publicKey)
        ciphers.withLock { ciphers in
            if ciphers.count >= capacity { ciphers.removeAll(keepingCapacity: true) }
            ciphers[key] = cipher
        }
        return cipher
    }
}
