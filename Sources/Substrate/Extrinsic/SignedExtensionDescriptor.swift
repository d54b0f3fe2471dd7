/// One signed extension of the runtime, as its metadata lists it (in order).
///
/// The extrinsic builder needs only the identifier and whether each part carries data: it
/// knows how to fill the standard extensions by name, and an unknown extension whose two
/// types are empty contributes nothing to the extrinsic (so new no-op extensions don't break
/// signing), while an unknown one with data is refused with a clear error.
public struct SignedExtensionDescriptor: Sendable, Hashable {
    /// e.g. `CheckSpecVersion`, `CheckMortality`, `ChargeTransactionPayment`.
    public var identifier: String
    /// The type id of the value placed in the extrinsic ("extra").
    public var extraTypeID: UInt32
    /// The type id of the value only signed, never sent ("additional signed").
    public var additionalSignedTypeID: UInt32
    /// Whether the extra type encodes to zero bytes (`()` or an empty composite).
    public var extraIsEmpty: Bool
    /// Whether the additional-signed type encodes to zero bytes.
    public var additionalSignedIsEmpty: Bool

    public init(identifier: String, extraTypeID: UInt32, additionalSignedTypeID: UInt32, extraIsEmpty: Bool, additionalSignedIsEmpty: Bool) {
        self.identifier = identifier
        self.extraTypeID = extraTypeID
        self.additionalSignedTypeID = additionalSignedTypeID
        self.extraIsEmpty = extraIsEmpty
        self.additionalSignedIsEmpty = additionalSignedIsEmpty
    }
}
