import Foundation
import Testing
@testable import RMBProtocol

/// The Redis JSON API of peer.md §4: exact key order and nulls on output; nulls, missing
/// optional keys, extra keys and unpadded base64 on input.
struct JSONMessageTests {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func exampleExchangeOfTheSpec() throws {
        let request = try ClientRequest.parse(bytes(#"{"ver":1,"ref":"r1","cmd":"testme","exp":120,"dat":"aGk=","tag":null,"dst":[41],"ret":"q-5c1e","shm":"application/json","now":1700000000}"#))
        #expect(request.reference == "r1" && request.command == "testme" && request.expiration == 120)
        #expect(request.data == Array("hi".utf8) && request.tags == nil && request.destinations == [41])
        #expect(request.replyTo == "q-5c1e" && request.schema == "application/json" && request.now == 1700000000)
        #expect(text(request.jsonBytes()) == #"{"ver":1,"ref":"r1","cmd":"testme","exp":120,"dat":"aGk=","tag":null,"dst":[41],"ret":"q-5c1e","shm":"application/json","now":1700000000}"#)

        let incoming = ServiceRequest(reference: "U", source: "7", command: "testme", expiration: 120, data: Array("hi".utf8),
                                      tags: nil, schema: "application/json", now: 1700000000)
        #expect(text(incoming.jsonBytes()) == #"{"ver":1,"ref":"U","src":"7","cmd":"testme","exp":120,"dat":"aGk=","tag":null,"ret":"msgbus.system.reply","shm":"application/json","now":1700000000}"#)
        #expect(try ServiceRequest.parse(incoming.jsonBytes()) == incoming)

        let reply = try ServiceResponse.parse(bytes(#"{"ver":1,"ref":"U","dat":"aGk=","dst":"7","shm":"application/json","now":1700000001}"#))
        #expect(reply.reference == "U" && reply.destination == "7" && reply.error == nil && reply.data == Array("hi".utf8))

        let response = ClientResponse(reference: "r1", data: Array("hi".utf8), source: "41", schema: "application/json", now: 1700000001, error: nil)
        #expect(text(response.jsonBytes()) == #"{"ver":1,"ref":"r1","dat":"aGk=","src":"41","shm":"application/json","now":1700000001,"err":null}"#)
        #expect(try ClientResponse.parse(response.jsonBytes()) == response)
    }

    @Test func undeliverableReply() {
        let reply = ClientResponse.undeliverable(reference: nil, error: JSONError(code: 103, message: "unknown twin id '9'"))
        #expect(text(reply.jsonBytes()) == #"{"ver":1,"ref":null,"dat":"","src":"","shm":null,"now":0,"err":{"code":103,"message":"unknown twin id '9'"}}"#)
    }

    @Test func optionalKeysMayBeMissingOrNullAndExtraKeysAreIgnored() throws {
        let minimal = try ClientRequest.parse(bytes(#"{"ver":1,"cmd":"a.b","exp":5,"dat":"","dst":[1,2],"ret":"r","now":0,"extra":{"x":[1]}}"#))
        #expect(minimal.reference == nil && minimal.tags == nil && minimal.schema == nil && minimal.data.isEmpty)
        let withErr = try ServiceResponse.parse(bytes(#"{"ver":1,"ref":null,"dat":"!!not base64 but ignored","dst":"7:s","shm":null,"now":0,"err":{"code":7,"message":"boom"}}"#))
        #expect(withErr.error == JSONError(code: 7, message: "boom") && withErr.data.isEmpty)
    }

    @Test func base64WithAndWithoutPadding() throws {
        for dat in ["aGk=", "aGk", "aGVsbG8=", "aGVsbG8"] {
            let r = try ServiceResponse.parse(bytes(#"{"ver":1,"ref":"x","dat":"\#(dat)","dst":"7","now":0}"#))
            #expect(!r.data.isEmpty)
        }
        #expect(Base64Payload.decode("a") == nil)
        #expect(Base64Payload.decode("aG k=") == nil)
        #expect(Base64Payload.decode("_-8=") == nil)
        #expect(Base64Payload.encode([0xff, 0xfe]) == "//4=")
    }

    @Test func errorsNameTheKey() {
        let cases: [(String, String)] = [
            (#"{"ver":1,"exp":5,"dat":"","dst":[1],"ret":"r","now":0}"#, "missing required key 'cmd'"),
            (#"{"ver":1,"cmd":"c","exp":5,"dat":"","dst":"7","ret":"r","now":0}"#, "key 'dst'"),
            (#"{"ver":1,"cmd":"c","exp":-5,"dat":"","dst":[1],"ret":"r","now":0}"#, "invalid JSON"),
            (#"{"ver":1,"cmd":"c","exp":5,"dat":"@@","dst":[1],"ret":"r","now":0}"#, "key 'dat': invalid base64"),
            (#"not json"#, "invalid JSON"),
            (#"[1,2]"#, "expected an object"),
        ]
        for (input, expected) in cases {
            do {
                _ = try ClientRequest.parse(bytes(input))
                Issue.record("accepted \(input)")
            } catch {
                #expect(error.description.contains(expected), "\(input) → \(error)")
            }
        }
        // dst of a service response must be a string, not an array
        #expect(throws: JSONMessageError.self) { try ServiceResponse.parse(self.bytes(#"{"ver":1,"ref":"x","dat":"","dst":[7],"now":0}"#)) }
    }

    @Test func stringEscapingMatchesSerde() throws {
        let r = ClientResponse(reference: "q\"\\\n\u{1}é/", data: [], source: "1", schema: nil, now: 0, error: nil)
        let json = text(r.jsonBytes())
        #expect(json.contains(#""ref":"q\"\\\n\u0001é/""#))
        #expect(try ClientResponse.parse(r.jsonBytes()).reference == r.reference)
    }

    /// Random bytes and mutated messages into every parser: errors, never a crash.
    @Test func randomInputNeverCrashesTheParsers() {
        let good = Array(#"{"ver":1,"ref":"r1","cmd":"testme","exp":120,"dat":"aGk=","tag":null,"dst":[41],"ret":"q","shm":"a","now":1}"#.utf8)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<4000 {
            var input: [UInt8]
            if i % 2 == 0 {
                input = (0..<Int.random(in: 0..<120, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                input = good
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 32...126, using: &rng)
                }
            }
            _ = try? ClientRequest.parse(input)
            _ = try? ClientResponse.parse(input)
            _ = try? ServiceRequest.parse(input)
            _ = try? ServiceResponse.parse(input)
        }
    }
}
