import Foundation
import RMBTestSupport
import Testing
@testable import RMBIdentity
import RMBProtocol

/// Envelope and JWT signatures of the vectors: ed25519 byte for byte, sr25519 verify-only;
/// our own signatures verify and any flipped bit breaks them.
struct SigningVectorTests {
    static func identity(_ name: String, _ type: KeyType) throws -> Identity {
        let list = try #require(try Fixtures.json("vectors/identities.json")["identities"] as? [[String: Any]])
        let vector = try #require(list.first { $0["name"] as? String == name })
        return try Identity(parsing: try #require(vector["secret"] as? String), keyType: type)
    }

    static var cases: [[String: Any]] {
        ((try? Fixtures.json("vectors/envelopes.json"))?["cases"] as? [[String: Any]]) ?? []
    }

    @Test(arguments: KeyType.allCases)
    func envelopeSignatures(type: KeyType) throws {
        #expect(Self.cases.count == 7)
        for vector in Self.cases {
            let name = vector["name"] as? String ?? "?"
            let fields = try #require(vector["fields"] as? [String: Any])
            let signer = try Self.identity(try #require(fields["signer"] as? String), type)
            let scheme = try #require(vector[type.description] as? [String: Any])
            let account = try AccountID(parsing: try #require(scheme["signer_account"] as? String))
            #expect(account == signer.account)
            for key in ["envelope_hex_field_order", "envelope_hex_original_order"] {
                let envelope = try RMBEnvelope(wire: [UInt8](testHex: try #require(scheme[key] as? String)))
                try envelope.verifySignature(account: account)
                // Re-signing the unsigned envelope reproduces ed25519 byte for byte; sr25519 verifies.
                var unsigned = try RMBEnvelope(wire: [UInt8](testHex: try #require(vector["unsigned_envelope_hex"] as? String)))
                try unsigned.sign(with: signer)
                try unsigned.verifySignature(account: account)
                if type == .ed25519 {
                    #expect([UInt8](unsigned.signature).testHex == scheme["signature"] as? String, "\(name)")
                    #expect(try unsigned.wireBytes().testHex == scheme["envelope_hex_field_order"] as? String)
                }
            }
        }
    }

    @Test func digestAmbiguityExampleVerifiesWithTheSameSignature() throws {
        let vectors = try Fixtures.json("vectors/envelopes.json")
        let example = try #require((vectors["digest_ambiguity_examples"] as? [[String: Any]])?.first)
        let envelope = try RMBEnvelope(wire: [UInt8](testHex: try #require(example["envelope_hex_field_order"] as? String)))
        try envelope.verifySignature(account: try Self.identity("dev", .ed25519).account)
    }

    @Test func cipherCaseDecrypts() throws {
        let vector = try #require(Self.cases.first { $0["name"] as? String == "request_cipher" })
        let fields = try #require(vector["fields"] as? [String: Any])
        let payload = try #require(fields["payload"] as? [String: Any])
        let sender = try Self.identity("dev", .sr25519)
        let receiver = try Self.identity(try #require(payload["to"] as? String), .sr25519)
        let envelope = try RMBEnvelope(wire: [UInt8](testHex: try #require(vector["unsigned_envelope_hex"] as? String)))
        #expect(envelope.payloadKind == "cipher")
        let cipher = try E2ECipher(ownKey: receiver.e2eKey, peerPublicKey: sender.e2ePublicKey)
        let plain = try cipher.decrypt([UInt8](envelope.cipher))
        #expect(String(decoding: plain, as: UTF8.self) == payload["plaintext_utf8"] as? String)
        // And we produce the same bytes with the vector's nonce.
        let ours = try E2ECipher(ownKey: sender.e2eKey, peerPublicKey: receiver.e2ePublicKey)
            .encrypt(plain, nonce: [UInt8](testHex: try #require(payload["nonce"] as? String)))
        #expect(ours.testHex == vector["payload_bytes"] as? String)
    }

    @Test func flippedBitsBreakEveryVerification() throws {
        for type in KeyType.allCases {
            let identity = try Self.identity("beta", type)
            let other = try Self.identity("alpha", type)
            let message = Array("the digest 16 b.".utf8)
            let signature = try identity.sign(message)
            #expect(SignatureVerifier.verify(signature, message: message, account: identity.account))
            #expect(!SignatureVerifier.verify(signature, message: message, account: other.account))
            for bit in 0..<(message.count * 8) {
                var m = message
                m[bit / 8] ^= 1 << UInt8(bit % 8)
                #expect(!SignatureVerifier.verify(signature, message: m, account: identity.account))
            }
            for bit in stride(from: 0, to: 64 * 8, by: 3) {
                var s = signature.signature
                s[bit / 8] ^= 1 << UInt8(bit % 8)
                let forged = try TypedSignature(keyType: type, signature: s)
                #expect(!SignatureVerifier.verify(forged, message: message, account: identity.account), "\(type) sig bit \(bit)")
            }
            for bit in stride(from: 0, to: 32 * 8, by: 5) {
                var k = identity.account.bytes
                k[bit / 8] ^= 1 << UInt8(bit % 8)
                let key = try AccountID(bytes: k)
                #expect(!SignatureVerifier.verify(signature, message: message, account: key), "\(type) key bit \(bit)")
            }
            // the type byte matters too
            let swapped = try TypedSignature(keyType: type == .ed25519 ? .sr25519 : .ed25519, signature: signature.signature)
            #expect(!SignatureVerifier.verify(swapped, message: message, account: identity.account))
        }
    }

    @Test func envelopeSignatureErrors() throws {
        var e = RMBEnvelope()
        e.uid = "x"
        let id = try Self.identity("dev", .sr25519)
        #expect(throws: SignatureError.missing) { try e.verifySignature(account: id.account) }
        e.signature = Data([0x73, 1, 2])
        #expect(throws: SignatureError.invalidLength(3)) { try e.verifySignature(account: id.account) }
        e.signature = Data([0x71] + [UInt8](repeating: 0, count: 64))
        #expect(throws: SignatureError.unknownType(0x71)) { try e.verifySignature(account: id.account) }
        try e.sign(with: id)
        try e.verifySignature(account: id.account)
        e.uid = "y"
        #expect(throws: SignatureError.verificationFailed) { try e.verifySignature(account: id.account) }
    }
}

/// `SignatureVerifier.verify(_:)`: many checks at once give each one's own outcome, whatever
/// the mix of schemes and however many of them are forged.
struct SignatureBatchTests {
    @Test(arguments: [1, 3, 4, 20])
    func eachCheckGetsItsOwnOutcome(count: Int) throws {
        let sr = try SigningVectorTests.identity("dev", .sr25519)
        let ed = try SigningVectorTests.identity("dev", .ed25519)
        var checks: [SignatureVerifier.Check] = []
        var expected: [Bool] = []
        for index in 0..<count {
            let signer = index % 5 == 4 ? ed : sr
            let message = Array("message \(index)".utf8)
            let forged = index % 7 == 2
            // A forged check carries a signature over another message.
            let signature = try signer.sign(forged ? Array("other \(index)".utf8) : message)
            checks.append(SignatureVerifier.Check(signature: signature, message: message, account: signer.account))
            expected.append(!forged)
        }
        #expect(SignatureVerifier.verify(checks) == expected)
        // The same checks with none forged all pass.
        let honest = try checks.map { check in
            let signer = check.signature.keyType == .ed25519 ? ed : sr
            return SignatureVerifier.Check(signature: try signer.sign(check.message), message: check.message, account: check.account)
        }
        #expect(SignatureVerifier.verify(honest) == [Bool](repeating: true, count: count))
    }
}
