import Foundation
import RMBCrypto
import RMBTestSupport
import Substrate
import Testing

/// Signed-extension selection by identifier, the 256-byte hashing threshold and input checks.
@Suite struct ExtrinsicExtensionTests {
    static let genesis = [UInt8](repeating: 0x11, count: 32)
    static let checkpoint = [UInt8](repeating: 0x22, count: 32)
    static let values = SignedExtensionValues(
        specVersion: 149, transactionVersion: 2, genesisHash: genesis,
        era: .mortal(period: 64, current: 1234567), checkpointBlockHash: checkpoint, nonce: 5, tip: 0
    )

    static func descriptor(_ name: String, extraEmpty: Bool, additionalEmpty: Bool) -> SignedExtensionDescriptor {
        SignedExtensionDescriptor(
            identifier: name, extraTypeID: 900, additionalSignedTypeID: 901, extraIsEmpty: extraEmpty, additionalSignedIsEmpty: additionalEmpty
        )
    }

    @Test func unknownExtensionWithDataIsRefused() {
        let extensions = SnapshotExtensions.descriptors + [Self.descriptor("CheckFancyThing", extraEmpty: false, additionalEmpty: true)]
        #expect(throws: ExtrinsicError.unsupportedSignedExtension("CheckFancyThing")) {
            try SignedExtensionParts(extensions: extensions, values: Self.values)
        }
        let additionalOnly = [Self.descriptor("CheckSomethingSigned", extraEmpty: true, additionalEmpty: false)]
        #expect(throws: ExtrinsicError.unsupportedSignedExtension("CheckSomethingSigned")) {
            try ExtrinsicBuilder(signedExtensions: additionalOnly).signingPayload(call: [25, 18, 0, 0], values: Self.values)
        }
        #expect(ExtrinsicError.unsupportedSignedExtension("X").description.contains("unsupported signed extension X"))
    }

    @Test func unknownEmptyExtensionContributesNothing() throws {
        let plain = try SignedExtensionParts(extensions: SnapshotExtensions.descriptors, values: Self.values)
        var extended = SnapshotExtensions.descriptors
        extended.insert(Self.descriptor("PrevalidateAttests", extraEmpty: true, additionalEmpty: true), at: 3)
        extended.append(Self.descriptor("SomeFutureNoOp", extraEmpty: true, additionalEmpty: true))
        #expect(try SignedExtensionParts(extensions: extended, values: Self.values) == plain)
    }

    @Test func knownExtensionWithAnUnexpectedShapeIsRefused() {
        let nonEmptyWeight = [Self.descriptor("CheckWeight", extraEmpty: false, additionalEmpty: true)]
        #expect(throws: ExtrinsicError.signedExtensionShapeMismatch(identifier: "CheckWeight", part: "extra", metadataSaysEmpty: false)) {
            try SignedExtensionParts(extensions: nonEmptyWeight, values: Self.values)
        }
        let emptyGenesis = [Self.descriptor("CheckGenesis", extraEmpty: true, additionalEmpty: true)]
        #expect(throws: ExtrinsicError.signedExtensionShapeMismatch(identifier: "CheckGenesis", part: "additional signed", metadataSaysEmpty: true)) {
            try SignedExtensionParts(extensions: emptyGenesis, values: Self.values)
        }
    }

    @Test func otherStandardExtensions() throws {
        var values = Self.values
        values.tip = 100
        let parts = try SignedExtensionParts(
            extensions: [
                Self.descriptor("CheckEra", extraEmpty: false, additionalEmpty: false),
                Self.descriptor("ChargeAssetTxPayment", extraEmpty: false, additionalEmpty: true),
                Self.descriptor("CheckMetadataHash", extraEmpty: false, additionalEmpty: false),
            ],
            values: values
        )
        // era 0x7500 ‖ compact(100) = 0x9101 ‖ asset None ‖ mode Disabled
        #expect(parts.extra == [0x75, 0x00, 0x91, 0x01, 0x00, 0x00])
        // checkpoint hash ‖ metadata hash None
        #expect(parts.additionalSigned == Self.checkpoint + [0x00])
    }

    @Test func immortalValuesSignTheGenesisHash() throws {
        let values = SignedExtensionValues(specVersion: 1, transactionVersion: 1, genesisHash: Self.genesis, nonce: 0)
        #expect(values.era == .immortal)
        let parts = try SignedExtensionParts(extensions: [Self.descriptor("CheckMortality", extraEmpty: false, additionalEmpty: false)], values: values)
        #expect(parts.extra == [0x00])
        #expect(parts.additionalSigned == Self.genesis)
    }

    @Test func hashesOfTheWrongLengthAreRefused() {
        var values = Self.values
        values.genesisHash = [1, 2, 3]
        #expect(throws: ExtrinsicError.invalidLength(what: "genesis hash", expected: 32, got: 3)) {
            try SignedExtensionParts(extensions: SnapshotExtensions.descriptors, values: values)
        }
        values = Self.values
        values.checkpointBlockHash = []
        #expect(throws: ExtrinsicError.invalidLength(what: "checkpoint block hash", expected: 32, got: 0)) {
            try SignedExtensionParts(extensions: SnapshotExtensions.descriptors, values: values)
        }
    }

    /// The snapshot's extensions add 4 extra (era 2, nonce 1, tip 1) + 72 additional bytes.
    @Test(arguments: [(256, false), (257, true), (255, false), (400, true)])
    func payloadIsHashedOnlyAbove256Bytes(total: Int, hashed: Bool) throws {
        let overhead = 4 + 72
        let call = [UInt8](repeating: 0xab, count: total - overhead)
        let recorder = RecordingSigner()
        let builder = ExtrinsicBuilder(signedExtensions: SnapshotExtensions.descriptors)
        let payload = try builder.signingPayload(call: call, values: Self.values)
        #expect(payload.raw.count == total)
        #expect(payload.isHashed == hashed)
        let expected = hashed ? try Sodium.blake2b(payload.raw, outputLength: 32) : payload.raw
        #expect(payload.message == expected)
        _ = try builder.sign(call: call, values: Self.values, signer: recorder)
        #expect(recorder.signed == [expected])
    }

    @Test func accountIDAddressFormatAndEnvelope() throws {
        let recorder = RecordingSigner()
        let call: [UInt8] = [25, 18, 0, 0]
        let multi = try ExtrinsicBuilder(signedExtensions: SnapshotExtensions.descriptors).sign(call: call, values: Self.values, signer: recorder)
        let bare = try ExtrinsicBuilder(signedExtensions: SnapshotExtensions.descriptors, addressFormat: .accountID)
            .sign(call: call, values: Self.values, signer: recorder)
        let tail: [UInt8] = [0x01] + [UInt8](repeating: 0x5a, count: 64) + [0x75, 0x00, 0x14, 0x00] + call
        let multiBody: [UInt8] = [0x84, 0x00] + recorder.accountID + tail
        let bareBody: [UInt8] = [0x84] + recorder.accountID + tail
        #expect(multi.bytes == Self.lengthPrefixed(multiBody))
        #expect(bare.bytes == Self.lengthPrefixed(bareBody))
        #expect(Array(multi.bytes.prefix(2)) == [0xad, 0x01])  // compact(107)
        #expect(try multi.hash == Sodium.blake2b(multi.bytes, outputLength: 32))
    }

    static func lengthPrefixed(_ body: [UInt8]) -> [UInt8] {
        var encoder = ScaleEncoder()
        encoder.encodeBytes(body)
        return encoder.bytes
    }

    @Test func badSignerOutputIsRefused() {
        let builder = ExtrinsicBuilder(signedExtensions: SnapshotExtensions.descriptors)
        #expect(throws: ExtrinsicError.invalidLength(what: "signature", expected: 64, got: 65)) {
            try builder.sign(call: [25, 18, 0, 0], values: Self.values, signer: RecordingSigner(signatureLength: 65))
        }
        #expect(throws: ExtrinsicError.invalidLength(what: "account id", expected: 32, got: 33)) {
            try builder.sign(call: [25, 18, 0, 0], values: Self.values, signer: RecordingSigner(accountLength: 33))
        }
        #expect(throws: ExtrinsicError.signingFailed("refused")) {
            try builder.sign(call: [25, 18, 0, 0], values: Self.values, signer: FailingSigner())
        }
    }
}

/// Records what it was asked to sign and returns a constant signature.
final class RecordingSigner: ExtrinsicSigner, @unchecked Sendable {
    let accountID: [UInt8]
    let signatureKind = SignatureKind.sr25519
    let signatureLength: Int
    private let lock = NSLock()
    private var payloads: [[UInt8]] = []
    /// Every payload handed to `sign`, in order.
    var signed: [[UInt8]] { lock.withLock { payloads } }

    init(signatureLength: Int = 64, accountLength: Int = 32) {
        self.signatureLength = signatureLength
        accountID = [UInt8](repeating: 0xa1, count: accountLength)
    }

    func sign(_ payload: [UInt8]) throws -> [UInt8] {
        lock.withLock { payloads.append(payload) }
        return [UInt8](repeating: 0x5a, count: signatureLength)
    }
}

struct FailingSigner: ExtrinsicSigner {
    struct Refused: Error, CustomStringConvertible { var description: String { "refused" } }
    let accountID = [UInt8](repeating: 1, count: 32)
    let signatureKind = SignatureKind.ed25519
    func sign(_ payload: [UInt8]) throws -> [UInt8] { throw Refused() }
}
