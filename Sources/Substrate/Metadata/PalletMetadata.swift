/// One pallet of the runtime, as metadata V14 describes it (docs dropped).
public struct PalletMetadata: Sendable, Hashable {
    public var name: String
    /// The pallet's index: the first byte of its calls and the variant tag of its events.
    public var index: UInt8
    public var storage: PalletStorage?
    /// The pallet's `Call` enum type, if it has calls.
    public var callType: UInt32?
    /// The pallet's `Event` enum type, if it emits events.
    public var eventType: UInt32?
    public var constants: [PalletConstant]
    /// The pallet's `Error` enum type, if it declares errors.
    public var errorType: UInt32?
}

/// A pallet's storage: the prefix hashed into every key (normally the pallet name) and its items.
public struct PalletStorage: Sendable, Hashable {
    public var prefix: String
    public var entries: [StorageEntryMetadata]
}

/// One storage item: how its key is built and what type its value has.
public struct StorageEntryMetadata: Sendable, Hashable {
    /// Whether a missing value reads as `None` or as ``defaultValue``.
    public enum Modifier: UInt8, Sendable, Hashable {
        case optional = 0
        case `default` = 1
    }

    /// A single value, or a map keyed by one hashed key per hasher.
    public enum Kind: Sendable, Hashable {
        case plain(value: UInt32)
        /// For an N-map, `key` is a tuple type with one element per hasher.
        case map(hashers: [StorageHasher], key: UInt32, value: UInt32)
    }

    public var name: String
    public var modifier: Modifier
    public var kind: Kind
    /// The SCALE bytes of the value a `default` entry reads as when nothing is stored.
    public var defaultValue: [UInt8]

    /// The value's type id, whatever the kind.
    public var valueType: UInt32 {
        switch kind {
        case .plain(let value), .map(_, _, let value): value
        }
    }

    /// The key hashers of a map (empty for a plain value).
    public var hashers: [StorageHasher] {
        if case .map(let hashers, _, _) = kind { hashers } else { [] }
    }

    /// The key's type id of a map (nil for a plain value).
    public var keyType: UInt32? {
        if case .map(_, let key, _) = kind { key } else { nil }
    }
}

/// A constant of a pallet: its type and SCALE-encoded value.
public struct PalletConstant: Sendable, Hashable {
    public var name: String
    public var type: UInt32
    public var value: [UInt8]
}

/// What the runtime says about extrinsics: the format version, the `UncheckedExtrinsic` type
/// and the signed extensions in the order their data is encoded and signed.
public struct ExtrinsicMetadata: Sendable, Hashable {
    /// A signed extension as metadata lists it: its name and the types of its two parts.
    public struct SignedExtension: Sendable, Hashable {
        public var identifier: String
        /// The type of the data placed in the extrinsic ("extra").
        public var type: UInt32
        /// The type of the data only signed ("additional signed").
        public var additionalSigned: UInt32
    }

    /// The `UncheckedExtrinsic` type.
    public var type: UInt32
    public var version: UInt8
    public var signedExtensions: [SignedExtension]
}
