import Foundation
import RMBTestSupport
import Substrate
import Testing

@Suite struct EventDecodingTests {
    static let twinVector = "0700000046ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a014472656c61792e6578616d706c652e636f6d000184035b26108e8b97479c547da4860d862dc08ab2c29ada449c74d5a9a58a6c46a8c4"

    /// Bytes from an independent encoder: `scripts/make-events-fixture.py` (py-scale-codec,
    /// driven by the snapshot's registry).
    @Test func decodesIndependentlyEncodedEvents() throws {
        let metadata = try MetadataSnapshot.metadata()
        let hex = try #require(String(data: Fixtures.data("tfchain/events-twin-updated.hex"), encoding: .utf8))
        let bytes = [UInt8](testHex: hex.trimmingCharacters(in: .whitespacesAndNewlines))
        let events = try EventDecoder(metadata: metadata).decode(bytes)

        #expect(events.map(\.palletName) == ["System", "TfgridModule", "TransactionPayment", "System", "Balances"])
        #expect(events.map(\.eventName) == ["ExtrinsicSuccess", "TwinUpdated", "TransactionFeePaid", "ExtrinsicSuccess", "Deposit"])
        #expect(events.map(\.palletIndex) == [0, 25, 21, 0, 20])
        #expect(events.map(\.phase) == [.applyExtrinsic(0), .applyExtrinsic(1), .applyExtrinsic(1), .applyExtrinsic(1), .finalization])

        let twinUpdated = events[1]
        #expect(twinUpdated.is(pallet: "TfgridModule", event: "TwinUpdated"))
        #expect(twinUpdated.variantIndex == 12)
        #expect(twinUpdated.fields.testHex == Self.twinVector)

        // ExtrinsicSuccess { DispatchInfo { weight { compact ref_time, compact proof_size }, class, pays_fee } }.
        var info = ScaleEncoder()
        info.encodeCompact(260_558_000)
        info.encodeCompact(1493)
        info.encode(UInt8(2))  // Mandatory
        info.encode(UInt8(0))  // Pays::Yes
        #expect(events[0].fields == info.bytes)

        // TransactionFeePaid { who, actual_fee: u128, tip: u128 }: 32 + 16 + 16 bytes.
        #expect(events[2].fields.count == 64)
        // Deposit { who, amount: u128 = 2^64 + 1 }.
        #expect(events[4].fields.suffix(16) == [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0][...])
    }

    /// The same kind of list built by hand from the snapshot's layouts.
    @Test func decodesHandBuiltEvents() throws {
        let metadata = try MetadataSnapshot.metadata()
        let twin = [UInt8](testHex: Self.twinVector)
        var encoder = ScaleEncoder()
        encoder.encodeCompact(3)
        // Phase::Initialization, System.CodeUpdated (no fields), one topic.
        encoder.encode(UInt8(2))
        encoder.append([0, 2])
        encoder.encodeCompact(1)
        encoder.append([UInt8](repeating: 0xCD, count: 32))
        // Phase::ApplyExtrinsic(1), TfgridModule.TwinUpdated(Twin), no topics.
        encoder.encode(UInt8(0))
        encoder.encode(UInt32(1))
        encoder.append([25, 12])
        encoder.append(twin)
        encoder.encodeCompact(0)
        // Phase::ApplyExtrinsic(7), TfgridModule.TwinAccountBounded(u32, AccountId32).
        encoder.encode(UInt8(0))
        encoder.encode(UInt32(7))
        encoder.append([25, 16])
        encoder.encode(UInt32(55))
        encoder.append([UInt8](repeating: 0xAA, count: 32))
        encoder.encodeCompact(0)

        let events = try EventDecoder(metadata: metadata).decode(encoder.bytes)
        #expect(events.count == 3)
        #expect(events[0] == DecodedEvent(phase: .initialization, palletIndex: 0, palletName: "System", variantIndex: 2, eventName: "CodeUpdated", fields: []))
        #expect(events[1] == DecodedEvent(phase: .applyExtrinsic(1), palletIndex: 25, palletName: "TfgridModule", variantIndex: 12, eventName: "TwinUpdated", fields: twin))
        #expect(events[2].eventName == "TwinAccountBounded")
        #expect(events[2].phase == .applyExtrinsic(7))
        #expect(events[2].fields == [55, 0, 0, 0] + [UInt8](repeating: 0xAA, count: 32))

        #expect(try EventDecoder(metadata: metadata).decode([0]).isEmpty)
    }

    @Test func rejectsUnknownTagsAndTrailingBytes() throws {
        let decoder = try EventDecoder(metadata: MetadataSnapshot.metadata())
        // Pallet index 2 does not exist.
        #expect(throws: ScaleError.self) { try decoder.decode([4, 1, 2, 0, 0]) }
        // System has no event 200.
        #expect(throws: ScaleError.self) { try decoder.decode([4, 1, 0, 200, 0]) }
        // Phase tag 9.
        #expect(throws: ScaleError.self) { try decoder.decode([4, 9, 0, 2, 0]) }
        // A valid record followed by junk.
        #expect(try decoder.decode([4, 1, 0, 2, 0]).count == 1)
        #expect(throws: ScaleError.trailingBytes(count: 1)) { try decoder.decode([4, 1, 0, 2, 0, 0]) }
    }

    @Test func everyTruncationThrows() throws {
        let metadata = try MetadataSnapshot.metadata()
        let decoder = try EventDecoder(metadata: metadata)
        let hex = try #require(String(data: Fixtures.data("tfchain/events-twin-updated.hex"), encoding: .utf8))
        let bytes = [UInt8](testHex: hex.trimmingCharacters(in: .whitespacesAndNewlines))
        for cut in 0..<bytes.count {
            #expect(throws: ScaleError.self, "cut at \(cut)") { try decoder.decode(Array(bytes[..<cut])) }
        }
    }
}
