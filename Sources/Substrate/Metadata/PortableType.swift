/// One type of the runtime's type registry (scale-info `PortableType`), docs dropped.
public struct PortableType: Sendable, Hashable {
    public var id: UInt32
    /// Rust path segments, e.g. `["pallet_tfgrid", "types", "Twin"]`; empty for built-ins.
    public var path: [String]
    public var parameters: [TypeParameter]
    public var definition: TypeDefinition

    /// `path` joined with `::`, for messages and lookups.
    public var pathString: String { path.joined(separator: "::") }
}

/// A generic parameter of a type; `type` is nil when the parameter was erased.
public struct TypeParameter: Sendable, Hashable {
    public var name: String
    public var type: UInt32?
}

/// How values of a type are laid out in SCALE.
public enum TypeDefinition: Sendable, Hashable {
    case composite([TypeField])
    case variant([TypeVariant])
    case sequence(element: UInt32)
    case array(length: UInt32, element: UInt32)
    case tuple([UInt32])
    case primitive(PrimitiveType)
    case compact(UInt32)
    case bitSequence(store: UInt32, order: UInt32)
}

/// A field of a struct or enum variant: named for structs, unnamed for tuple structs.
public struct TypeField: Sendable, Hashable {
    public var name: String?
    public var type: UInt32
    /// The Rust type as written in the source, e.g. `Option<RelayInput>`.
    public var typeName: String?
}

/// One variant of an enum; `index` is its SCALE tag (not necessarily its position).
public struct TypeVariant: Sendable, Hashable {
    public var name: String
    public var fields: [TypeField]
    public var index: UInt8
}

/// scale-info primitive types, in their SCALE tag order.
public enum PrimitiveType: UInt8, Sendable, Hashable {
    case bool, char, str, u8, u16, u32, u64, u128, u256, i8, i16, i32, i64, i128, i256

    /// The encoded size of fixed-size primitives; nil for `str` (compact length + bytes).
    public var fixedSize: Int? {
        switch self {
        case .bool, .u8, .i8: 1
        case .u16, .i16: 2
        case .char, .u32, .i32: 4
        case .u64, .i64: 8
        case .u128, .i128: 16
        case .u256, .i256: 32
        case .str: nil
        }
    }
}
