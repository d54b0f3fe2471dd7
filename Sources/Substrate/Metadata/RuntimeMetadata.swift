/// A runtime's metadata (V14): its type registry, pallets and extrinsic format, with the
/// lookups the client needs (call and event indices, storage hashers, signed extensions).
///
/// Indices and types must come from the live chain rather than a snapshot, because a runtime
/// upgrade may renumber calls or change a type; these lookups throw a ``MetadataError`` naming
/// what is missing, so a mismatch is a clear error rather than a wrongly encoded transaction.
public struct RuntimeMetadata: Sendable {
    public let types: TypeRegistry
    public let pallets: [PalletMetadata]
    public let extrinsic: ExtrinsicMetadata
    /// The `Runtime` type.
    public let runtimeType: UInt32

    /// Parses `RuntimeMetadataPrefixed` bytes (as returned by `state_getMetadata`): the
    /// `meta` magic, the version byte (only 14 is read) and the V14 structure, with nothing after.
    public init(bytes: [UInt8]) throws(MetadataError) {
        var reader = MetadataReader(bytes)
        let parts = try reader.readPrefixedV14()
        types = try TypeRegistry(types: parts.types)
        pallets = parts.pallets
        extrinsic = parts.extrinsic
        runtimeType = parts.runtimeType
        try checkReferencedTypes()
    }

    // MARK: Pallets

    /// The pallet with this name.
    public func pallet(named name: String) throws(MetadataError) -> PalletMetadata {
        guard let pallet = pallets.first(where: { $0.name == name }) else { throw .missingPallet(name) }
        return pallet
    }

    /// The pallet with this index, if any.
    public func pallet(index: UInt8) -> PalletMetadata? {
        pallets.first { $0.index == index }
    }

    // MARK: Calls

    /// The call `pallet.call`: its indices and arguments.
    public func call(pallet palletName: String, call name: String) throws(MetadataError) -> CallDescriptor {
        let pallet = try pallet(named: palletName)
        guard let callType = pallet.callType, let variant = try variant(named: name, in: callType, context: "calls of \(palletName)") else {
            throw .missingCall(pallet: palletName, call: name)
        }
        return CallDescriptor(palletName: pallet.name, palletIndex: pallet.index, name: variant.name, callIndex: variant.index, fields: variant.fields)
    }

    /// The two bytes that start an encoded call: pallet index and call index.
    public func callIndex(pallet: String, call: String) throws(MetadataError) -> (palletIndex: UInt8, callIndex: UInt8) {
        let descriptor = try self.call(pallet: pallet, call: call)
        return (descriptor.palletIndex, descriptor.callIndex)
    }

    // MARK: Events

    /// The event `pallet.event`: its indices and fields.
    public func event(pallet palletName: String, event name: String) throws(MetadataError) -> EventDescriptor {
        let pallet = try pallet(named: palletName)
        guard let eventType = pallet.eventType, let variant = try variant(named: name, in: eventType, context: "events of \(palletName)") else {
            throw .missingEvent(pallet: palletName, event: name)
        }
        return EventDescriptor(palletName: pallet.name, palletIndex: pallet.index, name: variant.name, eventIndex: variant.index, fields: variant.fields)
    }

    /// The pallet index and the event's variant index within the pallet's event enum.
    public func eventIndex(pallet: String, event: String) throws(MetadataError) -> (palletIndex: UInt8, eventIndex: UInt8) {
        let descriptor = try self.event(pallet: pallet, event: event)
        return (descriptor.palletIndex, descriptor.eventIndex)
    }

    // MARK: Storage

    /// The storage item `pallet.item`, with its hashers and key/value types.
    public func storageEntry(pallet palletName: String, item: String) throws(MetadataError) -> StorageEntryMetadata {
        let pallet = try pallet(named: palletName)
        guard let entry = pallet.storage?.entries.first(where: { $0.name == item }) else {
            throw .missingStorageEntry(pallet: palletName, item: item)
        }
        return entry
    }

