/// The signed-extension bytes of one extrinsic: every extension's "extra" value concatenated in
/// the runtime's order (sent in the extrinsic) and every "additional signed" value likewise
/// (only signed, the runtime recomputes it).
///
/// The runtime decodes these by its own type list, so one missing or extra byte makes the
/// extrinsic undecodable or the signature wrong. That's why the standard extensions are
/// encoded by identifier, checked against the metadata's "is this part empty" flags, and an
/// unknown extension that carries data is refused instead of guessed.
public struct SignedExtensionParts: Sendable, Hashable {
    public var extra: [UInt8]
    public var additionalSigned: [UInt8]

    public init(extensions: [SignedExtensionDescriptor], values: SignedExtensionValues) throws(ExtrinsicError) {
        var extra = ScaleEncoder()
        var additional = ScaleEncoder()
        for descriptor in extensions {
            guard let parts = try Self.encode(descriptor.identifier, values: values) else {
                guard descriptor.extraIsEmpty, descriptor.additionalSignedIsEmpty else {
                    throw .unsupportedSignedExtension(descriptor.identifier)
                }
                continue
            }
            try Self.checkShape(descriptor, part: "extra", empty: parts.extra.isEmpty, metadataSaysEmpty: descriptor.extraIsEmpty)
            try Self.checkShape(
                descriptor, part: "additional signed", empty: parts.additional.isEmpty,
                metadataSaysEmpty: descriptor.additionalSignedIsEmpty
            )
            extra.append(parts.extra)
            additional.append(parts.additional)
        }
        self.extra = extra.bytes
        self.additionalSigned = additional.bytes
    }

    /// The two parts of a known extension, or nil for an unknown identifier.
    private static func encode(
        _ identifier: String, values: SignedExtensionValues
    ) throws(ExtrinsicError) -> (extra: [UInt8], additional: [UInt8])? {
        var extra = ScaleEncoder()
        var additional = ScaleEncoder()
        switch identifier {
        case "CheckNonZeroSender", "CheckWeight":
            break
        case "CheckSpecVersion":
            additional.encode(values.specVersion)
        case "CheckTxVersion":
            additional.encode(values.transactionVersion)
        case "CheckGenesis":
            additional.append(try hash(values.genesisHash, what: "genesis hash"))
        case "CheckMortality", "CheckEra":
            extra.append(values.era.encoded)
            additional.append(try hash(values.checkpointBlockHash, what: "checkpoint block hash"))
        case "CheckNonce":
            extra.encodeCompact(values.nonce)
        case "ChargeTransactionPayment":
            extra.encodeCompact(values.tip)
        case "ChargeAssetTxPayment":
            // tip, then `Option<AssetId>`: None pays in the native token.
            extra.encodeCompact(values.tip)
            extra.encode(UInt8(0))
        case "CheckMetadataHash":
            // `Mode::Disabled`, and the signed `Option<[u8; 32]>` metadata hash is None.
            extra.encode(UInt8(0))
            additional.encode(UInt8(0))
        default:
            return nil
        }
        return (extra.bytes, additional.bytes)
    }

    private static func hash(_ bytes: [UInt8], what: String) throws(ExtrinsicError) -> [UInt8] {
        guard bytes.count == 32 else { throw .invalidLength(what: what, expected: 32, got: bytes.count) }
        return bytes
    }

    private static func checkShape(
        _ descriptor: SignedExtensionDescriptor, part: String, empty: Bool, metadataSaysEmpty: Bool
    ) throws(ExtrinsicError) {
        guard empty == metadataSaysEmpty else {
            throw .signedExtensionShapeMismatch(identifier: descriptor.identifier, part: part, metadataSaysEmpty: metadataSaysEmpty)
        }
    }
}
