import Testing
import RMBCrypto
import RMBTestSupport

@Suite struct Sr25519Tests {
    let internals: [JSONObject]

    init() throws {
        internals = try Fixtures.json("vectors/sr25519-internals.json").objects("identities")
    }

    @Test func keyExpansionMatchesVectors() throws {
        #expect(internals.count == 3)
        for identity in internals {
            let mini = try identity.hex("mini_secret")
            #expect(Sodium.sha512(mini) == (try identity.hex("sha512_mini")))
            let pair = try Sr25519KeyPair(miniSecret: mini)
            #expect(pair.secretScalar == (try identity.hex("secret_scalar")))
            #expect(pair.nonce == (try identity.hex("nonce")))
            #expect(pair.publicKey == (try identity.hex("public_key")))
            #expect(pair.secretKey == (try identity.hex("secret_key_64")))
            // The clamped key is the scalar times the cofactor.
            let clamped = try identity.hex("clamped_key")
            #expect(clamped[0] & 7 == 0 && clamped[31] & 0xc0 == 0x40)
            var eight = [UInt8](repeating: 0, count: 32)
            eight[0] = 8
            #expect(try Sodium.scalarMultiply(pair.secretScalar, eight) == Sodium.scalarReduce(clamped + [UInt8](repeating: 0, count: 32)))
        }
    }

    @Test func identityPublicKeysMatch() throws {
        for (_, identity) in try identitiesByName() {
            let pair = try Sr25519KeyPair(miniSecret: identity.hex("mini_secret"))
            #expect(pair.publicKey == (try identity.object("sr25519").hex("public_key")))
        }
    }

