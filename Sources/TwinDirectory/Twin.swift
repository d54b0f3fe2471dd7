import RMBIdentity

/// What RMB needs from a tfchain twin record (twins.md §1): who it is, where it connects,
/// and the key to encrypt for. `entities` is not kept: RMB never uses it.
public struct Twin: Sendable, Hashable {
    /// Twin id; 0 is never a real twin.
    public var id: UInt32
    /// The sr25519 or ed25519 public key that signs for this twin.
    public var account: AccountID
    /// Relays the twin is reachable through, in record order, without duplicates expected.
    public var relays: [RelayAddress]
    /// Raw e2e public key, normally a 33-byte compressed secp256k1 point; `nil` means
    /// messages to this twin are sent unencrypted (e2e.md).
    public var e2ePublicKey: [UInt8]?

    public init(id: UInt32, account: AccountID, relays: [RelayAddress] = [], e2ePublicKey: [UInt8]? = nil) {
        self.id = id
        self.account = account
        self.relays = relays
        self.e2ePublicKey = e2ePublicKey
    }
}

extension Twin: Codable {
    private enum CodingKeys: String, CodingKey { case id, account, relays, pk }

    /// JSON-friendly form: `{"id": 7, "account": "<hex>", "relays": ["…"], "pk": "<hex>" | null}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UInt32.self, forKey: .id)
        account = try container.decode(AccountID.self, forKey: .account)
        relays = try container.decodeIfPresent([RelayAddress].self, forKey: .relays) ?? []
        if let text = try container.decodeIfPresent(String.self, forKey: .pk) {
            guard let bytes = Hex.decode(text) else {
                throw DecodingError.dataCorruptedError(forKey: .pk, in: container, debugDescription: "pk is not hex")
            }
            e2ePublicKey = bytes
        } else {
            e2ePublicKey = nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(account, forKey: .account)
        try container.encode(relays, forKey: .relays)
        try container.encode(e2ePublicKey.map(Hex.encode), forKey: .pk)
    }
}