    /// The full storage key of `pallet.item` for SCALE-encoded `keys` (one per hasher the
    /// entry declares, none for a plain value), using the hashers and prefix of this runtime.
    public func storageKey(pallet palletName: String, item: String, keys: [[UInt8]] = []) throws(MetadataError) -> [UInt8] {
        let pallet = try pallet(named: palletName)
        guard let storage = pallet.storage, let entry = storage.entries.first(where: { $0.name == item }) else {
            throw .missingStorageEntry(pallet: palletName, item: item)
        }
        let hashers = entry.hashers
        guard hashers.count == keys.count else {
            throw .wrongKeyCount(pallet: palletName, item: item, expected: hashers.count, got: keys.count)
        }
        return StorageKey.map(pallet: storage.prefix, item: entry.name, keys: zip(hashers, keys).map { (hasher: $0, key: $1) })
    }

    // MARK: Extrinsic

    /// The signed extensions in metadata order, with whether each part encodes to nothing.
    public var signedExtensions: [SignedExtensionDescriptor] {
        extrinsic.signedExtensions.map {
            SignedExtensionDescriptor(
                identifier: $0.identifier,
                extraTypeID: $0.type,
                additionalSignedTypeID: $0.additionalSigned,
                extraIsEmpty: types.encodesToZeroBytes($0.type),
                additionalSignedIsEmpty: types.encodesToZeroBytes($0.additionalSigned)
            )
        }
    }

    /// The generic parameters of the `UncheckedExtrinsic` type (`Address`, `Call`, `Signature`,
    /// `Extra`), so the extrinsic builder can check the address and signature formats.
    public var extrinsicParameters: ExtrinsicParameters {
        let parameters = types.type(extrinsic.type)?.parameters ?? []
        func parameter(_ name: String) -> UInt32? { parameters.first { $0.name == name }?.type }
        return ExtrinsicParameters(address: parameter("Address"), call: parameter("Call"), signature: parameter("Signature"), extra: parameter("Extra"))
    }

    // MARK: Helpers

    /// The variant called `name` of the enum `typeID`; nil if absent, throws if not an enum.
    private func variant(named name: String, in typeID: UInt32, context: String) throws(MetadataError) -> TypeVariant? {
        let type = try types.resolve(typeID, context: context)
        guard let variants = type.variants else { throw .unexpectedType(typeID, context: context, expected: "an enum") }
        return variants.first { $0.name == name }
    }

    /// Every type id outside the registry that the metadata mentions must be in the registry.
    private func checkReferencedTypes() throws(MetadataError) {
        for pallet in pallets {
            let context = "pallet \(pallet.name)"
            var ids = [pallet.callType, pallet.eventType, pallet.errorType].compactMap { $0 } + pallet.constants.map(\.type)
            for entry in pallet.storage?.entries ?? [] {
                ids.append(entry.valueType)
                if let key = entry.keyType { ids.append(key) }
            }
            for id in ids { _ = try types.resolve(id, context: context) }
        }
        _ = try types.resolve(extrinsic.type, context: "extrinsic")
        for signedExtension in extrinsic.signedExtensions {
            _ = try types.resolve(signedExtension.type, context: "signed extension \(signedExtension.identifier)")
            _ = try types.resolve(signedExtension.additionalSigned, context: "signed extension \(signedExtension.identifier)")
        }
        _ = try types.resolve(runtimeType, context: "runtime type")
    }
}

/// A call of a pallet: the indices that start its encoding and its arguments in order.
public struct CallDescriptor: Sendable, Hashable {
    public var palletName: String
    public var palletIndex: UInt8
    public var name: String
    public var callIndex: UInt8
    /// The arguments, e.g. `relay: Option<RelayInput>`, `pk: Option<PkInput>` for `update_twin`.
    public var fields: [TypeField]
}

/// An event of a pallet: its indices and fields in order.
public struct EventDescriptor: Sendable, Hashable {
    public var palletName: String
    public var palletIndex: UInt8
    public var name: String
    public var eventIndex: UInt8
    public var fields: [TypeField]
}

/// The type ids of the `UncheckedExtrinsic` generic parameters (nil when metadata omits one).
public struct ExtrinsicParameters: Sendable, Hashable {
    public var address: UInt32?
    public var call: UInt32?
    public var signature: UInt32?
    public var extra: UInt32?
}
