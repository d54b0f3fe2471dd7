import RMBCrypto
import RMBTestSupport
import Substrate
import Testing

/// Signed `TfgridModule.update_twin` extrinsics, byte for byte against py-scale-codec
/// (Tests/Fixtures/tfchain/extrinsic-update-twin.json).
@Suite struct ExtrinsicTests {
    typealias Case = ExtrinsicFixture.Case

    @Test func fixtureHasCasesAndMatchesTheHandWrittenExtensionList() throws {
        let fixture = try ExtrinsicFixture.load()
        #expect(fixture.cases.count >= 8)
        #expect(fixture.cases.contains { $0.payload_is_hashed } && fixture.cases.contains { !$0.payload_is_hashed })
        let format = fixture.extrinsic_format
        #expect(format.extrinsic_version == 4)
        #expect(format.address_type == "sp_runtime::multiaddress::MultiAddress")
        #expect(format.address_variants["Id"] == 0)
        #expect(format.signature_type == "sp_runtime::MultiSignature")
        #expect(format.signature_variants["Ed25519"] == SignatureKind.ed25519.multiSignatureIndex)
        #expect(format.signature_variants["Sr25519"] == SignatureKind.sr25519.multiSignatureIndex)
        let fromFixture = format.signed_extensions.map {
            SignedExtensionDescriptor(
                identifier: $0.identifier, extraTypeID: $0.extra_type_id, additionalSignedTypeID: $0.additional_signed_type_id,
                extraIsEmpty: $0.extra_is_empty, additionalSignedIsEmpty: $0.additional_signed_is_empty
            )
        }
        #expect(fromFixture == SnapshotExtensions.descriptors)
    }

    @Test(arguments: ExtrinsicFixture.sharedCases)
    func callAndSignedExtensionsMatch(_ c: Case) throws {
        let fixture = try #require(ExtrinsicFixture.shared)
        #expect(Self.updateTwinCall(c, fixture).testHex == c.call)
        #expect(Self.era(c).encoded.testHex == c.era_bytes)

        let builder = ExtrinsicBuilder(signedExtensions: SnapshotExtensions.descriptors)
        let values = Self.values(c, fixture)
        let parts = try builder.extensionParts(values)
        #expect(parts.extra.testHex == c.extra)
        #expect(parts.additionalSigned.testHex == c.additional_signed)

        // Each extension alone, so a mismatch names the extension.
        for (descriptor, expected) in zip(SnapshotExtensions.descriptors, c.extensions) {
            #expect(descriptor.identifier == expected.identifier)
            let single = try SignedExtensionParts(extensions: [descriptor], values: values)
            #expect(single.extra.testHex == expected.extra, "extra of \(descriptor.identifier)")
            #expect(single.additionalSigned.testHex == expected.additional_signed, "additional of \(descriptor.identifier)")
        }

        let payload = try builder.signingPayload(call: Self.updateTwinCall(c, fixture), values: values)
        #expect(payload.raw.testHex == c.signing_payload)
        #expect(payload.raw.count == c.signing_payload_length)
        #expect(payload.isHashed == c.payload_is_hashed)
        #expect(payload.message.testHex == c.signed_message)
    }

    @Test(arguments: ExtrinsicFixture.sharedCases.filter { $0.scheme == "ed25519" })
    func ed25519ExtrinsicIsByteForByte(_ c: Case) throws {
        let fixture = try #require(ExtrinsicFixture.shared)
        let signer = try Ed25519ExtrinsicSigner(seed: AlphaKeys.miniSecret)
        #expect(signer.accountID.testHex == c.account_id)
        let builder = ExtrinsicBuilder(signedExtensions: SnapshotExtensions.descriptors)
        let extrinsic = try builder.sign(call: Self.updateTwinCall(c, fixture), values: Self.values(c, fixture), signer: signer)
        #expect(extrinsic.bytes.testHex == c.extrinsic)
        #expect(extrinsic.hash.testHex == c.extrinsic_hash)
        #expect(extrinsic.hexString == "0x" + c.extrinsic)
        #expect(extrinsic.hashHexString == "0x" + c.extrinsic_hash)
    }

