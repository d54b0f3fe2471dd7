/// The V14 layout (frame-metadata `RuntimeMetadataV14`): registry, pallets, extrinsic, runtime type.
extension MetadataReader {
    /// `"meta"` read as a little-endian u32.
    static let magic: UInt32 = 0x6174_656D

    mutating func readPrefixedV14() throws(MetadataError) -> (types: [PortableType], pallets: [PalletMetadata], extrinsic: ExtrinsicMetadata, runtimeType: UInt32) {
        let magic = try u32()
        guard magic == Self.magic else { throw .badMagic(magic) }
        let version = try u8()
        guard version == 14 else { throw .unsupportedVersion(version) }

        context = "type registry"
        let types = try sequence(minimumItemSize: 6) { (reader) throws(MetadataError) in try reader.readType() }
        context = "pallets"
        let pallets = try sequence(minimumItemSize: 7) { (reader) throws(MetadataError) in try reader.readPallet() }
        context = "extrinsic"
        let extrinsic = try readExtrinsic()
        context = "runtime type"
        let runtimeType = try compactU32()
        try requireEnd()
        return (types, pallets, extrinsic, runtimeType)
    }

    // MARK: Types

    private mutating func readType() throws(MetadataError) -> PortableType {
        context = "type registry"
        let id = try compactU32()
        context = "type \(id)"
        let path = try sequence(minimumItemSize: 1) { (reader) throws(MetadataError) in try reader.string() }
        let parameters = try sequence(minimumItemSize: 2) { (reader) throws(MetadataError) in
            TypeParameter(name: try reader.string(), type: try reader.optional { (reader) throws(MetadataError) in try reader.compactU32() })
        }
        let definition = try readTypeDefinition()
        try skipDocs()
        return PortableType(id: id, path: path, parameters: parameters, definition: definition)
    }

    private mutating func readTypeDefinition() throws(MetadataError) -> TypeDefinition {
        switch try u8() {
        case 0:
            return .composite(try readFields())
        case 1:
            let variants = try sequence(minimumItemSize: 4) { (reader) throws(MetadataError) in
                let name = try reader.string()
                let fields = try reader.readFields()
                let index = try reader.u8()
                try reader.skipDocs()
                return TypeVariant(name: name, fields: fields, index: index)
            }
            return .variant(variants)
        case 2:
            return .sequence(element: try compactU32())
        case 3:
            let length = try u32()
            return .array(length: length, element: try compactU32())
        case 4:
            return .tuple(try sequence(minimumItemSize: 1) { (reader) throws(MetadataError) in try reader.compactU32() })
        case 5:
            let tag = try u8()
            guard let primitive = PrimitiveType(rawValue: tag) else { throw invalidTag("primitive type", tag) }
            return .primitive(primitive)
        case 6:
            return .compact(try compactU32())
        case 7:
            let store = try compactU32()
            return .bitSequence(store: store, order: try compactU32())
        case let tag:
            throw invalidTag("type definition", tag)
        }
    }

    private mutating func readFields() throws(MetadataError) -> [TypeField] {
        try sequence(minimumItemSize: 4) { (reader) throws(MetadataError) in
            let name = try reader.optional { (reader) throws(MetadataError) in try reader.string() }
            let type = try reader.compactU32()
            let typeName = try reader.optional { (reader) throws(MetadataError) in try reader.string() }
            try reader.skipDocs()
            return TypeField(name: name, type: type, typeName: typeName)
        }
    }

    // MARK: Pallets

    private mutating func readPallet() throws(MetadataError) -> PalletMetadata {
        context = "pallets"
        let name = try string()
        context = "pallet \(name)"
        let storage = try optional { (reader) throws(MetadataError) in try reader.readStorage() }
        let callType = try optional { (reader) throws(MetadataError) in try reader.compactU32() }
        let eventType = try optional { (reader) throws(MetadataError) in try reader.compactU32() }
        let constants = try sequence(minimumItemSize: 4) { (reader) throws(MetadataError) in
            let name = try reader.string()
            let type = try reader.compactU32()
            let value = try reader.bytes()
            try reader.skipDocs()
            return PalletConstant(name: name, type: type, value: value)
        }
        let errorType = try optional { (reader) throws(MetadataError) in try reader.compactU32() }
        let index = try u8()
        return PalletMetadata(name: name, index: index, storage: storage, callType: callType, eventType: eventType, constants: constants, errorType: errorType)
    }

    private mutating func readStorage() throws(MetadataError) -> PalletStorage {
        let prefix = try string()
        let entries = try sequence(minimumItemSize: 6) { (reader) throws(MetadataError) in try reader.readStorageEntry() }
        return PalletStorage(prefix: prefix, entries: entries)
    }

    private mutating func readStorageEntry() throws(MetadataError) -> StorageEntryMetadata {
        let name = try string()
        let modifierTag = try u8()
        guard let modifier = StorageEntryMetadata.Modifier(rawValue: modifierTag) else { throw invalidTag("storage modifier", modifierTag) }
        let kind: StorageEntryMetadata.Kind
        switch try u8() {
        case 0:
            kind = .plain(value: try compactU32())
        case 1:
            let hashers = try sequence(minimumItemSize: 1) { (reader) throws(MetadataError) in
                let tag = try reader.u8()
                guard let hasher = StorageHasher(rawValue: tag) else { throw reader.invalidTag("storage hasher", tag) }
                return hasher
            }
            let key = try compactU32()
            kind = .map(hashers: hashers, key: key, value: try compactU32())
        case let tag:
            throw invalidTag("storage entry type", tag)
        }
        let defaultValue = try bytes()
        try skipDocs()
        return StorageEntryMetadata(name: name, modifier: modifier, kind: kind, defaultValue: defaultValue)
    }

    // MARK: Extrinsic

    private mutating func readExtrinsic() throws(MetadataError) -> ExtrinsicMetadata {
        let type = try compactU32()
        let version = try u8()
        let extensions = try sequence(minimumItemSize: 3) { (reader) throws(MetadataError) in
            let identifier = try reader.string()
            let type = try reader.compactU32()
            return ExtrinsicMetadata.SignedExtension(identifier: identifier, type: type, additionalSigned: try reader.compactU32())
        }
        return ExtrinsicMetadata(type: type, version: version, signedExtensions: extensions)
    }
}
