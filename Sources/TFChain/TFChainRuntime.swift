import Substrate

/// Everything RMB needs from the tfchain runtime, taken from the node's live metadata and
/// checked once per runtime version (twins.md §1–4, known-gaps §18).
///
/// The reference bakes a metadata snapshot into the binary and breaks when a runtime upgrade
/// changes a type; we read indices, hashers and the signed-extension list from the chain and
/// refuse to run (with the reason) when the shapes RMB relies on have changed.
public struct TFChainRuntime: Sendable {
    public static let pallet = "TfgridModule"
    /// The field names of `pallet_tfgrid::types::Twin`, in SCALE order (twins.md §1).
    public static let twinFields = ["id", "account_id", "relay", "entities", "pk"]

    public let metadata: RuntimeMetadata
    public let updateTwin: CallDescriptor
    public let events: EventDecoder
    public let extrinsicBuilder: ExtrinsicBuilder
    /// The storage key of `System.Events` (the same for every block).
    public let systemEventsKey: [UInt8]

    public init(metadata: RuntimeMetadata) throws(TFChainError) {
        self.metadata = metadata
        do {
            updateTwin = try metadata.call(pallet: Self.pallet, call: "update_twin")
            let arguments = updateTwin.fields.map { $0.name ?? "" }
            guard arguments == ["relay", "pk"] else {
                throw TFChainError.runtimeMismatch("update_twin takes (\(arguments.joined(separator: ", "))), expected (relay, pk)")
            }
            for item in ["Twins", "TwinIdByAccountID"] {
                let entry = try metadata.storageEntry(pallet: Self.pallet, item: item)
                guard entry.hashers == [.blake2_128Concat] else {
                    throw TFChainError.runtimeMismatch("\(Self.pallet).\(item) uses hashers \(entry.hashers), expected [blake2_128Concat]")
                }
            }
            let twinType = try metadata.storageEntry(pallet: Self.pallet, item: "Twins").valueType
            guard case .composite(let fields)? = metadata.types.type(twinType)?.definition,
                  fields.map({ $0.name ?? "" }) == Self.twinFields else {
                throw TFChainError.runtimeMismatch("the Twin type no longer has the fields \(Self.twinFields.joined(separator: ", "))")
            }
            for event in ["TwinStored", "TwinUpdated", "TwinDeleted"] {
                _ = try metadata.event(pallet: Self.pallet, event: event)
            }
            events = try EventDecoder(metadata: metadata)
            systemEventsKey = try metadata.storageKey(pallet: "System", item: "Events")
            extrinsicBuilder = ExtrinsicBuilder(
                signedExtensions: metadata.signedExtensions, addressFormat: try Self.addressFormat(metadata))
        } catch let error as TFChainError {
            throw error
        } catch {
            throw .runtimeMismatch(String(describing: error))
        }
    }

    /// The encoded `TfgridModule.update_twin(relay, pk)` call.
    public func updateTwinCall(relayField: [UInt8]?, publicKey: [UInt8]?) -> [UInt8] {
        var encoder = ScaleEncoder()
        encoder.encode(updateTwin.palletIndex)
        encoder.encode(updateTwin.callIndex)
        encoder.encodeOptionalBytes(relayField)
        encoder.encodeOptionalBytes(publicKey)
        return encoder.bytes
    }

    private static func addressFormat(_ metadata: RuntimeMetadata) throws(TFChainError) -> ExtrinsicBuilder.AddressFormat {
        let parameters = metadata.extrinsicParameters
        let address = parameters.address.flatMap { metadata.types.type($0)?.path.last }
        let signature = parameters.signature.flatMap { metadata.types.type($0)?.path.last }
        guard signature == nil || signature == "MultiSignature" else {
            throw .runtimeMismatch("extrinsic signature type is \(signature ?? "?"), expected MultiSignature")
        }
        switch address {
        case "MultiAddress", nil: return .multiAddress
        case "AccountId32": return .accountID
        case let other?: throw .runtimeMismatch("extrinsic address type \(other) is not supported")
        }
    }
}
