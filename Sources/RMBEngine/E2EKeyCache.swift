import RMBCrypto
import RMBIdentity
import TwinDirectory

/// Per-pair AES keys. The ECDH (≈50 µs) is done once per (twin, pk); a changed `pk` on the
/// twin record gives a new key automatically because the pk is part of the cache key.
public actor E2EKeyCache {
    private struct Key: Hashable { let twin: UInt32; let publicKey: [UInt8] }

    private let ownKey: Secp256k1SecretKey
    private var ciphers: [Key: E2ECipher] = [:]
    private let capacity: Int

    public init(ownKey: Secp256k1SecretKey, capacity: Int = 4096) {
        self.ownKey = ownKey
        self.capacity = capacity
    }

    /// The cipher for messages with `twin`, or nil when the twin publishes no e2e key.
    public func cipher(for twin: Twin) throws(E2EError) -> E2ECipher? {
        guard let publicKey = twin.e2ePublicKey else { return nil }
        let key = Key(twin: twin.id, publicKey: publicKey)
        if let cipher = ciphers[key] { return cipher }
        let cipher = try E2ECipher(ownKey: ownKey, peerPublicKey: publicKey)
        if ciphers.count >= capacity { ciphers.removeAll(keepingCapacity: true) }
        ciphers[key] = cipher
        return cipher
    }
}
