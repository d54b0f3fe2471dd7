import RMBIdentity
import Substrate
import TwinDirectory

/// The on-chain `pallet_tfgrid::types::Twin<AccountId32>` (twins.md §1), field for field.
///
/// Kept separate from ``Twin`` (what RMB uses) because the chain's raw relay field must be
/// preserved exactly when we rewrite a record, and `entities` must be decoded to reach `pk`.
public struct TwinRecord: Sendable, Hashable {
    /// `BoundedVec<u8, 1024>` on chain.
    public static let maximumRelayFieldLength = 1024
    /// `BoundedVec<u8, 128>` on chain.
    public static let maximumPublicKeyLength = 128

    public struct EntityProof: Sendable, Hashable {
        public var entityID: UInt32
        public var signature: [UInt8]

        public init(entityID: UInt32, signature: [UInt8]) {
            self.entityID = entityID
            self.signature = signature
        }
    }

    public var id: UInt32
    public var account: AccountID
    /// The raw relay field (`_`-joined host names), `nil` when unset.
    public var relayField: [UInt8]?
    public var entities: [EntityProof]
    /// Raw e2e public key bytes (normally 33 bytes), `nil` when unset.
    public var publicKey: [UInt8]?

    public init(id: UInt32, account: AccountID, relayField: [UInt8]?, entities: [EntityProof] = [], publicKey: [UInt8]?) {
        self.id = id
        self.account = account
        self.relayField = relayField
        self.entities = entities
        self.publicKey = publicKey
    }

    /// Decodes a record, requiring that it uses every byte.
    public init(scale bytes: [UInt8]) throws(TwinRecordError) {
        var decoder = ScaleDecoder(bytes)
        do {
            self = try Self.decode(from: &decoder)
            try decoder.requireEnd()
        } catch {
            throw .malformed(error)
        }
    }

    /// Decodes a record from the middle of a larger value (e.g. the field of a `TwinUpdated` event).
    public static func decode(from decoder: inout ScaleDecoder) throws(ScaleError) -> TwinRecord {
        let id = try decoder.decodeU32()
        let accountBytes = try decoder.readBytes(AccountID.byteCount)
        // 32 bytes always make an AccountID; the guard only satisfies the type checker.
        guard let account = try? AccountID(bytes: accountBytes) else { throw .unsupportedType("account id") }
        let relay = try decoder.decodeOption { (d: inout ScaleDecoder) throws(ScaleError) in
            try d.decodeBytes(maximumLength: maximumRelayFieldLength)
        }
        let count = try decoder.decodeLength(minimumItemSize: 5)
        var entities: [EntityProof] = []
        entities.reserveCapacity(count)
        for _ in 0..<count {
            let entityID = try decoder.decodeU32()
            let signature = try decoder.decodeBytes()
            entities.append(EntityProof(entityID: entityID, signature: signature))
        }
        let publicKey = try decoder.decodeOption { (d: inout ScaleDecoder) throws(ScaleError) in
            try d.decodeBytes(maximumLength: maximumPublicKeyLength)
        }
        return TwinRecord(id: id, account: account, relayField: relay, entities: entities, publicKey: publicKey)
    }

    /// SCALE encoding, as the chain stores it.
    public var scaleBytes: [UInt8] {
        var encoder = ScaleEncoder()
        encoder.encode(id)
        encoder.append(account.bytes)
        encoder.encodeOptionalBytes(relayField)
        encoder.encodeCompact(UInt64(entities.count))
        for entity in entities {
            encoder.encode(entity.entityID)
            encoder.encodeBytes(entity.signature)
        }
        encoder.encodeOptionalBytes(publicKey)
        return encoder.bytes
    }

    /// The relay field as text, if it is valid UTF-8.
    public var relayText: String? {
        relayField.flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// What RMB uses: relays parsed from the field (twins.md §1), the key as-is.
    public var twin: Twin {
        Twin(id: id, account: account,
             relays: relayText.map(RelayAddress.parseChainRelayField) ?? [],
             e2ePublicKey: publicKey)
    }
}

public enum TwinRecordError: Error, Sendable, CustomStringConvertible {
    case malformed(ScaleError)

    public var description: String {
        switch self {
        case .malformed(let error): "malformed twin record: \(error)"
        }
    }
}
