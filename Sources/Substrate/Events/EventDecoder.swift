/// Decodes the value of the `System.Events` storage item, `Vec<EventRecord>`, using only the
/// types the runtime's metadata declares for it, so a runtime upgrade that adds events,
/// pallets or record fields needs no change here.
///
/// The event of a record is the runtime's outer event enum, whose variant tag is the pallet
/// index and whose one field is that pallet's event enum; the decoder reports both tags and
/// names and keeps the event's own fields as raw bytes.
public struct EventDecoder: Sendable {
    private let registry: TypeRegistry
    private let recordType: UInt32
    private let recordFields: [TypeField]
    private let phasePosition: Int
    private let eventPosition: Int
    private let phaseVariants: [TypeVariant]
    private let runtimeEventVariants: [TypeVariant]

    /// Prepares a decoder for the runtime described by `metadata`; throws if `System.Events`
    /// is missing or its type is not a list of records with a `phase` and an `event` enum.
    public init(metadata: RuntimeMetadata) throws(MetadataError) {
        registry = metadata.types
        let entry = try metadata.storageEntry(pallet: "System", item: "Events")
        let context = "System.Events"
        guard case .sequence(let element) = try registry.resolve(entry.valueType, context: context).definition else {
            throw .unexpectedType(entry.valueType, context: context, expected: "a sequence of event records")
        }
        recordType = element
        guard case .composite(let fields) = try registry.resolve(element, context: context).definition,
              let phasePosition = fields.firstIndex(where: { $0.name == "phase" }),
              let eventPosition = fields.firstIndex(where: { $0.name == "event" })
        else {
            throw .unexpectedType(element, context: context, expected: "an event record with `phase` and `event` fields")
        }
        recordFields = fields
        self.phasePosition = phasePosition
        self.eventPosition = eventPosition
        guard let phaseVariants = try registry.resolve(fields[phasePosition].type, context: context).variants else {
            throw .unexpectedType(fields[phasePosition].type, context: "\(context) phase", expected: "an enum")
        }
        guard let eventVariants = try registry.resolve(fields[eventPosition].type, context: context).variants else {
            throw .unexpectedType(fields[eventPosition].type, context: "\(context) event", expected: "an enum")
        }
        self.phaseVariants = phaseVariants
        runtimeEventVariants = eventVariants
    }

    /// All events of one block, in order. Throws on any byte that does not fit the types,
    /// and on bytes left over after the list.
    public func decode(_ bytes: [UInt8]) throws(ScaleError) -> [DecodedEvent] {
        var decoder = ScaleDecoder(bytes)
        let count = try decoder.decodeLength(minimumItemSize: 1)
        var events: [DecodedEvent] = []
        events.reserveCapacity(count)
        for _ in 0..<count { events.append(try decodeRecord(&decoder)) }
        try decoder.requireEnd()
        return events
    }

    /// One `EventRecord`: its fields in declaration order, skipping those other than phase and event.
    private func decodeRecord(_ decoder: inout ScaleDecoder) throws(ScaleError) -> DecodedEvent {
        var phase: EventPhase?
        var event: (pallet: TypeVariant, event: TypeVariant, fields: [UInt8])?
        for (position, field) in recordFields.enumerated() {
            switch position {
            case phasePosition: phase = try decodePhase(&decoder)
            case eventPosition: event = try decodeEvent(&decoder)
            default: try registry.skip(field.type, &decoder, depth: 1)
            }
        }
        // Both positions are fields of the record (checked in `init`), so both were read.
        guard let phase, let event else { throw .unsupportedType("event record without a phase or an event") }
        return DecodedEvent(
            phase: phase,
            palletIndex: event.pallet.index,
            palletName: event.pallet.name,
            variantIndex: event.event.index,
            eventName: event.event.name,
            fields: event.fields
        )
    }

    private func decodePhase(_ decoder: inout ScaleDecoder) throws(ScaleError) -> EventPhase {
        let variant = try readVariant(phaseVariants, what: "Phase", &decoder)
        switch variant.name {
        case "ApplyExtrinsic" where variant.fields.count == 1 && isU32(variant.fields[0].type):
            return .applyExtrinsic(try decoder.decodeU32())
        case "Finalization" where variant.fields.isEmpty:
            return .finalization
        case "Initialization" where variant.fields.isEmpty:
            return .initialization
        default:
            for field in variant.fields { try registry.skip(field.type, &decoder, depth: 2) }
            return .other(variant.name)
        }
    }

    /// The outer `RuntimeEvent` tag (pallet), the pallet's event tag, and the event's field bytes.
    private func decodeEvent(_ decoder: inout ScaleDecoder) throws(ScaleError) -> (pallet: TypeVariant, event: TypeVariant, fields: [UInt8]) {
        let pallet = try readVariant(runtimeEventVariants, what: "RuntimeEvent", &decoder)
        guard pallet.fields.count == 1, let palletEvents = registry.type(pallet.fields[0].type)?.variants else {
            throw .unsupportedType("RuntimeEvent variant \(pallet.name) does not hold one event enum")
        }
        let event = try readVariant(palletEvents, what: "\(pallet.name) event", &decoder)
        let start = decoder.offset
        for field in event.fields { try registry.skip(field.type, &decoder, depth: 3) }
        return (pallet, event, Array(decoder.bytes[start..<decoder.offset]))
    }

    private func readVariant(_ variants: [TypeVariant], what: String, _ decoder: inout ScaleDecoder) throws(ScaleError) -> TypeVariant {
        let at = decoder.offset
        let tag = try decoder.decodeU8()
        guard let variant = variants.first(where: { $0.index == tag }) else { throw .invalidTag(what, tag: tag, offset: at) }
        return variant
    }

    private func isU32(_ typeID: UInt32) -> Bool {
        registry.type(typeID)?.definition == .primitive(.u32)
    }
}
