import Foundation
import Testing
@testable import SubstrateRPC

@Suite("JSONValue, hex and chain types")
struct ValueTests {
    @Test("JSONValue parses and prints")
    func roundTrip() throws {
        let text = #"{"a":[1,2.5,true,null,"x"],"b":{"c":-3},"n":18014398509481984}"#
        let value = try #require(JSONValue(parsing: text))
        #expect(value["a"]?[1] == .number(2.5))
        #expect(value["a"]?[0]?.uint64Value == 1)
        #expect(value["b"]?["c"]?.int64Value == -3)
        #expect(value["b"]?["c"]?.uint64Value == nil)
        #expect(value["a"]?[9] == nil)
        #expect(value["n"]?.uint64Value == 18_014_398_509_481_984)
        #expect(JSONValue(parsing: value.jsonText) == value)
        #expect(JSONValue.array([1, "two", nil]).jsonText == #"[1,"two",null]"#)
        #expect(JSONValue(parsing: "{") == nil)
        #expect(JSONValue(parsing: "") == nil)
    }

    @Test("hex")
    func hex() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "0x00abff")
        #expect(Hex.decode("0x00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("00ab") == [0x00, 0xab])
        #expect(Hex.decode("0x") == [])
        #expect(Hex.decode("0x0") == nil)
        #expect(Hex.decode("0xzz") == nil)
    }

    @Test("transaction statuses")
    func statuses() throws {
        #expect(try TransactionStatus(json: "ready") == .ready)
        #expect(try TransactionStatus(json: ["usurped": "0x01"]) == .usurped([1]))
        #expect(try TransactionStatus(json: ["finalityTimeout": "0x02"]).isFinal)
        #expect(try !TransactionStatus(json: ["retracted": "0x02"]).isFinal)
        #expect(throws: RPCError.self) { try TransactionStatus(json: "bogus") }
        #expect(throws: RPCError.self) { try TransactionStatus(json: ["inBlock": 5]) }
    }

    @Test("header numbers")
    func headerNumbers() throws {
        #expect(try BlockHeader(json: ["number": "0xff", "parentHash": "0x00"]).number == 255)
        #expect(try BlockHeader(json: ["number": 12, "parentHash": "0x00"]).number == 12)
        #expect(throws: RPCError.self) { try BlockHeader(json: ["number": "0x", "parentHash": "0x00"]) }
        #expect(throws: RPCError.self) { try BlockHeader(json: ["number": "0x1"]) }
    }

    @Test("inbound messages are sorted without failing")
    func inbound() {
        #expect(InboundMessage(text: Array(#"{"id":"7","result":1}"#.utf8)) == .response(id: 7, outcome: .success(1)))
        #expect(InboundMessage(text: Array(#"{"params":{"subscription":5,"result":1}}"#.utf8))
            == .notification(subscription: "5", outcome: .success(1)))
        if case .ignored = InboundMessage(text: Array("\u{0}".utf8)) {} else { Issue.record("expected ignored") }
    }
}
