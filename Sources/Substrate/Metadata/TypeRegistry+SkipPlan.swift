/// How to step over one value of a type, worked out once per type when the registry is built.
///
/// Fields that encode to zero bytes are dropped from the plans and child types are referred
/// to by position, so skipping costs work in proportion to the bytes consumed rather than to
/// the size of the (possibly hostile) type definitions.
enum SkipPlan: Sendable {
    /// The type always encodes to zero bytes.
    case nothing
    /// Fixed-size primitives.
    case bytes(Int)
    /// `str`: compact length, then UTF-8 bytes.
    case lengthPrefixedBytes
    /// A struct or tuple: the positions of its fields that take bytes, in order.
    case fields([Int])
    /// An enum: `label` names it in errors.
    case variant(label: String, [VariantPlan])
    /// `Vec<T>`; `elementSize` when T is a fixed-size primitive, so runs are skipped at once.
    case sequence(element: Int, elementSize: Int?, elementIsEmpty: Bool)
    /// `[T; N]` with N > 0 and T taking bytes.
    case array(length: Int, element: Int, elementSize: Int?)
    /// `Compact<T>`, whatever T is.
    case compact
    /// `BitVec<Store, Order>`; nil when the store type is not u8/u16/u32/u64.
    case bitSequence(wordSize: Int?)

    struct VariantPlan: Sendable {
        var index: UInt8
        var fields: [Int]
    }

    /// The plans for all types, by position. `zeroSized` and `positionByID` must cover every
    /// type (the registry has already checked that every referenced id exists).
    static func plans(for types: [PortableType], zeroSized: [Bool], positionByID: [UInt32: Int]) -> [SkipPlan] {
        func position(_ id: UInt32) -> Int { positionByID[id] ?? 0 }
        func takingBytes(_ ids: [UInt32]) -> [Int] { ids.map(position).filter { !zeroSized[$0] } }
        func primitiveSize(_ id: UInt32) -> Int? {
            if case .primitive(let primitive) = types[position(id)].definition { primitive.fixedSize } else { nil }
        }

        return types.enumerated().map { index, type in
            if zeroSized[index] { return .nothing }
            switch type.definition {
            case .composite(let fields):
                return .fields(takingBytes(fields.map(\.type)))
            case .tuple(let elements):
                return .fields(takingBytes(elements))
            case .variant(let variants):
                let label = "\(type.path.isEmpty ? "enum" : type.pathString) (type \(type.id))"
                return .variant(label: label, variants.map { VariantPlan(index: $0.index, fields: takingBytes($0.fields.map(\.type))) })
            case .sequence(let element):
                return .sequence(element: position(element), elementSize: primitiveSize(element), elementIsEmpty: zeroSized[position(element)])
            case .array(let length, let element):
                // Not zero-sized, so the length is positive and the element takes bytes.
                return .array(length: Int(length), element: position(element), elementSize: primitiveSize(element))
            case .primitive(let primitive):
                return primitive.fixedSize.map { .bytes($0) } ?? .lengthPrefixedBytes
            case .compact:
                return .compact
            case .bitSequence(let store, _):
                return .bitSequence(wordSize: primitiveSize(store).flatMap { [1, 2, 4, 8].contains($0) ? $0 : nil })
            }
        }
    }
}