    @Test(arguments: ExtrinsicFixture.sharedCases.filter { $0.scheme == "sr25519" })
    func sr25519ExtrinsicMatchesAroundItsRandomSignature(_ c: Case) throws {
        let fixture = try #require(ExtrinsicFixture.shared)
        let signer = try Sr25519ExtrinsicSigner(miniSecret: AlphaKeys.miniSecret)
        #expect(signer.accountID.testHex == c.account_id)
        let builder = ExtrinsicBuilder(signedExtensions: SnapshotExtensions.descriptors)
        let call = Self.updateTwinCall(c, fixture)
        let values = Self.values(c, fixture)
        let ours = try builder.sign(call: call, values: values, signer: signer).bytes
        let theirs = [UInt8](testHex: c.extrinsic)
        let range = c.signature_offset..<(c.signature_offset + 64)
        try #require(ours.count == theirs.count)
        #expect(Array(theirs[range]).testHex == c.signature)
        #expect(Array(ours[..<range.lowerBound]) == Array(theirs[..<range.lowerBound]))
        #expect(Array(ours[range.upperBound...]) == Array(theirs[range.upperBound...]))

        let message = [UInt8](testHex: c.signed_message)
        let account = [UInt8](testHex: c.account_id)
        #expect(Sr25519.verify(signature: Array(ours[range]), message: message, publicKey: account))
        // The Python signature verifies here too, and splicing it in reproduces the fixture exactly.
        let pythonSignature = [UInt8](testHex: c.signature)
        #expect(Sr25519.verify(signature: pythonSignature, message: message, publicKey: account))
        let spliced = try builder.assemble(
            call: call, extensions: builder.extensionParts(values), accountID: account, signatureKind: .sr25519, signature: pythonSignature
        )
        #expect(spliced.bytes.testHex == c.extrinsic)
        #expect(spliced.hash.testHex == c.extrinsic_hash)
    }

    @Test(arguments: ExtrinsicFixture.sharedCases.filter { $0.scheme == "ed25519" })
    func ed25519SignatureVerifiesOverTheSignedMessage(_ c: Case) throws {
        let extrinsic = [UInt8](testHex: c.extrinsic)
        let signature = Array(extrinsic[c.signature_offset..<(c.signature_offset + 64)])
        #expect(Sodium.ed25519Verify(signature, message: [UInt8](testHex: c.signed_message), publicKey: [UInt8](testHex: c.account_id)))
    }

    // MARK: - Inputs from a fixture case

    /// `pallet ‖ call ‖ Option<BoundedVec<u8>> relay ‖ Option<BoundedVec<u8>> pk`.
    static func updateTwinCall(_ c: Case, _ fixture: ExtrinsicFixture) -> [UInt8] {
        var encoder = ScaleEncoder()
        encoder.encode(fixture.call_index["pallet"] ?? 0)
        encoder.encode(fixture.call_index["call"] ?? 0)
        encoder.encodeOptionalBytes(c.relay_utf8.map { Array($0.utf8) })
        encoder.encodeOptionalBytes(c.pk.map { [UInt8](testHex: $0) })
        return encoder.bytes
    }

    static func era(_ c: Case) -> Era {
        guard let mortal = c.era else { return .immortal }
        return .mortal(period: mortal.period, current: mortal.current)
    }

    static func values(_ c: Case, _ fixture: ExtrinsicFixture) -> SignedExtensionValues {
        SignedExtensionValues(
            specVersion: fixture.spec_version, transactionVersion: fixture.transaction_version,
            genesisHash: [UInt8](testHex: fixture.genesis_hash), era: era(c),
            checkpointBlockHash: [UInt8](testHex: c.checkpoint_block_hash), nonce: c.nonce, tip: c.tip
        )
    }
}
