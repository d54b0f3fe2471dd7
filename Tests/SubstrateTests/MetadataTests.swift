import Foundation
import RMBTestSupport
import Substrate
import Testing

@Suite struct MetadataTests {
    @Test func snapshotParses() throws {
        let metadata = try MetadataSnapshot.metadata()
        #expect(metadata.types.types.count == 303)
        #expect(metadata.extrinsic.version == 4)
        #expect(try metadata.pallet(named: "System").index == 0)
        #expect(metadata.pallet(index: 25)?.name == "TfgridModule")
        #expect(metadata.types.type(metadata.runtimeType)?.path.last == "Runtime")
    }

    @Test func tfgridModuleIndices() throws {
        let metadata = try MetadataSnapshot.metadata()
        #expect(try metadata.pallet(named: "TfgridModule").index == 25)
        let update = try metadata.callIndex(pallet: "TfgridModule", call: "update_twin")
        #expect(update.palletIndex == 25 && update.callIndex == 18)
        let create = try metadata.callIndex(pallet: "TfgridModule", call: "create_twin")
        #expect(create.palletIndex == 25 && create.callIndex == 17)

        let events: [(String, UInt8)] = [
            ("TwinStored", 11), ("TwinUpdated", 12), ("TwinEntityStored", 13),
            ("TwinEntityRemoved", 14), ("TwinDeleted", 15), ("TwinAccountBounded", 16),
        ]
        for (name, index) in events {
            let found = try metadata.eventIndex(pallet: "TfgridModule", event: name)
            #expect(found.palletIndex == 25, "\(name)")
            #expect(found.eventIndex == index, "\(name)")
        }
    }

    @Test func updateTwinArguments() throws {
        let metadata = try MetadataSnapshot.metadata()
        let call = try metadata.call(pallet: "TfgridModule", call: "update_twin")
        #expect(call.fields.map(\.name) == ["relay", "pk"])
        #expect(call.fields.map(\.typeName) == ["RelayInput", "PkInput"])
        // Both are Option<BoundedVec<u8, N>>: an enum whose Some holds a byte sequence.
        for field in call.fields {
            let option = try #require(metadata.types.type(field.type))
            #expect(option.path == ["Option"])
            guard case .variant(let variants) = option.definition else { Issue.record("not an enum"); continue }
            #expect(variants.map(\.name) == ["None", "Some"])
        }
    }

    @Test func twinEventCarriesTheTwinType() throws {
        let metadata = try MetadataSnapshot.metadata()
        let event = try metadata.event(pallet: "TfgridModule", event: "TwinUpdated")
        #expect(event.fields.count == 1)
        let twin = try #require(metadata.types.type(event.fields[0].type))
        #expect(twin.path.last == "Twin")
        guard case .composite(let fields) = twin.definition else { Issue.record("Twin is not a struct"); return }
        #expect(fields.map(\.name) == ["id", "account_id", "relay", "entities", "pk"])
        #expect(try metadata.storageEntry(pallet: "TfgridModule", item: "Twins").valueType == event.fields[0].type)
    }

