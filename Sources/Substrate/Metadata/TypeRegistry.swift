/// The runtime's type registry (scale-info `PortableRegistry`): every type the metadata
/// refers to, by id. Built once from metadata and checked so that every id a type refers to
/// exists, which lets the generic decoders walk it without further lookups failing.
public struct TypeRegistry: Sendable {
    /// The types in metadata order.
    public let types: [PortableType]
    private let positionByID: [UInt32: Int]
    /// Per position: whether the type always encodes to zero bytes (see ``encodesToZeroBytes(_:)``).
    private let zeroSized: [Bool]
    /// Per position: how to step over a value (see ``SkipPlan``).
    let skipPlans: [SkipPlan]

    init(types: [PortableType]) throws(MetadataError) {
        var positionByID: [UInt32: Int] = [:]
        positionByID.reserveCapacity(types.count)
        for (position, type) in types.enumerated() {
            guard positionByID.updateValue(position, forKey: type.id) == nil else {
                throw .duplicateType(type.id)
            }
        }
        for type in types {
            for child in type.referencedTypes where positionByID[child] == nil {
                throw .unknownType(child, context: type.label)
            }
        }
        let zeroSized = Self.zeroSizedFlags(types, positionByID: positionByID)
        self.types = types
        self.positionByID = positionByID
        self.zeroSized = zeroSized
        self.skipPlans = SkipPlan.plans(for: types, zeroSized: zeroSized, positionByID: positionByID)
    }

    /// The type with this id, or nil.
    public func type(_ id: UInt32) -> PortableType? {
        positionByID[id].map { types[$0] }
    }

    func position(of id: UInt32) -> Int? { positionByID[id] }

    /// The type with this id, or an error naming what needed it.
    func resolve(_ id: UInt32, context: @autoclosure () -> String) throws(MetadataError) -> PortableType {
        guard let type = type(id) else { throw .unknownType(id, context: context()) }
        return type
    }

    /// Whether every value of the type encodes to zero bytes: `()`, a struct with no fields
    /// or only such fields, or an array of length 0 or of such elements. (Every other type
    /// takes at least one byte, which bounds the work of the generic decoders by the input.)
    public func encodesToZeroBytes(_ id: UInt32) -> Bool {
        positionByID[id].map { zeroSized[$0] } ?? false
    }

    /// Least fixed point over the type graph, computed with a work list rather than recursion
    /// so hostile metadata with a very long chain of types cannot overflow the stack; cycles
    /// (which no finite value could fill) come out as "not zero-sized".
    private static func zeroSizedFlags(_ types: [PortableType], positionByID: [UInt32: Int]) -> [Bool] {
        var flags = [Bool](repeating: false, count: types.count)
        var pending = [Int](repeating: 0, count: types.count)
        var parents = [[Int]](repeating: [], count: types.count)
        var ready: [Int] = []
        for (position, type) in types.enumerated() {
            let children: [UInt32]
            switch type.definition {
            case .composite(let fields): children = fields.map(\.type)
            case .tuple(let elements): children = elements
            case .array(let length, let element): children = length == 0 ? [] : [element]
            default: continue
            }
            pending[position] = children.count
            for child in children {
                if let childPosition = positionByID[child] { parents[childPosition].append(position) }
            }
            if children.isEmpty { ready.append(position) }
        }
        while let position = ready.popLast() {
            flags[position] = true
            for parent in parents[position] {
                pending[parent] -= 1
                if pending[parent] == 0 { ready.append(parent) }
            }
        }
        return flags
    }
}

extension PortableType {
    /// Every type id this type's definition and parameters mention.
    var referencedTypes: [UInt32] {
        var ids = parameters.compactMap(\.type)
        switch definition {
        case .composite(let fields): ids += fields.map(\.type)
        case .variant(let variants): ids += variants.flatMap { $0.fields.map(\.type) }
        case .sequence(let element), .array(_, let element), .compact(let element): ids.append(element)
        case .tuple(let elements): ids += elements
        case .primitive: break
        case .bitSequence(let store, let order): ids += [store, order]
        }
        return ids
    }

    /// `type 92 pallet_tfgrid::types::Twin`, for messages.
    var label: String { path.isEmpty ? "type \(id)" : "type \(id) \(pathString)" }

    /// The variants when this is an enum.
    var variants: [TypeVariant]? {
        if case .variant(let variants) = definition { variants } else { nil }
    }
}
