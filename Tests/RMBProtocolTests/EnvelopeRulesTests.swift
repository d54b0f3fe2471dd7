import Foundation
import RMBTestSupport
import Testing
@testable import RMBProtocol

struct EnvelopeRulesTests {
    @Test func stampAndTTLExamplesOfTheSpec() {
        func stamp(_ now: UInt64, _ ts: UInt64, _ exp: UInt64) -> [UInt64] {
            let r = Expiration.stamp(now: now, timestamp: ts, expiration: exp)
            return [r.timestamp, r.expiration]
        }
        #expect(stamp(1, 0, 20) == [1, 20])
        #expect(stamp(1, 10, 20) == [1, 20])
        #expect(stamp(10, 1, 20) == [10, 11])
        #expect(stamp(21, 1, 20) == [21, 0])
        #expect(stamp(30, 1, 20) == [30, 0])
        #expect(Expiration.ttl(now: 0, timestamp: 10, expiration: 20) == 30)
        #expect(Expiration.ttl(now: 10, timestamp: 0, expiration: 20) == 10)
        #expect(Expiration.ttl(now: 20, timestamp: 0, expiration: 20) == nil)
        #expect(Expiration.ttl(now: 30, timestamp: 0, expiration: 20) == nil)
        #expect(Expiration.ttl(now: 5, timestamp: .max, expiration: .max) != nil)
    }

    @Test func clamp() {
        #expect(Expiration.clamp(0) == 300)
        #expect(Expiration.clamp(120) == 120)
        #expect(Expiration.clamp(3600) == 1800)
    }

    @Test func addressTextForm() throws {
        #expect(RMBAddress(twin: 7).text == "7")
        #expect(RMBAddress(twin: 55, connection: "sess-1").text == "55:sess-1")
        #expect(try RMBAddress(text: "55:sess-1") == RMBAddress(twin: 55, connection: "sess-1"))
        #expect(try RMBAddress(text: "55:a:b").connection == "a:b")
        #expect(try RMBAddress(text: "7").hasConnection == false)
        #expect(try RMBAddress(text: "7:").hasConnection == true)
        for bad in ["", ":x", "-1", "+7", "x", "4294967296", " 7", "7 "] {
            #expect(throws: AddressError.self, "\(bad)") { try RMBAddress(text: bad) }
        }
    }

    @Test func typedSignature() throws {
        let raw = [UInt8](repeating: 1, count: 64)
        let sig = try TypedSignature(keyType: .sr25519, signature: raw)
        #expect(sig.bytes.count == 65 && sig.bytes[0] == 0x73)
        #expect(try TypedSignature(bytes: sig.bytes) == sig)
        #expect(throws: SignatureError.invalidLength(64)) { try TypedSignature(bytes: raw) }
        #expect(throws: SignatureError.unknownType(0x78)) { try TypedSignature(bytes: [0x78] + raw) }
        #expect(KeyType(name: "SR25519") == .sr25519 && KeyType(name: "Ed25519") == .ed25519 && KeyType(name: "x") == nil)
    }

    @Test func errorCodesAndTexts() {
        #expect(ProtocolError.expired.code == 102)
        #expect(ProtocolError.expired.description == "envelope validation error: message has expired")
        #expect(ProtocolError.unknownTwin(9).description == "unknown twin id '9'")
        #expect(ProtocolError.unknownTwin(9).code == 103)
        #expect(ProtocolError.invalidSignature("x").code == 104)
        #expect(ProtocolError.senderHasNoPublicKey.code == 105)
        #expect(ProtocolError.e2e("invalid cipher data").description == "e2e error: invalid cipher data")
        #expect(ProtocolError.other("x").code == 500)
        #expect(ProtocolError.invalidPayloadType.code == 100)
        #expect(ProtocolError.invalidPayloadData("x").code == 101)
        #expect(ProtocolError.expired.wireError.code == 102)
    }

    @Test func emptySubMessagesSerialiseAsTagAndZeroLength() throws {
        var e = RMBEnvelope()
        e.response = RMBResponse()
        #expect(try e.wireBytes() == [0x42, 0x00])
        e.ping = RMBPing()
        #expect(try e.wireBytes() == [0x7a, 0x00])
        e.pong = RMBPong()
        #expect(try e.wireBytes() == [0x82, 0x01, 0x00])
    }

    @Test func unknownFieldsAreKept() throws {
        var e = RMBEnvelope()
        e.uid = "u"
        // field 99, varint 5
        let bytes = try e.wireBytes() + [0x98, 0x06, 0x05]
        let parsed = try RMBEnvelope(wire: bytes)
        #expect(try parsed.wireBytes() == bytes)
        #expect(try parsed.wireBytesInOriginalOrder() == bytes)
    }

    @Test func malformedAndInvalidUTF8AreRejected() {
        #expect(throws: ProtocolError.self) { try RMBEnvelope(wire: [0x0a, 0x05, 0x61]) }           // truncated
        #expect(throws: ProtocolError.self) { try RMBEnvelope(wire: [0x0a, 0x02, 0xc3, 0x28]) }     // bad UTF-8 uid
        #expect(throws: ProtocolError.self) { try RMBEnvelope(wire: [0xff]) }
    }

    /// Thousands of random and mutated inputs: the decoder returns or throws, never crashes.
    @Test func randomBytesNeverCrashTheDecoder() throws {
        var rng = SystemRandomNumberGenerator()
        let seed = try [UInt8](testHex: #require((try? Fixtures.json("vectors/envelopes.json"))?["cases"] as? [[String: Any]])
            .first.flatMap { ($0["ed25519"] as? [String: Any])?["envelope_hex_field_order"] as? String } ?? "")
        var parsed = 0
        for i in 0..<5000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = seed
                for _ in 0..<Int.random(in: 1...8, using: &rng) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
            }
            if let envelope = try? RMBEnvelope(wire: bytes) {
                parsed += 1
                _ = envelope.digest
                _ = try? envelope.wireBytesInOriginalOrder()
            }
        }
        #expect(parsed > 0)
    }
}
