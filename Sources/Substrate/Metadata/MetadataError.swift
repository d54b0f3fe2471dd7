/// Why runtime metadata could not be parsed, or why it lacks what a caller asked for.
public enum MetadataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes do not start with the `meta` magic number.
    case badMagic(UInt32)
    /// The metadata uses a version this parser does not read (only V14 is supported).
    case unsupportedVersion(UInt8)
    /// The SCALE bytes are truncated or malformed; `context` says where in the metadata.
    case malformed(context: String, ScaleError)
    /// A string in the metadata is not valid UTF-8.
    case invalidString(context: String)
    /// A type id that the registry does not contain.
    case unknownType(UInt32, context: String)
    /// The registry defines a type id twice.
    case duplicateType(UInt32)
    /// A type whose shape does not match what the runtime's structure requires.
    case unexpectedType(UInt32, context: String, expected: String)
    /// The type graph nests deeper than the parser allows (hostile or corrupt metadata).
    case nestingTooDeep(context: String)
    case missingPallet(String)
    case missingCall(pallet: String, call: String)
    case missingEvent(pallet: String, event: String)
    case missingStorageEntry(pallet: String, item: String)
    /// A storage key was requested with a number of keys other than the entry's hashers.
    case wrongKeyCount(pallet: String, item: String, expected: Int, got: Int)

    public var description: String {
        switch self {
        case .badMagic(let magic): "not runtime metadata (magic 0x\(String(magic, radix: 16)), expected 0x6174656d \"meta\")"
        case .unsupportedVersion(let version): "unsupported runtime metadata version \(version) (only V14 is supported)"
        case .malformed(let context, let error): "malformed metadata in \(context): \(error)"
        case .invalidString(let context): "metadata string in \(context) is not valid UTF-8"
        case .unknownType(let id, let context): "metadata refers to unknown type \(id) in \(context)"
        case .duplicateType(let id): "metadata defines type \(id) twice"
        case .unexpectedType(let id, let context, let expected): "metadata type \(id) for \(context) is not \(expected)"
        case .nestingTooDeep(let context): "metadata types nest too deeply at \(context)"
        case .missingPallet(let pallet): "metadata has no pallet \(pallet)"
        case .missingCall(let pallet, let call): "metadata has no call \(pallet).\(call)"
        case .missingEvent(let pallet, let event): "metadata has no event \(pallet).\(event)"
        case .missingStorageEntry(let pallet, let item): "metadata has no storage entry \(pallet).\(item)"
        case .wrongKeyCount(let pallet, let item, let expected, let got): "storage entry \(pallet).\(item) takes \(expected) key(s), not \(got)"
        }
    }
}
