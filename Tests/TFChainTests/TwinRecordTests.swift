import Foundation
import RMBIdentity
import RMBTestSupport
import Substrate
import TFChain
import Testing
import TwinDirectory

@Suite struct TwinRecordTests {
    struct Vector {
        let id: UInt32
        let account: [UInt8]
        let relayField: String?
        let relayDomains: [String]
        let pk: [UInt8]?
        let scale: [UInt8]
        let twinsKey: [UInt8]
        let accountKey: [UInt8]
        let idValue: [UInt8]
    }

    static func vectors() throws -> [Vector] {
        let root = try Fixtures.json("vectors/twins.json")
        let twins = try #require(root["twins"] as? [[String: Any]])
        return try twins.map { item in
            Vector(
                id: UInt32(try #require(item["id"] as? Int)),
                account: [UInt8](testHex: try #require(item["account_id"] as? String)),
                relayField: item["relay_field_utf8"] as? String,
                relayDomains: item["relay_domains"] as? [String] ?? [],
                pk: (item["pk"] as? String).map { [UInt8](testHex: $0) },
                scale: [UInt8](testHex: try #require(item["scale_twin_hex"] as? String)),
                twinsKey: [UInt8](testHex: try #require(item["storage_key_Twins"] as? String)),
                accountKey: [UInt8](testHex: try #require(item["storage_key_TwinIdByAccountID"] as? String)),
                idValue: [UInt8](testHex: try #require(item["scale_twin_id_value_hex"] as? String))
            )
        }
    }

    @Test func decodesAndReencodesEveryVector() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 3)
        for vector in vectors {
            let record = try TwinRecord(scale: vector.scale)
            #expect(record.id == vector.id)
            #expect(record.account.bytes == vector.account)
            #expect(record.relayText == vector.relayField)
            #expect(record.publicKey == vector.pk)
            #expect(record.entities.isEmpty)
            #expect(record.scaleBytes == vector.scale)
            let twin = record.twin
            #expect(twin.relays.map(\.host) == vector.relayDomains)
            let allSecure = twin.relays.allSatisfy { $0.isSecure }
            #expect(allSecure)
            #expect(twin.e2ePublicKey == vector.pk)
        }
    }

    @Test func storageKeysMatchTheVectors() throws {
        for vector in try Self.vectors() {
            #expect(ChainTwinDirectory.twinKey(id: vector.id) == vector.twinsKey)
            #expect(ChainTwinDirectory.twinIDKey(account: try AccountID(bytes: vector.account)) == vector.accountKey)
        }
    }

    @Test func entitiesAreSkippedToReachThePublicKey() throws {
        let account = try AccountID(bytes: [UInt8](repeating: 7, count: 32))
        let record = TwinRecord(
            id: 9, account: account, relayField: Array("a1.example.com".utf8),
            entities: [.init(entityID: 3, signature: [1, 2, 3]), .init(entityID: 4, signature: [])],
            publicKey: [UInt8](repeating: 2, count: 33))
        let decoded = try TwinRecord(scale: record.scaleBytes)
        #expect(decoded == record)
        #expect(decoded.twin.e2ePublicKey == [UInt8](repeating: 2, count: 33))
    }

    @Test func malformedRecordsThrow() throws {
        let good = try #require(try Self.vectors().first).scale
        for cut in 0..<good.count {
            #expect(throws: TwinRecordError.self) { try TwinRecord(scale: Array(good[..<cut])) }
        }
        #expect(throws: TwinRecordError.self) { try TwinRecord(scale: good + [0]) }
        var badTag = good
        badTag[36] = 7   // the relay Option tag
        #expect(throws: TwinRecordError.self) { try TwinRecord(scale: badTag) }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var bytes = good
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? TwinRecord(scale: bytes)   // must not crash
            let junk = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? TwinRecord(scale: junk)
        }
    }

    @Test func oversizedRelayFieldIsRefused() throws {
        var encoder = ScaleEncoder()
        encoder.encode(UInt32(1))
        encoder.append([UInt8](repeating: 1, count: 32))
        encoder.encodeOptionalBytes([UInt8](repeating: UInt8(ascii: "a"), count: 1025))
        encoder.encodeCompact(0)
        encoder.encode(UInt8(0))
        #expect(throws: TwinRecordError.self) { try TwinRecord(scale: encoder.bytes) }
    }
}

@Suite struct RelayListPlanTests {
    @Test func mergeKeepsRelaysThePeerWasNotGiven() {
        let plan = RelayListPlan(chainHosts: ["r1.example.com", "other.example.net"], givenHosts: ["r1.example.com", "r2.example.org"], mode: .merge)
        #expect(plan.hosts == ["r1.example.com", "r2.example.org", "other.example.net"])
        #expect(plan.kept == ["other.example.net"])
        #expect(plan.added == ["r2.example.org"])
        #expect(plan.removed.isEmpty)
        #expect(plan.relaysChange)
        #expect(plan.relayField == "r1.example.com_r2.example.org_other.example.net")
    }

    @Test func replaceWritesExactlyTheGivenRelays() {
        let plan = RelayListPlan(chainHosts: ["r1.example.com", "other.example.net"], givenHosts: ["r1.example.com"], mode: .replace)
        #expect(plan.hosts == ["r1.example.com"])
        #expect(plan.removed == ["other.example.net"])
        #expect(plan.relaysChange)
    }

    @Test func sameSetInAnotherOrderIsNoChange() {
        let plan = RelayListPlan(chainHosts: ["b1.example.com", "A1.example.com"], givenHosts: ["a1.example.com", "b1.example.com"], mode: .replace)
        #expect(!plan.relaysChange)
        let merged = RelayListPlan(chainHosts: ["b1.example.com", "a1.example.com"], givenHosts: ["a1.example.com"], mode: .merge)
        #expect(!merged.relaysChange)
        #expect(merged.kept == ["b1.example.com"])
    }

    @Test func emptyOrInvalidFieldsAreNotSubmitted() {
        #expect(RelayListPlan(chainHosts: [], givenHosts: [], mode: .replace).relayField == nil)
        #expect(RelayListPlan(chainHosts: [], givenHosts: ["a.example.com"], mode: .replace).relayField == nil)   // tfchain's index-1 quirk
        #expect(RelayListPlan(chainHosts: [], givenHosts: ["ab.example.com"], mode: .replace).relayField == "ab.example.com")
    }
}
