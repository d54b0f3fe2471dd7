/// One event of a block, as read from `System.Events`: where it happened, which pallet and
/// event it is, and the raw SCALE bytes of its fields for a typed decoder to interpret
/// (e.g. the `Twin` carried by `TfgridModule.TwinUpdated`).
public struct DecodedEvent: Sendable, Hashable {
    public var phase: EventPhase
    /// The pallet index (the `RuntimeEvent` variant tag).
    public var palletIndex: UInt8
    public var palletName: String
    /// The event's variant tag within the pallet's event enum.
    public var variantIndex: UInt8
    public var eventName: String
    /// The event's fields, SCALE-encoded one after the other, exactly as in the block.
    public var fields: [UInt8]

    public init(phase: EventPhase, palletIndex: UInt8, palletName: String, variantIndex: UInt8, eventName: String, fields: [UInt8]) {
        self.phase = phase
        self.palletIndex = palletIndex
        self.palletName = palletName
        self.variantIndex = variantIndex
        self.eventName = eventName
        self.fields = fields
    }

    /// Whether this is `pallet.event`, e.g. `is(pallet: "TfgridModule", event: "TwinUpdated")`.
    public func `is`(pallet: String, event: String) -> Bool {
        palletName == pallet && eventName == event
    }
}

/// When in the block an event was emitted (frame-system `Phase`).
public enum EventPhase: Sendable, Hashable {
    /// While applying the extrinsic at this index of the block.
    case applyExtrinsic(UInt32)
    /// In `on_finalize`.
    case finalization
    /// In `on_initialize`.
    case initialization
    /// A phase variant this client does not know; its data was skipped.
    case other(String)
}
