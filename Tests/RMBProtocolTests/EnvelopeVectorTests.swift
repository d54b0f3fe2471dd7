import Foundation
import RMBTestSupport
import Testing
@testable import RMBProtocol

/// Every case of vectors/envelopes.json: both field orders parse, the challenge and the MD5
/// digest are reproduced exactly, and re-serialising gives the vector bytes back.
struct EnvelopeVectorTests {
    static var vectors: [String: Any] { (try? Fixtures.json("vectors/envelopes.json")) ?? [:] }
    static var cases: [[String: Any]] { vectors["cases"] as? [[String: Any]] ?? [] }

    @Test func vectorFileHasAllCases() {
        #expect(Self.cases.count == 7)
    }

    @Test(arguments: ["ed25519", "sr25519"])
    func challengeDigestAndRoundTrip(scheme: String) throws {
        for vector in Self.cases {
            let name = vector["name"] as? String ?? "?"
            let signed = try #require(vector[scheme] as? [String: Any], "\(name)")
            for key in ["envelope_hex_field_order", "envelope_hex_original_order"] {
                let hex = try #require(signed[key] as? String)
                let envelope = try RMBEnvelope(wire: [UInt8](testHex: hex))
                #expect(envelope.challenge.testHex == vector["challenge_hex"] as? String, "\(name) \(key)")
                #expect(envelope.digest.testHex == vector["md5_digest"] as? String, "\(name) \(key)")
                #expect(try envelope.wireBytes().testHex == signed["envelope_hex_field_order"] as? String, "\(name) \(key)")
                #expect(try envelope.wireBytesInOriginalOrder().testHex == signed["envelope_hex_original_order"] as? String, "\(name) \(key)")
                let signature = try TypedSignature(bytes: envelope.signature)
                #expect(signature.keyType == (scheme == "ed25519" ? .ed25519 : .sr25519))
                #expect(signature.bytes.testHex == signed["signature"] as? String)
                #expect(envelope.payloadBytes.testHexData == (vector["payload_bytes"] as? String ?? ""))
            }
        }
    }

    @Test func unsignedEnvelopeMatchesFields() throws {
        for vector in Self.cases {
            let name = vector["name"] as? String ?? "?"
            let fields = try #require(vector["fields"] as? [String: Any])
            let envelope = try RMBEnvelope(wire: [UInt8](testHex: try #require(vector["unsigned_envelope_hex"] as? String)))
            #expect(!envelope.hasSignature, "\(name)")
            #expect(envelope.uid == fields["uid"] as? String)
            #expect(envelope.tags == (fields["tags"] as? String ?? ""))
            #expect(envelope.hasTags == (fields["tags"] as? String != nil))
            #expect(envelope.timestamp == (fields["timestamp"] as? NSNumber)?.uint64Value)
            #expect(envelope.expiration == (fields["expiration"] as? NSNumber)?.uint64Value)
            #expect(envelope.schema == (fields["schema"] as? String ?? ""))
            #expect(envelope.hasSchema == (fields["schema"] as? String != nil))
            #expect(envelope.relays == (fields["relays"] as? [String] ?? []))
            let message = try #require(fields["message"] as? [String: Any])
            #expect(envelope.messageKind == (message["type"] as? String ?? "none").replacingOccurrences(of: "null", with: "none"), "\(name)")
            #expect(envelope.challenge.testHex == vector["challenge_hex"] as? String)
            // Building the same envelope from scratch gives the same bytes.
            #expect(try envelope.wireBytes().testHex == vector["unsigned_envelope_hex"] as? String)
        }
    }

    @Test func challengeTextOfTheSpecExample() throws {
        let vector = try #require(Self.cases.first)
        let envelope = try RMBEnvelope(wire: [UInt8](testHex: try #require(vector["unsigned_envelope_hex"] as? String)))
        #expect(String(decoding: envelope.challenge, as: UTF8.self)
            == "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f1700000000300741testmeapplication/json{\"hello\":\"world\"}")
        #expect(envelope.digest.testHex == "44b891d43d5460bd475765297aed4e34")
    }

    /// A different envelope with the same digest (known-gaps: the challenge is ambiguous).
    @Test func digestAmbiguityExamples() throws {
        let examples = try #require(Self.vectors["digest_ambiguity_examples"] as? [[String: Any]])
        #expect(!examples.isEmpty)
        for example in examples {
            let base = try #require(Self.cases.first { $0["name"] as? String == example["based_on"] as? String })
            let envelope = try RMBEnvelope(wire: [UInt8](testHex: try #require(example["envelope_hex_field_order"] as? String)))
            #expect(envelope.timestamp == (example["timestamp"] as? NSNumber)?.uint64Value)
            #expect(envelope.expiration == (example["expiration"] as? NSNumber)?.uint64Value)
            #expect(envelope.digest.testHex == base["md5_digest"] as? String)
        }
    }

    @Test func backlogs() throws {
        let backlogs = try #require(Self.vectors["backlogs"] as? [[String: Any]])
        #expect(backlogs.count == 2)
        for vector in backlogs {
            let fields = try #require(vector["fields"] as? [String: Any])
            var backlog = RMBBacklog()
            backlog.uid = try #require(fields["uid"] as? String)
            if let reference = fields["reference"] as? String { backlog.reference = reference }
            backlog.replyTo = try #require(fields["reply_to"] as? String)
            backlog.module = try #require(fields["module"] as? String)
            backlog.ttl = try #require((fields["ttl"] as? NSNumber)?.uint64Value)
            let bytes: [UInt8] = try backlog.serializedBytes()
            #expect(bytes.testHex == vector["protobuf_hex"] as? String)
            let parsed = try RMBBacklog(wire: bytes)
            #expect(parsed == backlog)
            #expect(parsed.hasReference == (fields["reference"] as? String != nil))
            #expect(vector["redis_key"] as? String == "msgbus.backlog.\(backlog.uid)")
        }
    }
}

extension Data {
    var testHexData: String { [UInt8](self).testHex }
}
