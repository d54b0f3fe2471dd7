/// Generic reading of values whose types are known only from the registry: skipping one value
/// (to reach later fields) or taking its raw bytes (to hand to a typed decoder).
///
/// Input comes from a node, so everything is bounded: lengths against the bytes left, nesting
/// against ``TypeRegistry/maximumNestingDepth`` (recursive types such as a call that contains
/// calls could otherwise exhaust the stack), and values that encode to zero bytes are never
/// visited (see ``SkipPlan``), so the work stays proportional to the input.
extension TypeRegistry {
    /// How deep values may nest; real runtime values stay far below this.
    public static let maximumNestingDepth = 64

    /// Consumes one SCALE value of type `typeID` from `decoder`.
    public func skipValue(of typeID: UInt32, in decoder: inout ScaleDecoder) throws(ScaleError) {
        try skip(typeID, &decoder, depth: 0)
    }

    /// Consumes one SCALE value of type `typeID` and returns its bytes.
    public func valueBytes(of typeID: UInt32, in decoder: inout ScaleDecoder) throws(ScaleError) -> [UInt8] {
        let start = decoder.offset
        try skip(typeID, &decoder, depth: 0)
        return Array(decoder.bytes[start..<decoder.offset])
    }

    func skip(_ typeID: UInt32, _ decoder: inout ScaleDecoder, depth: Int) throws(ScaleError) {
        guard let position = position(of: typeID) else { throw .unsupportedType("type id \(typeID) is not in the registry") }
        try skip(position: position, &decoder, depth: depth)
    }

    private func skip(position: Int, _ decoder: inout ScaleDecoder, depth: Int) throws(ScaleError) {
        guard depth < Self.maximumNestingDepth else {
            throw .valueTooLarge("value nesting deeper than \(Self.maximumNestingDepth) at byte \(decoder.offset)")
        }
        switch skipPlans[position] {
        case .nothing:
            return
        case .bytes(let count):
            try decoder.skip(count)
        case .lengthPrefixedBytes:
            try decoder.skip(decoder.decodeLength())
        case .fields(let fields):
            for field in fields { try skip(position: field, &decoder, depth: depth + 1) }
        case .variant(let label, let variants):
            let at = decoder.offset
            let tag = try decoder.decodeU8()
            guard let variant = variants.first(where: { $0.index == tag }) else { throw .invalidTag(label, tag: tag, offset: at) }
            for field in variant.fields { try skip(position: field, &decoder, depth: depth + 1) }
        case .sequence(let element, let elementSize, let elementIsEmpty):
            if elementIsEmpty {
                _ = try decoder.decodeCompact()
            } else if let elementSize {
                try decoder.skip(decoder.decodeLength(minimumItemSize: elementSize) * elementSize)
            } else {
                let count = try decoder.decodeLength(minimumItemSize: 1)
                for _ in 0..<count { try skip(position: element, &decoder, depth: depth + 1) }
            }
        case .array(let length, let element, let elementSize):
            // Each element takes at least one byte, so a length beyond the input cannot fit.
            guard length <= decoder.remaining else { throw .unexpectedEnd(offset: decoder.offset, needed: length - decoder.remaining) }
            if let elementSize {
                try decoder.skip(length * elementSize)
            } else {
                for _ in 0..<length { try skip(position: element, &decoder, depth: depth + 1) }
            }
        case .compact:
            try Self.skipCompact(&decoder)
        case .bitSequence(let wordSize):
            guard let wordSize else { throw .unsupportedType("bit sequence whose store type is not u8, u16, u32 or u64") }
            try Self.skipBitSequence(wordSize: wordSize, &decoder)
        }
    }

    /// Any compact integer, whatever its width (`Compact<u128>` may take up to 17 bytes).
    static func skipCompact(_ decoder: inout ScaleDecoder) throws(ScaleError) {
        let first = try decoder.decodeU8()
        switch first & 0b11 {
        case 0b00: break
        case 0b01: try decoder.skip(1)
        case 0b10: try decoder.skip(3)
        default: try decoder.skip(Int(first >> 2) + 4)
        }
    }

    /// `BitVec<Store, Order>`: a compact bit count, then that many bits in whole `Store` words.
    private static func skipBitSequence(wordSize: Int, _ decoder: inout ScaleDecoder) throws(ScaleError) {
        let bits = try decoder.decodeCompact()
        let wordBits = UInt64(wordSize * 8)
        let words = bits / wordBits + (bits % wordBits == 0 ? 0 : 1)
        let available = decoder.remaining / wordSize
        guard words <= UInt64(available) else {
            // Clamped so a forged bit count cannot overflow the message's arithmetic.
            let wanted = Int(clamping: min(words, UInt64(Int.max / wordSize)))
            throw .unexpectedEnd(offset: decoder.offset, needed: (wanted - available) * wordSize)
        }
        try decoder.skip(Int(words) * wordSize)
    }
}