    @Test func signedExtensionsInOrder() throws {
        let metadata = try MetadataSnapshot.metadata()
        let extensions = metadata.signedExtensions
        #expect(extensions.map(\.identifier) == [
            "CheckNonZeroSender", "CheckSpecVersion", "CheckTxVersion", "CheckGenesis",
            "CheckMortality", "CheckNonce", "CheckWeight", "ChargeTransactionPayment",
        ])
        // Extra: only the era, nonce and tip carry data. Additional signed: spec and tx
        // versions, genesis hash and the era's block hash.
        #expect(extensions.map(\.extraIsEmpty) == [true, true, true, true, false, false, true, false])
        #expect(extensions.map(\.additionalSignedIsEmpty) == [true, false, false, false, false, true, true, true])
        #expect(extensions.map(\.extraTypeID) == [293, 294, 295, 296, 297, 299, 300, 301])
        #expect(extensions.map(\.additionalSignedTypeID) == [32, 4, 4, 12, 12, 32, 32, 32])
    }

    @Test func extrinsicAddressAndSignatureTypes() throws {
        let metadata = try MetadataSnapshot.metadata()
        let parameters = metadata.extrinsicParameters
        let address = try #require(parameters.address.flatMap { metadata.types.type($0) })
        #expect(address.path.last == "MultiAddress")
        guard case .variant(let addressVariants) = address.definition else { Issue.record("address is not an enum"); return }
        #expect(addressVariants.first { $0.name == "Id" }?.index == 0)
        let signature = try #require(parameters.signature.flatMap { metadata.types.type($0) })
        #expect(signature.path.last == "MultiSignature")
        guard case .variant(let signatureVariants) = signature.definition else { Issue.record("signature is not an enum"); return }
        #expect(signatureVariants.map(\.name) == ["Ed25519", "Sr25519", "Ecdsa"])
        #expect(signatureVariants.map(\.index) == [0, 1, 2])
        #expect(parameters.call != nil && parameters.extra != nil)
    }

    @Test func storageEntries() throws {
        let metadata = try MetadataSnapshot.metadata()
        let events = try metadata.storageEntry(pallet: "System", item: "Events")
        #expect(events.hashers.isEmpty)
        #expect(events.keyType == nil)
        guard case .sequence = metadata.types.type(events.valueType)?.definition else { Issue.record("Events is not a Vec"); return }
        let twins = try metadata.storageEntry(pallet: "TfgridModule", item: "Twins")
        #expect(twins.modifier == .optional)
        #expect(metadata.types.type(twins.keyType ?? .max)?.definition == .primitive(.u32))
        let twinID = try metadata.storageEntry(pallet: "TfgridModule", item: "TwinID")
        #expect(twinID.kind == .plain(value: twins.keyType ?? .max))
        #expect(twinID.modifier == .default)
        #expect(twinID.defaultValue == [0, 0, 0, 0])
    }

    @Test func missingNamesThrowClearErrors() throws {
        let metadata = try MetadataSnapshot.metadata()
        #expect(throws: MetadataError.missingPallet("Nope")) { try metadata.pallet(named: "Nope") }
        #expect(throws: MetadataError.missingCall(pallet: "TfgridModule", call: "update_twin2")) {
            try metadata.callIndex(pallet: "TfgridModule", call: "update_twin2")
        }
        #expect(throws: MetadataError.missingEvent(pallet: "TfgridModule", event: "TwinExploded")) {
            try metadata.eventIndex(pallet: "TfgridModule", event: "TwinExploded")
        }
        #expect(throws: MetadataError.missingStorageEntry(pallet: "System", item: "Nope")) {
            try metadata.storageEntry(pallet: "System", item: "Nope")
        }
        // A pallet without calls (Historical has none in the snapshot) reports the call missing.
        #expect(throws: MetadataError.self) { try metadata.callIndex(pallet: "Historical", call: "x") }
        #expect(MetadataError.missingCall(pallet: "TfgridModule", call: "update_twin").description == "metadata has no call TfgridModule.update_twin")
    }

    @Test func headerIsChecked() throws {
        var bytes = try MetadataSnapshot.bytes()
        bytes[4] = 15
        #expect(throws: MetadataError.unsupportedVersion(15)) { try RuntimeMetadata(bytes: bytes) }
        bytes[4] = 13
        #expect(throws: MetadataError.unsupportedVersion(13)) { try RuntimeMetadata(bytes: bytes) }
        bytes[0] = 0x4d
        #expect(throws: MetadataError.badMagic(0x6174_654D)) { try RuntimeMetadata(bytes: bytes) }
        #expect(throws: MetadataError.self) { try RuntimeMetadata(bytes: []) }
        #expect(throws: MetadataError.self) { try RuntimeMetadata(bytes: try MetadataSnapshot.bytes() + [0]) }
    }

    @Test func zeroSizedTypesOfTheSnapshot() throws {
        let metadata = try MetadataSnapshot.metadata()
        let empties = metadata.types.types.filter { metadata.types.encodesToZeroBytes($0.id) }
        #expect(!empties.isEmpty)
        for type in empties {
            switch type.definition {
            case .composite, .tuple, .array: break
            default: Issue.record("type \(type.id) \(type.pathString) reported zero-sized")
            }
        }
        #expect(metadata.types.encodesToZeroBytes(4) == false)  // u32
    }
}