    @Test func rejectsBadMiniSecretLength() {
        #expect(throws: CryptoError.invalidLength(what: "sr25519 mini secret", expected: 32, got: 31)) {
            try Sr25519KeyPair(miniSecret: [UInt8](repeating: 1, count: 31))
        }
    }

    @Test func fixedWitnessSignaturesMatchByteForByte() throws {
        var checked = 0
        for identity in internals {
            let pair = try Sr25519KeyPair(miniSecret: identity.hex("mini_secret"))
            for signCase in try identity.objects("sign_cases") {
                let message = try signCase.hex("message")
                let r = try signCase.hex("r")
                let commitment = try Sodium.ristrettoBaseMultiply(r)
                #expect(commitment == (try signCase.hex("R")))

                var transcript = Sr25519.signingTranscript(context: Sr25519.substrateContext, message: message, publicKey: pair.publicKey)
                transcript.appendMessage(label: "sign:R", commitment)
                let wide = transcript.challengeBytes(label: "sign:c", count: 64)
                #expect(wide == (try signCase.hex("challenge_bytes_64")))
                let k = try Sodium.scalarReduce(wide)
                #expect(k == (try signCase.hex("k")))
                let s = try Sodium.scalarAdd(Sodium.scalarMultiply(k, pair.secretScalar), r)
                #expect(s == (try signCase.hex("s")))

                let signature = try pair.sign(message, witness: r)
                #expect(signature == (try signCase.hex("signature")))
                #expect(Array(signature[0..<32]) == commitment)
                #expect(Sr25519.verify(signature: signature, message: message, publicKey: pair.publicKey))
                checked += 1
            }
        }
        #expect(checked == 6)
    }

    @Test func envelopeSignaturesVerify() throws {
        let cases = try Fixtures.json("vectors/envelopes.json").objects("cases")
        #expect(!cases.isEmpty)
        for envelope in cases {
            let sr = try envelope.object("sr25519")
            let wire = try sr.hex("signature")
            #expect(wire.count == 65 && wire.first == 0x73)
            let digest = try envelope.hex("md5_digest")
            let account = try sr.hex("signer_account")
            #expect(Sr25519.verify(signature: Array(wire.dropFirst()), message: digest, publicKey: account))
            // Bound to the message and the context.
            #expect(!Sr25519.verify(signature: Array(wire.dropFirst()), message: digest + [0], publicKey: account))
            #expect(!Sr25519.verify(signature: Array(wire.dropFirst()), message: digest, publicKey: account, context: Array("substrat".utf8)))
        }
    }

    @Test func jwtSignatureVerifies() throws {
        let tokens = try Fixtures.json("vectors/jwt.json").objects("tokens").filter { ($0["key_type"] as? String) == "sr25519" }
        #expect(!tokens.isEmpty)
        for token in tokens {
            let wire = try token.hex("signature_hex")
            #expect(wire.count == 65 && wire.first == 0x73)
            let input = Array(try token.string("signing_input").utf8)
            #expect(Sr25519.verify(signature: Array(wire.dropFirst()), message: input, publicKey: try token.hex("account")))
        }
    }

    @Test func randomizedSignaturesVerifyAndDiffer() throws {
        let pair = try Sr25519KeyPair(miniSecret: Sodium.randomBytes(32))
        for length in [0, 1, 16, 165, 166, 167, 1000] {
            let message = Sodium.randomBytes(length)
            let a = try pair.sign(message)
            let b = try pair.sign(message)
            #expect(a.count == 64 && a[63] & 0x80 != 0)
            #expect(a != b)
            #expect(Sr25519.verify(signature: a, message: message, publicKey: pair.publicKey))
            #expect(Sr25519.verify(signature: b, message: message, publicKey: pair.publicKey))
            let custom = try pair.sign(message, context: Array("other".utf8))
            #expect(Sr25519.verify(signature: custom, message: message, publicKey: pair.publicKey, context: Array("other".utf8)))
            #expect(!Sr25519.verify(signature: custom, message: message, publicKey: pair.publicKey))
        }
    }

    @Test func everySingleBitFlipIsRejected() throws {
        let pair = try Sr25519KeyPair(miniSecret: Sodium.randomBytes(32))
        let message = Sodium.randomBytes(16)
        let signature = try pair.sign(message)
        #expect(Sr25519.verify(signature: signature, message: message, publicKey: pair.publicKey))
        for bit in 0..<(message.count * 8) {
            var flipped = message
            flipped[bit / 8] ^= 1 << (bit % 8)
            #expect(!Sr25519.verify(signature: signature, message: flipped, publicKey: pair.publicKey), "message bit \(bit)")
        }
        for bit in 0..<256 {
            var flipped = pair.publicKey
            flipped[bit / 8] ^= 1 << (bit % 8)
            #expect(!Sr25519.verify(signature: signature, message: message, publicKey: flipped), "public key bit \(bit)")
        }
        for bit in 0..<512 {
            var flipped = signature
            flipped[bit / 8] ^= 1 << (bit % 8)
            #expect(!Sr25519.verify(signature: flipped, message: message, publicKey: pair.publicKey), "signature bit \(bit)")
        }
    }

    @Test func markerBitIsRequired() throws {
        let pair = try Sr25519KeyPair(miniSecret: Sodium.randomBytes(32))
        let message = Array("marker".utf8)
        var signature = try pair.sign(message)
        signature[63] &= 0x7f
        #expect(!Sr25519.verify(signature: signature, message: message, publicKey: pair.publicKey))
    }

    @Test func nonCanonicalScalarIsRejected() throws {
        let pair = try Sr25519KeyPair(miniSecret: Sodium.randomBytes(32))
        let message = Array("canonical".utf8)
        let signature = try pair.sign(message)
        // s + l is congruent to s, so only the canonicity check can reject it.
        let order: [UInt8] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        ]
        var s = Array(signature[32..<64])
        s[31] &= 0x7f
        var carry = 0
        for i in 0..<32 {
            let sum = Int(s[i]) + Int(order[i]) + carry
            s[i] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        #expect(carry == 0 && s[31] & 0x80 == 0)
        var forged = Array(signature[0..<32]) + s
        forged[63] |= 0x80
        #expect(forged != signature)
        #expect(!Sr25519.verify(signature: forged, message: message, publicKey: pair.publicKey))
    }

    @Test func wrongLengthsAreRejected() throws {
        let pair = try Sr25519KeyPair(miniSecret: Sodium.randomBytes(32))
        let signature = try pair.sign([1])
        #expect(!Sr25519.verify(signature: Array(signature.dropLast()), message: [1], publicKey: pair.publicKey))
        #expect(!Sr25519.verify(signature: signature + [0], message: [1], publicKey: pair.publicKey))
        #expect(!Sr25519.verify(signature: signature, message: [1], publicKey: Array(pair.publicKey.dropLast())))
        #expect(!Sr25519.verify(signature: [], message: [1], publicKey: []))
        // The identity point is not accepted as a public key.
        #expect(!Sr25519.verify(signature: signature, message: [1], publicKey: [UInt8](repeating: 0, count: 32)))
    }

    @Test func garbageNeverCrashes() {
        var accepted = 0
        for round in 0..<3000 {
            var signature = Sodium.randomBytes(64)
            if round % 2 == 0 { signature[63] |= 0x80; signature[63] &= 0x8f }  // past the marker and canonicity checks
            let key = Sodium.randomBytes(32)
            if Sr25519.verify(signature: signature, message: [UInt8(truncatingIfNeeded: round)], publicKey: key) { accepted += 1 }
            let odd = Sodium.randomBytes(Int(Sodium.randomBytes(1)[0]) % 100)
            if Sr25519.verify(signature: odd, message: odd, publicKey: odd) { accepted += 1 }
        }
        #expect(accepted == 0)
    }
}
