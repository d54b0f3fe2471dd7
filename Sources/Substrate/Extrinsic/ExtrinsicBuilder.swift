/// Builds signed v4 extrinsics for one runtime, generic over the call: the caller supplies the
/// encoded call (`pallet index ‖ call index ‖ arguments`) and the builder adds the signed
/// extensions the runtime lists, the signature and the envelope.
///
/// Layout (`sp_runtime::generic::UncheckedExtrinsic`, version 4, signed):
/// `compact(length) ‖ 0x84 ‖ address ‖ MultiSignature ‖ extra ‖ call`, where the signature covers
/// `SigningPayload(call, extra, additional signed)`.
public struct ExtrinsicBuilder: Sendable {
    /// How the runtime's `Address` type encodes the signer (read it from the metadata's
    /// extrinsic type parameters; tfchain uses `MultiAddress`).
    public enum AddressFormat: Sendable, Hashable {
        /// `sp_runtime::MultiAddress::Id(AccountId32)`: `0x00 ‖ account`.
        case multiAddress
        /// A bare `AccountId32`: the 32 bytes (older runtimes).
        case accountID
    }

    /// Signed bit (0x80) | extrinsic format version 4.
    public static let signedVersionByte: UInt8 = 0x84

    /// The runtime's signed extensions, in metadata order.
    public let signedExtensions: [SignedExtensionDescriptor]
    public let addressFormat: AddressFormat

    public init(signedExtensions: [SignedExtensionDescriptor], addressFormat: AddressFormat = .multiAddress) {
        self.signedExtensions = signedExtensions
        self.addressFormat = addressFormat
    }

    /// The extra and additional-signed bytes for `values`.
    public func extensionParts(_ values: SignedExtensionValues) throws(ExtrinsicError) -> SignedExtensionParts {
        try SignedExtensionParts(extensions: signedExtensions, values: values)
    }

    /// What a signer must sign for `call` with `values`.
    public func signingPayload(call: [UInt8], values: SignedExtensionValues) throws(ExtrinsicError) -> SigningPayload {
        try SigningPayload(call: call, extensions: extensionParts(values))
    }

    /// Signs `call` with `signer` and encodes the extrinsic.
    public func sign(call: [UInt8], values: SignedExtensionValues, signer: some ExtrinsicSigner) throws(ExtrinsicError) -> SignedExtrinsic {
        let parts = try extensionParts(values)
        let payload = try SigningPayload(call: call, extensions: parts)
        let signature: [UInt8]
        do {
            signature = try signer.sign(payload.message)
        } catch {
            throw .signingFailed(String(describing: error))
        }
        return try assemble(
            call: call, extensions: parts, accountID: signer.accountID, signatureKind: signer.signatureKind, signature: signature
        )
    }

    /// Encodes an extrinsic around a signature made elsewhere (e.g. by a hardware wallet) over
    /// `SigningPayload(call:extensions:)`.
    public func assemble(
        call: [UInt8], extensions: SignedExtensionParts, accountID: [UInt8], signatureKind: SignatureKind, signature: [UInt8]
    ) throws(ExtrinsicError) -> SignedExtrinsic {
        guard accountID.count == 32 else { throw .invalidLength(what: "account id", expected: 32, got: accountID.count) }
        guard signature.count == 64 else { throw .invalidLength(what: "signature", expected: 64, got: signature.count) }
        var body = ScaleEncoder(reservingCapacity: 1 + 33 + 65 + extensions.extra.count + call.count)
        body.encode(Self.signedVersionByte)
        switch addressFormat {
        case .multiAddress:
            body.encode(UInt8(0))
            body.append(accountID)
        case .accountID:
            body.append(accountID)
        }
        body.encode(signatureKind.multiSignatureIndex)
        body.append(signature)
        body.append(extensions.extra)
        body.append(call)
        var encoded = ScaleEncoder(reservingCapacity: body.bytes.count + 4)
        encoded.encodeBytes(body.bytes)
        return try SignedExtrinsic(bytes: encoded.bytes)
    }
}
