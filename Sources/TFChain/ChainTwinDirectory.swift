import RMBIdentity
import Substrate
import TwinDirectory

/// Twins read straight from tfchain storage at the best block (twins.md §2).
///
/// No caching here: put a ``CachedTwinDirectory`` (peer) or the relay's cache in front.
/// A missing entry is a normal `nil`; undecodable data is a thrown error, never "not found".
public struct ChainTwinDirectory: TwinDirectory {
    static let pallet = "TfgridModule"
    private let storage: any ChainStorageReading

    public init(storage: any ChainStorageReading) {
        self.storage = storage
    }

    /// Storage key of `TfgridModule.Twins(id)`.
    public static func twinKey(id: UInt32) -> [UInt8] {
        var encoder = ScaleEncoder()
        encoder.encode(id)
        return StorageKey.map(pallet: pallet, item: "Twins", hasher: .blake2_128Concat, key: encoder.bytes)
    }

    /// Storage key of `TfgridModule.TwinIdByAccountID(account)`.
    public static func twinIDKey(account: AccountID) -> [UInt8] {
        StorageKey.map(pallet: pallet, item: "TwinIdByAccountID", hasher: .blake2_128Concat, key: account.bytes)
    }

    public func twin(id: UInt32) async throws -> Twin? {
        try await record(id: id)?.twin
    }

    /// The full on-chain record (with the raw relay field), or `nil` if there is no such twin.
    public func record(id: UInt32, at block: [UInt8]? = nil) async throws -> TwinRecord? {
        guard let bytes = try await storage.storageValue(key: Self.twinKey(id: id), at: block) else { return nil }
        let record: TwinRecord
        do { record = try TwinRecord(scale: bytes) } catch {
            // A runtime upgrade that changed the Twin type is named as such (from the live
            // metadata), not reported as a bad value.
            try await storage.explainUndecodableValue()
            throw TFChainError.inconsistentRecord("twin \(id) does not decode: \(error)")
        }
        guard record.id == id else { throw TFChainError.inconsistentRecord("twin \(id) is stored with id \(record.id)") }
        return record
    }

    public func twinID(account: AccountID) async throws -> UInt32? {
        guard let bytes = try await storage.storageValue(key: Self.twinIDKey(account: account), at: nil) else { return nil }
        var decoder = ScaleDecoder(bytes)
        do {
            let id = try decoder.decodeU32()
            try decoder.requireEnd()
            return id
        } catch {
            throw TFChainError.inconsistentRecord("twin id of \(account.ss58): \(error)")
        }
    }
}
