/// Builds the raw keys under which a runtime stores its values:
/// `twox128(pallet) ‖ twox128(item)` followed, for maps, by each hashed key.
///
/// Keys must already be SCALE-encoded (e.g. a `u32` twin id as 4 little-endian bytes); the
/// hasher to use for each comes from the runtime metadata (see ``StorageEntryMetadata``).
public enum StorageKey {
    /// The key of a plain (single value) storage item, e.g. `TfgridModule.TwinID`.
    public static func plain(pallet: String, item: String) -> [UInt8] {
        StorageHasher.twox(Array(pallet.utf8), lanes: 2) + StorageHasher.twox(Array(item.utf8), lanes: 2)
    }

    /// The key of one value of a map, e.g. `TfgridModule.Twins(id)` with `blake2_128Concat`.
    public static func map(pallet: String, item: String, hasher: StorageHasher, key: [UInt8]) -> [UInt8] {
        plain(pallet: pallet, item: item) + hasher.hash(key)
    }

    /// The key of one value of a double or N-map: one (hasher, encoded key) pair per key part.
    public static func map(pallet: String, item: String, keys: [(hasher: StorageHasher, key: [UInt8])]) -> [UInt8] {
        keys.reduce(into: plain(pallet: pallet, item: item)) { $0 += $1.hasher.hash($1.key) }
    }
}
